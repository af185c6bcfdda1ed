"""`role/<name>` and LIST `role/`: which service accounts may log in against a role, and what token they get.

Layer: builtin. Imports framework (Path, fields, tokenutil), logical and this package's models and accounts.
Vault's rules and texts on write: names are required and "*" stands alone; namespaces are required unless a
namespace selector is set (and the selector, replaced on every write, must be a matchLabels selector);
alias_name_source is serviceaccount_uid or serviceaccount_name; a period over the mount's maximum is refused.
"""

from __future__ import annotations

from dataclasses import replace

from strongroom.builtin.auth.kubernetes.accounts import SelectorError, parse_selector
from strongroom.builtin.auth.kubernetes.models import (
    ALIAS_SOURCES,
    LEGACY_DURATIONS,
    ROLE_PREFIX,
    KubernetesRole,
    load_role,
    save_role,
)
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.roles import RoleRecords
from strongroom.framework.tokenutil import TOKEN_FIELDS, upgrade_policies
from strongroom.logical import Request, Response, SystemView
from strongroom.util.durations import format_duration

SYNOPSIS = "Register an role with the backend."
DESCRIPTION = """A role is required to authenticate with this backend. The role binds
kubernetes service account metadata with token policies and settings.
The bindings, token polices and token settings can all be configured
using this endpoint"""

FIELDS: dict[str, Field] = {
    "name": Field(FieldType.LOWERCASE_STRING, "Name of the role."),
    "bound_service_account_names": Field(
        FieldType.COMMA_STRING_LIST,
        'List of service account names able to access this role. If set to "*" all names are allowed.',
    ),
    "bound_service_account_namespaces": Field(
        FieldType.COMMA_STRING_LIST,
        'List of namespaces allowed to access this role. If set to "*" all namespaces are allowed.',
    ),
    "bound_service_account_namespace_selector": Field(
        FieldType.STRING,
        "A label selector for Kubernetes namespaces which are allowed to access this role. Accepts either "
        "a JSON or YAML object. If set with bound_service_account_namespaces, the conditions are ORed.",
    ),
    "audience": Field(FieldType.STRING, "Optional Audience claim to verify in the jwt."),
    "alias_name_source": Field(
        FieldType.STRING,
        'Source to use when deriving the Alias name: "serviceaccount_uid" (<token.uid>) or '
        '"serviceaccount_name" (<namespace>/<serviceaccount>).',
        default="serviceaccount_uid",
    ),
    **TOKEN_FIELDS,
    "policies": Field(FieldType.COMMA_STRING_LIST, 'Use "token_policies" instead.'),
    "num_uses": Field(FieldType.INT, 'Use "token_num_uses" instead.'),
    "ttl": Field(FieldType.DURATION, 'Use "token_ttl" instead.'),
    "max_ttl": Field(FieldType.DURATION, 'Use "token_max_ttl" instead.'),
    "period": Field(FieldType.DURATION, 'Use "token_period" instead.'),
}


_ROLES = RoleRecords(ROLE_PREFIX, load_role)


def _upgrade_legacy(role: KubernetesRole, fields: FieldData) -> KubernetesRole:
    """Vault's tokenutil.UpgradeValue for ttl, max_ttl, period and num_uses: an old name alone sets the
    token_* value too; beside its token_* name it echoes that; the token_* name alone forgets it."""
    legacy = dict(role.legacy)
    token = role.token
    for name in (*LEGACY_DURATIONS, "num_uses"):
        old, old_given = fields.get_ok(name)
        current = getattr(token, name)
        if fields.get_ok("token_" + name)[1]:
            legacy[name] = current if old_given else 0
        elif old_given:
            token = replace(token, **{name: old})
            legacy[name] = old
    token.validate()
    return replace(role, token=token, legacy={k: v for k, v in legacy.items() if v})


def _bindings(role: KubernetesRole, fields: FieldData, creating: bool) -> KubernetesRole:
    """The role with the request's binding fields applied and checked, in Vault's order."""
    names, names_given = fields.get_ok("bound_service_account_names")
    if names_given or creating:
        role = replace(role, bound_service_account_names=tuple(names or ()))
    if not role.bound_service_account_names:
        raise InvalidRequestError('"bound_service_account_names" can not be empty')
    if len(role.bound_service_account_names) > 1 and "*" in role.bound_service_account_names:
        raise InvalidRequestError('can not mix "*" with values')
    namespaces, namespaces_given = fields.get_ok("bound_service_account_namespaces")
    if namespaces_given:
        role = replace(role, bound_service_account_namespaces=tuple(namespaces))
    # As Vault: the selector is replaced on every write, so an update that leaves it out clears it.
    selector: str = fields.get("bound_service_account_namespace_selector") or ""
    role = replace(role, bound_service_account_namespace_selector=selector)
    bound = role.bound_service_account_namespaces or ()
    if not bound and not selector:
        raise InvalidRequestError(
            '"bound_service_account_namespaces" can not be empty if '
            '"bound_service_account_namespace_selector" is not set'
        )
    if selector:
        try:
            parse_selector(selector)
        except SelectorError:
            raise InvalidRequestError(
                'invalid "bound_service_account_namespace_selector" configured'
            ) from None
    if len(bound) > 1 and "*" in bound:
        raise InvalidRequestError('can not mix "*" with values')
    audience, audience_given = fields.get_ok("audience")
    if audience_given:
        role = replace(role, audience=audience)
    source, source_given = fields.get_ok("alias_name_source")
    if source_given:
        role = replace(role, alias_name_source=source)
    if role.alias_name_source not in ALIAS_SOURCES:
        raise InvalidRequestError(f"invalid alias_name_source, must be one of: {', '.join(ALIAS_SOURCES)}")
    return role


def paths(system: SystemView) -> list[Path]:
    """The `role/<name>` and `role/` declarations."""

    async def write_role(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        name = _ROLES.name(fields)
        existing = await load_role(request.storage, name)
        base = existing if existing is not None else KubernetesRole()
        token, policies = upgrade_policies(base.token.updated(fields), base.policies, fields)
        role = _upgrade_legacy(replace(base, token=token, policies=policies), fields)
        max_lease = system.max_lease_ttl()
        if role.token.period > max_lease:
            raise InvalidRequestError(
                f"token period of '\"{format_duration(role.token.period)}\"' is greater than the backend's "
                f"maximum lease TTL of '\"{format_duration(max_lease)}\"'"
            )
        warnings: list[str] = []
        if role.token.max_ttl > max_lease:
            warnings.append(
                "max_ttl is greater than the system or backend mount's maximum TTL value; issued tokens' "
                "max TTL value will be truncated"
            )
        role = _bindings(role, fields, creating=existing is None)
        await save_role(request.storage, name, role)
        return Response(warnings=tuple(warnings)) if warnings else None

    return _ROLES.paths(fields=FIELDS, write=write_role, synopsis=SYNOPSIS, description=DESCRIPTION)
