"""role/ (LIST), role/<name> (create, update, read, delete) and role/<name>/role-id. Layer: builtin.

Imports framework, logical, util and the approle modules. Role names are stored lower-cased, as Vault does
for every role created since it lower-cases them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.builtin.auth.approle import cidrs
from strongroom.builtin.auth.approle.common import ROLE_NAME_FIELD, role_name
from strongroom.builtin.auth.approle.models import Role
from strongroom.builtin.auth.approle.store import AppRoleStore
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.framework.tokenutil import TOKEN_FIELDS
from strongroom.logical import Operation, Request, Response, SystemView
from strongroom.util.durations import format_duration
from strongroom.util.ids import new_uuid
from strongroom.util.policies import parse_policies

ROLE_FIELDS: dict[str, Field] = {
    "role_name": ROLE_NAME_FIELD,
    "bind_secret_id": Field(
        FieldType.BOOL, "Impose secret_id to be presented when logging in using this role.", default=True
    ),
    "bound_cidr_list": Field(FieldType.COMMA_STRING_LIST, 'Use "secret_id_bound_cidrs" instead.'),
    "secret_id_bound_cidrs": Field(
        FieldType.COMMA_STRING_LIST, "CIDR blocks of the addresses which can perform the login operation."
    ),
    "policies": Field(FieldType.COMMA_STRING_LIST, 'Use "token_policies" instead.'),
    "secret_id_num_uses": Field(
        FieldType.INT, "Number of times a SecretID can access the role; 0 means unlimited."
    ),
    "secret_id_ttl": Field(FieldType.DURATION, "Duration after which an issued SecretID expires; 0: never."),
    "period": Field(FieldType.DURATION, 'Use "token_period" instead.'),
    "role_id": Field(FieldType.STRING, "Identifier of the role. Defaults to a UUID."),
    "local_secret_ids": Field(
        FieldType.BOOL, "If set, the secret IDs generated using this role will be cluster local."
    ),
    "token_strictly_bind_ip": Field(
        FieldType.BOOL,
        "If true, CIDRs for the token will be strictly bound to the source IP address of the login request",
    ),
    **TOKEN_FIELDS,
}

_TYPE_ALIASES = {"default-service": "service", "default-batch": "batch"}


def paths(store: AppRoleStore, system: SystemView) -> list[Path]:
    """The role, role list and role-id paths."""

    async def exists(request: Request, data: FieldData) -> bool:
        name: str = data.get("role_name")
        return bool(name) and await store.role(name) is not None

    async def write(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        async with store.lock:
            role = await store.role(name)
            creating = role is None
            current = role or Role(name=name, role_id="")
            warnings: list[str] = []
            updated = apply_fields(current, data, creating, system, warnings)
            await store.save_role(updated, current.role_id)
        return Response(warnings=tuple(warnings)) if warnings else None

    async def read(request: Request, data: FieldData) -> Response | None:
        role = await store.role(role_name(data))
        if role is None:
            return None
        response = Response(data=role.response_data())
        if not role.has_constraint():
            response = response.with_warning(
                "Role does not have any constraints set on it. Updates to this role will require a "
                "constraint to be set"
            )
        return response

    async def delete(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        async with store.lock:
            role = await store.role(name)
            if role is not None:
                await store.delete_role(role)
        return None

    async def list_roles(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": await store.role_names()})

    async def read_role_id(request: Request, data: FieldData) -> Response | None:
        role = await store.role(role_name(data))
        return None if role is None else Response(data={"role_id": role.role_id})

    async def write_role_id(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        async with store.lock:
            role = await store.role(name)
            if role is None:
                raise NotFoundError(UNSUPPORTED_PATH)
            new_id: str = data.get("role_id")
            if not new_id:
                raise InvalidRequestError("missing role_id")
            await store.save_role(role.evolve(role_id=new_id), role.role_id)
        return None

    return [
        Path(
            "role/{role_name}",
            fields=ROLE_FIELDS,
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Register an role with the backend.",
            description=(
                "A role sets the constraints on logins (a secret ID, CIDR blocks) and the properties of the "
                "tokens they get. Secret IDs are issued against it at role/<role_name>/secret-id."
            ),
        ),
        Path(
            "role/?",
            operations={Operation.LIST: list_roles},
            synopsis="Lists all the roles registered with the backend.",
            description="The list will contain the names of the roles.",
        ),
        Path(
            "role/{role_name}/role-id",
            fields={
                "role_name": ROLE_NAME_FIELD,
                "role_id": Field(FieldType.STRING, "Identifier of the role. Defaults to a UUID."),
            },
            operations={Operation.READ: read_role_id, Operation.UPDATE: write_role_id},
            synopsis="Returns the 'role_id' of the role.",
            description="If login is performed from an role, then its 'role_id' should be presented.",
        ),
    ]


def apply_fields(
    role: Role, data: FieldData, creating: bool, system: SystemView, warnings: list[str]
) -> Role:
    """`role` with a create or update request's fields applied and checked, in Vault's order."""
    token = role.token.updated(data)
    if token.type in _TYPE_ALIASES:
        warnings.append(f"{token.type} has no useful meaning; adjusting to {_TYPE_ALIASES[token.type]}")
        token = replace(token, type=_TYPE_ALIASES[token.type])
    changes: dict[str, Any] = {}
    local, supplied = data.get_ok("local_secret_ids")
    if supplied:
        if not creating:
            raise InvalidRequestError("local_secret_ids can only be modified during role creation")
        changes["local_secret_ids"] = local
    role_id, supplied = data.get_ok("role_id")
    if supplied:
        changes["role_id"] = role_id
    elif creating:
        changes["role_id"] = new_uuid()
    if not changes.get("role_id", role.role_id):
        raise InvalidRequestError("invalid role_id supplied, or failed to generate a role_id")
    bind, supplied = data.get_ok("bind_secret_id")
    if supplied or creating:
        changes["bind_secret_id"] = bind
    for name in ("secret_id_bound_cidrs", "bound_cidr_list"):
        blocks, supplied = data.get_ok(name)
        if supplied:
            changes["secret_id_bound_cidrs"] = tuple(blocks)
            break
    try:
        cidrs.validate_cidrs(changes.get("secret_id_bound_cidrs", role.secret_id_bound_cidrs) or ())
    except cidrs.CIDRError as exc:
        raise InvalidRequestError(f"failed to validate CIDR blocks: {exc}") from None
    for name in ("secret_id_num_uses", "secret_id_ttl", "token_strictly_bind_ip"):
        value, supplied = data.get_ok(name)
        if supplied or creating:
            changes[name] = value
    role = role.evolve(token=token, **changes)
    if role.secret_id_num_uses < 0:
        raise InvalidRequestError("secret_id_num_uses cannot be negative")
    role = upgrade_legacy(role, data)
    if role.period > system.max_lease_ttl():
        raise InvalidRequestError(period_error(role.period, system))
    if role.token.max_ttl > system.max_lease_ttl():
        warnings.append(
            "token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' max TTL "
            "value will be truncated"
        )
    return role


def upgrade_legacy(role: Role, data: FieldData) -> Role:
    """Vault's tokenutil.UpgradeValue for "policies" and "period": the token_* field wins; the legacy field
    is kept (equal to it) only while the request also names it."""
    for legacy, new in (("policies", "token_policies"), ("period", "token_period")):
        old_value, old_supplied = data.get_ok(legacy)
        _, new_supplied = data.get_ok(new)
        current = getattr(role.token, new.removeprefix("token_"))
        if new_supplied:
            kept = current if old_supplied else type(current)()
            role = role.evolve(**{legacy: kept})
        elif old_supplied:
            value: Any = parse_policies(old_value) if legacy == "policies" else old_value
            token = replace(role.token, **{new.removeprefix("token_"): value})
            role = role.evolve(**{legacy: value}, token=token)
    return role


def period_error(period: int, system: SystemView) -> str:
    """Vault's refusal of a period over the mount's maximum lease TTL (Go durations, as Vault prints)."""
    return (
        f'period of "{format_duration(period)}" is greater than the backend\'s maximum lease TTL of '
        f'"{format_duration(system.max_lease_ttl())}"'
    )
