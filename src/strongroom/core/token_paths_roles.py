"""auth/token/roles and auth/token/roles/<role_name>: token roles, written and read as OpenBao does.

Layer: core (the token backend). Imports framework, logical, tokens, util.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from strongroom.core.token_paths_common import TokenServices
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.tokens import TokenRole
from strongroom.tokens.roles import TOKEN_TYPES
from strongroom.util.policies import remove_duplicates, sanitize_policies

_PATH_SUFFIX = re.compile(r"\w[\w\-.]+\w")
# How OpenBao spells the rule in its error message (Go accepts the unescaped hyphen).
_PATH_SUFFIX_TEXT = r"\w[\w-.]+\w"

ROLE_FIELDS: dict[str, Field] = {
    "role_name": Field(FieldType.STRING, "Name of the role"),
    "allowed_policies": Field(FieldType.COMMA_STRING_LIST, "Policies tokens of this role may have"),
    "disallowed_policies": Field(FieldType.COMMA_STRING_LIST, "Policies tokens of this role may not have"),
    "allowed_policies_glob": Field(FieldType.COMMA_STRING_LIST, "Glob patterns of allowed policies"),
    "disallowed_policies_glob": Field(FieldType.COMMA_STRING_LIST, "Glob patterns of disallowed policies"),
    "orphan": Field(FieldType.BOOL, "If true, tokens created against this role will be orphan tokens"),
    "period": Field(FieldType.DURATION, "Use 'token_period' instead."),
    "path_suffix": Field(FieldType.STRING, "A suffix for the token's path; must match " + _PATH_SUFFIX_TEXT),
    "explicit_max_ttl": Field(FieldType.DURATION, "Use 'token_explicit_max_ttl' instead."),
    "renewable": Field(FieldType.BOOL, "Tokens created against this role will be renewable", default=True),
    "bound_cidrs": Field(FieldType.COMMA_STRING_LIST, "Use 'token_bound_cidrs' instead."),
    "allowed_entity_aliases": Field(
        FieldType.COMMA_STRING_LIST, "Entity aliases allowed during token creation"
    ),
    "token_bound_cidrs": Field(FieldType.COMMA_STRING_LIST, "CIDRs tokens of this role are bound to"),
    "token_explicit_max_ttl": Field(FieldType.DURATION, "A hard cap on the lifetime of tokens of this role"),
    "token_period": Field(FieldType.DURATION, "The renewal period of tokens of this role"),
    "token_type": Field(FieldType.STRING, "The type of token to generate", default="default-service"),
    "token_no_default_policy": Field(FieldType.BOOL, "Do not add the default policy to tokens of this role"),
    "token_num_uses": Field(FieldType.INT, "The maximum number of uses of tokens of this role"),
}


def role_paths(services: TokenServices) -> list[Path]:
    """The role list and the role CRUD endpoints."""
    roles = services.roles

    async def list_roles(request: Request, data: FieldData) -> Response:
        return Response(data={"keys": await roles.list()})

    async def exists(request: Request, data: FieldData) -> bool:
        return await roles.get(data.get("role_name")) is not None

    async def read(request: Request, data: FieldData) -> Response | None:
        role = await roles.get(data.get("role_name"))
        return None if role is None else Response(data=_role_data(role))

    async def delete(request: Request, data: FieldData) -> None:
        await roles.delete(data.get("role_name"))

    async def write(request: Request, data: FieldData) -> Response | None:
        name: str = data.get("role_name")
        if not name:
            raise InvalidRequestError("role name cannot be empty")
        existing = await roles.get(name)
        role, warnings = _apply(
            existing or TokenRole(name=name), data, creating=existing is None, services=services
        )
        await roles.put(role)
        return Response(warnings=warnings) if warnings else None

    return [
        Path(
            "roles/?",
            operations={Operation.LIST: list_roles},
            synopsis="This endpoint lists configured roles.",
        ),
        Path(
            "roles/{role_name}",
            fields=ROLE_FIELDS,
            operations={
                Operation.READ: read,
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Create, read, update and delete token roles.",
        ),
    ]


def _apply(
    role: TokenRole, data: FieldData, *, creating: bool, services: TokenServices
) -> tuple[TokenRole, tuple[str, ...]]:
    def pick(name: str, current: Any) -> Any:
        value, supplied = data.get_ok(name)
        return value if supplied or creating else current

    path_suffix: str = pick("path_suffix", role.path_suffix)
    if path_suffix and not _PATH_SUFFIX.search(path_suffix):
        raise InvalidRequestError(
            f"given role path suffix contains invalid characters; must match {_PATH_SUFFIX_TEXT}"
        )
    if ".." in path_suffix:
        raise InvalidRequestError("error registering path suffix: path cannot contain parent references")
    role = replace(
        role,
        orphan=pick("orphan", role.orphan),
        renewable=pick("renewable", role.renewable),
        path_suffix=path_suffix,
        allowed_policies=sanitize_policies(
            pick("allowed_policies", role.allowed_policies), add_default=False
        ),
        disallowed_policies=remove_duplicates(
            pick("disallowed_policies", role.disallowed_policies), lowercase=True
        ),
        allowed_policies_glob=sanitize_policies(
            pick("allowed_policies_glob", role.allowed_policies_glob), add_default=False
        ),
        disallowed_policies_glob=remove_duplicates(
            pick("disallowed_policies_glob", role.disallowed_policies_glob), lowercase=True
        ),
    )
    if "token_type" in data.raw:
        token_type = data.raw["token_type"]
        if token_type is None:
            raise InvalidRequestError("Invalid 'token_type' value: null")
        if token_type not in TOKEN_TYPES:
            raise InvalidRequestError(f"invalid 'token_type' value \"{token_type}\"")
        role = replace(role, token_type=token_type)
    for name in ("token_no_default_policy", "token_num_uses"):
        value, supplied = data.get_ok(name)
        if supplied:
            role = replace(role, **{name: value})
    if role.token_num_uses < 0:
        raise InvalidRequestError("error parsing role fields: 'token_num_uses' cannot be negative")
    if data.get("token_bound_cidrs") or data.get("bound_cidrs"):
        # Accepting CIDR bindings without enforcing them would promise a restriction that does not exist.
        raise InvalidRequestError("token_bound_cidrs is not supported by this server")

    warnings: list[str] = []
    role, warning = _legacy(role, data, "period")
    warnings.extend(warning)
    role, warning = _legacy(role, data, "explicit_max_ttl")
    warnings.extend(warning)
    system_max = services.system.max_lease_ttl()
    if role.token_explicit_max_ttl and system_max and role.token_explicit_max_ttl > system_max:
        warnings.append(
            f"Given explicit max TTL of {role.token_explicit_max_ttl} is greater than system/mount allowed "
            f"value of {system_max} seconds; until this is fixed attempting to create tokens against this "
            "role will result in an error"
        )
    if role.token_type == "batch":
        _check_batch_role(role)
    aliases, supplied = data.get_ok("allowed_entity_aliases")
    if supplied:
        role = replace(role, allowed_entity_aliases=remove_duplicates(aliases, lowercase=True))
    return role, tuple(warnings)


def _legacy(role: TokenRole, data: FieldData, name: str) -> tuple[TokenRole, tuple[str, ...]]:
    """Vault's handling of a deprecated field (period, explicit_max_ttl) beside its token_ successor."""
    new_value, new_supplied = data.get_ok("token_" + name)
    old_value, old_supplied = data.get_ok(name)
    if new_supplied:
        warning: tuple[str, ...] = ()
        if old_supplied:
            warning = (
                f"Both 'token_{name}' and deprecated '{name}' value supplied, ignoring the deprecated value",
            )
        return replace(role, **{"token_" + name: new_value, name: 0}), warning
    if old_supplied:
        return replace(role, **{"token_" + name: old_value, name: old_value}), ()
    return role, ()


def _check_batch_role(role: TokenRole) -> None:
    if not role.orphan:
        raise InvalidRequestError(
            "'token_type' cannot be 'batch' when role is set to generate non-orphan tokens"
        )
    if role.period or role.token_period:
        raise InvalidRequestError(
            "'token_type' cannot be 'batch' when role is set to generate periodic tokens"
        )
    if role.renewable:
        raise InvalidRequestError(
            "'token_type' cannot be 'batch' when role is set to generate renewable tokens"
        )
    if role.explicit_max_ttl or role.token_explicit_max_ttl:
        raise InvalidRequestError(
            "'token_type' cannot be 'batch' when role is set to generate tokens with an explicit max TTL"
        )


def _role_data(role: TokenRole) -> dict[str, Any]:
    data: dict[str, Any] = {
        "allowed_entity_aliases": None
        if role.allowed_entity_aliases is None
        else list(role.allowed_entity_aliases),
        "allowed_policies": list(role.allowed_policies),
        "allowed_policies_glob": list(role.allowed_policies_glob),
        "disallowed_policies": list(role.disallowed_policies),
        "disallowed_policies_glob": list(role.disallowed_policies_glob),
        "explicit_max_ttl": role.explicit_max_ttl,
        "name": role.name,
        "orphan": role.orphan,
        "path_suffix": role.path_suffix,
        "period": role.period,
        "renewable": role.renewable,
        "token_explicit_max_ttl": role.token_explicit_max_ttl,
        "token_no_default_policy": role.token_no_default_policy,
        "token_period": role.token_period,
        "token_type": role.token_type,
    }
    if role.token_num_uses > 0:
        data["token_num_uses"] = role.token_num_uses
    return data
