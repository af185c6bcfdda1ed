"""auth/token/create, create-orphan and create/<role_name>: Vault's rules for minting a child token.

Layer: core (the token backend). Imports framework, logical, tokens, util.

Invariant: a caller without sudo gets only a subset of its own policies (unless a role says otherwise);
only a root parent yields a root child; a batch or limited-use parent yields nothing.
"""

from __future__ import annotations

import re

from strongroom.core.token_paths_common import TokenServices, auth_response, duration_field
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.tokens import TokenEntry, TokenParams, TokenRole, TokenType, calculate_ttl
from strongroom.tokens.roles import matches_glob
from strongroom.util.policies import NON_ASSIGNABLE, remove_duplicates, sanitize_policies

_DISPLAY_NAME_SANITIZE = re.compile(r"[^a-zA-Z0-9-]")

_CUSTOM_ID_WARNING = (
    "Supplying a custom ID for the token uses the weaker SHA1 hashing instead of the more secure SHA2-256 "
    "HMAC for token obfuscation. SHA1 hashed tokens on the wire leads to less secure lookups."
)

CREATE_FIELDS: dict[str, Field] = {
    "display_name": Field(FieldType.STRING, "Name to associate with this token"),
    "explicit_max_ttl": Field(FieldType.STRING, "Explicit Max TTL of this token"),
    "entity_alias": Field(FieldType.STRING, "Name of the entity alias to associate with this token"),
    "num_uses": Field(FieldType.INT, "Max number of uses for this token"),
    "period": Field(FieldType.STRING, "Renew period"),
    "renewable": Field(
        FieldType.BOOL,
        "Allow token to be renewed past its initial TTL up to system/mount maximum TTL",
        default=True,
    ),
    "ttl": Field(FieldType.STRING, "Time to live for this token"),
    "lease": Field(FieldType.STRING, "Use 'ttl' instead"),
    "type": Field(FieldType.STRING, "Token type"),
    "no_default_policy": Field(FieldType.BOOL, "Do not include default policy for this token"),
    "id": Field(FieldType.STRING, "Value for the token"),
    "meta": Field(FieldType.KV_PAIRS, "Arbitrary key=value metadata to associate with the token"),
    "no_parent": Field(FieldType.BOOL, "Create the token with no parent"),
    "policies": Field(FieldType.STRING_LIST, "List of policies for the token"),
}


def create_paths(services: TokenServices) -> list[Path]:
    """The three token-creation endpoints."""

    async def create(request: Request, data: FieldData) -> Response:
        return await _create(services, request, data, orphan=False, role=None)

    async def create_orphan(request: Request, data: FieldData) -> Response:
        return await _create(services, request, data, orphan=True, role=None)

    async def create_against_role(request: Request, data: FieldData) -> Response:
        name = data.get("role_name")
        role = await services.roles.get(name)
        if role is None:
            raise InvalidRequestError(f"unknown role {name}")
        return await _create(services, request, data, orphan=False, role=role)

    return [
        Path(
            "create-orphan",
            fields=CREATE_FIELDS,
            operations={Operation.UPDATE: create_orphan},
            synopsis="The token create path is used to create new orphan tokens.",
        ),
        Path(
            "create/{role_name}",
            fields={"role_name": Field(FieldType.STRING, "Name of the role"), **CREATE_FIELDS},
            operations={Operation.UPDATE: create_against_role},
            synopsis="This token create path is used to create new tokens adhering to the given role.",
        ),
        Path(
            "create",
            fields=CREATE_FIELDS,
            operations={Operation.UPDATE: create},
            synopsis="The token create path is used to create new tokens.",
        ),
    ]


async def _create(
    services: TokenServices, request: Request, data: FieldData, *, orphan: bool, role: TokenRole | None
) -> Response:
    store = services.store
    parent = await store.lookup(request.client_token)
    if parent is None:
        raise InvalidRequestError("parent token lookup failed: no parent found")
    if parent.type is TokenType.BATCH:
        raise InvalidRequestError("batch tokens cannot create more tokens")
    if parent.num_uses > 0:
        raise InvalidRequestError("restricted use token cannot generate child tokens")
    is_sudo = await services.sudo_check(request)

    token_type = _token_type(data.get("type"), role)
    renewable: bool = data.get("renewable")
    explicit_max_raw: str = data.get("explicit_max_ttl")
    num_uses: int = data.get("num_uses")
    period_raw: str = data.get("period")
    if token_type is TokenType.BATCH:
        _check_batch(explicit_max_raw, num_uses, period_raw)
        renewable = False
    if num_uses < 0:
        raise InvalidRequestError("number of uses cannot be negative")
    explicit_entity = await _entity_of_alias(services, request, data.get("entity_alias"), role)

    meta, meta_given = data.get_ok("meta")
    path = f"auth/token/{request.path}"
    if role is not None:
        renewable = renewable and role.renewable
        if role.token_num_uses and (num_uses == 0 or role.token_num_uses < num_uses):
            num_uses = role.token_num_uses
        if role.path_suffix:
            path = f"{path}/{role.path_suffix}"

    display_name = "token"
    if data.get("display_name"):
        display_name = _DISPLAY_NAME_SANITIZE.sub("-", "token-" + data.get("display_name")).removesuffix("-")

    custom_id: str = data.get("id")
    if custom_id and not is_sudo:
        raise InvalidRequestError("root or sudo privileges required to specify token id")

    policies = _policies(data, parent, role, is_sudo=is_sudo)
    if "root" in policies:
        if not parent.is_root:
            raise InvalidRequestError("root tokens may not be created without parent token being root")
        if token_type is TokenType.BATCH:
            raise InvalidRequestError("batch tokens cannot be root tokens")

    parent_hash = parent.id_hash
    if role is not None:
        if role.orphan:
            parent_hash = ""
    elif data.get("no_parent"):
        if not is_sudo:
            raise InvalidRequestError("root or sudo privileges required to create orphan token")
        parent_hash = ""
    elif orphan:
        parent_hash = ""

    explicit_max = duration_field(explicit_max_raw) if explicit_max_raw else 0
    period = duration_field(period_raw) if period_raw else 0
    if period > 0 and not is_sudo:
        raise InvalidRequestError("root or sudo privileges required to create periodic token")
    ttl_raw = data.get("ttl") or data.get("lease")
    ttl = duration_field(ttl_raw) if ttl_raw else 0

    warnings: list[str] = []
    effective_max, effective_period = explicit_max, period
    if role is not None and token_type is not TokenType.BATCH:
        if role.token_explicit_max_ttl:
            if effective_max:
                effective_max = min(effective_max, role.token_explicit_max_ttl)
                warnings.append(
                    "Explicit max TTL specified both during creation call and in role; "
                    f"using the lesser value of {effective_max} seconds"
                )
            else:
                effective_max = role.token_explicit_max_ttl
        if role.token_period:
            if effective_period:
                effective_period = min(effective_period, role.token_period)
                warnings.append(
                    "Period specified both during creation call and in role; "
                    f"using the lesser value of {effective_period} seconds"
                )
            else:
                effective_period = role.token_period

    if effective_period > 0 or ttl > 0 or "root" not in policies:
        result = calculate_ttl(
            now=services.clock.now(),
            start_time=services.clock.now(),
            increment=0,
            backend_ttl=ttl,
            period=effective_period,
            explicit_max_ttl=effective_max,
            default_ttl=services.system.default_lease_ttl(),
            max_ttl=services.system.max_lease_ttl(),
        )
        warnings.extend(result.warnings)
        ttl = result.ttl
    if ttl == 0 and effective_max > 0:
        ttl = effective_max
    if ttl == 0:
        if parent.creation_ttl != 0:
            raise InvalidRequestError("expiring root tokens cannot create non-expiring root tokens")
        renewable = False
    if custom_id:
        warnings.append(_CUSTOM_ID_WARNING)

    params = TokenParams(
        policies=policies,
        parent_hash=parent_hash,
        meta=dict(meta) if meta_given else None,
        display_name=display_name,
        num_uses=num_uses,
        ttl=ttl,
        explicit_max_ttl=explicit_max,
        period=period,
        renewable=renewable,
        type=token_type,
        path=path,
        role=role.name if role is not None else "",
        entity_id=explicit_entity or (parent.entity_id if parent_hash else ""),
    )
    token_id, entry = await store.create(params, custom_id or None)
    if services.policy_exists is not None:
        for policy in entry.policies:
            if not await services.policy_exists(policy):
                warnings.append(f'Policy "{policy}" does not exist')
    return auth_response(entry, token_id, tuple(warnings))


def _token_type(requested: str, role: TokenRole | None) -> TokenType:
    if role is not None:
        if role.token_type == "default-batch" and not requested:
            requested = "batch"
        elif role.token_type in ("service", "batch"):
            requested = role.token_type
    if requested in ("", "service"):
        return TokenType.SERVICE
    if requested == "batch":
        return TokenType.BATCH
    raise InvalidRequestError("invalid 'token_type' value")


def _check_batch(explicit_max_raw: str, num_uses: int, period_raw: str) -> None:
    if explicit_max_raw:
        if duration_field(explicit_max_raw):
            raise InvalidRequestError('batch tokens cannot have "explicit_max_ttl" set')
    elif num_uses:
        raise InvalidRequestError('batch tokens cannot have "num_uses" set')
    elif period_raw and duration_field(period_raw):
        raise InvalidRequestError('batch tokens cannot have "period" set')


async def _entity_of_alias(
    services: TokenServices, request: Request, alias: str, role: TokenRole | None
) -> str:
    """The entity a token role's `entity_alias` names (created if new), or "" without one (Vault's
    resolveEntityAlias: the alias keeps its case, checked against the role in lower case)."""
    if not alias:
        return ""
    if role is None:
        raise InvalidRequestError("'entity_alias' is only allowed in combination with token role")
    allowed = role.allowed_entity_aliases or ()
    if alias.lower() not in allowed and not matches_glob(allowed, alias.lower()):
        raise InvalidRequestError("invalid 'entity_alias' value")
    if services.entity_of_alias is None:
        raise InvalidRequestError("entity aliases are not supported by this server")
    entity_id, disabled = await services.entity_of_alias(request.mount_accessor, alias)
    if disabled:
        raise PermissionDeniedError("entity from given entity alias is disabled")
    return entity_id


def _policies(
    data: FieldData, parent: TokenEntry, role: TokenRole | None, *, is_sudo: bool
) -> tuple[str, ...]:
    requested: list[str] = data.get("policies")
    no_default: bool = data.get("no_default_policy")
    add_default = False
    if role is not None and role.restricts_policies:
        policies = _role_policies(requested, parent, role, no_default=no_default)
    elif not requested:
        policies = sanitize_policies(parent.policies, add_default=False)
    elif not is_sudo:
        wanted = sanitize_policies(requested, add_default=False)
        if not set(wanted) <= set(sanitize_policies(parent.policies, add_default=False)):
            raise InvalidRequestError("child policies must be subset of parent")
        policies = wanted
        add_default = not no_default and "default" in parent.policies
    else:
        policies = tuple(requested)
        add_default = not no_default
    final = sanitize_policies(policies, add_default=add_default)
    if no_default:
        final = tuple(p for p in final if p != "default")
    for policy in NON_ASSIGNABLE:
        if policy in final:
            raise InvalidRequestError(f'cannot assign policy "{policy}"')
    return final


def _role_policies(
    requested: list[str], parent: TokenEntry, role: TokenRole, *, no_default: bool
) -> tuple[str, ...]:
    local_default = (
        not no_default
        and not role.token_no_default_policy
        and "default" not in role.disallowed_policies
        and not matches_glob(role.disallowed_policies_glob, "default")
    )
    final = sanitize_policies(requested, add_default=local_default) if requested else ()
    if role.allowed_policies or role.allowed_policies_glob:
        allowed = sanitize_policies(role.allowed_policies, add_default=local_default)
        if not final:
            final = allowed
        else:
            allowed_glob = sanitize_policies(role.allowed_policies_glob, add_default=False)
            for policy in final:
                if policy not in allowed and not matches_glob(allowed_glob, policy):
                    raise InvalidRequestError(
                        f"token policies ({_go_list(final)}) must be subset of the role's allowed policies "
                        f"({_go_list(allowed)}) or glob policies ({_go_list(allowed_glob)})"
                    )
    elif not final:
        final = sanitize_policies(parent.policies, add_default=local_default)
    if role.disallowed_policies or role.disallowed_policies_glob:
        denied = remove_duplicates(role.disallowed_policies, lowercase=True)
        denied_glob = remove_duplicates(role.disallowed_policies_glob, lowercase=True)
        for policy in final:
            if policy in denied or matches_glob(denied_glob, policy):
                raise InvalidRequestError(f'token policy "{policy}" is disallowed by this role')
    return final


def _go_list(items: tuple[str, ...]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(f'"{item}"' for item in items) + "]"
