"""role/<name>/<field>: Vault's per-field endpoints (policies, secret-id-ttl, token-ttl, period, ...).

Layer: builtin. Imports framework, logical, util and the approle modules. Every field path is one FieldPath
value (what it reads, how it updates, what deleting resets) turned into a Path by one factory.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from strongroom.builtin.auth.approle import cidrs
from strongroom.builtin.auth.approle.common import ROLE_NAME_FIELD, role_name
from strongroom.builtin.auth.approle.models import Role
from strongroom.builtin.auth.approle.paths_role import ROLE_FIELDS, period_error
from strongroom.builtin.auth.approle.store import AppRoleStore
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import FieldData, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.framework.tokenutil import TOKEN_FIELDS
from strongroom.logical import Operation, Request, Response, SystemView
from strongroom.util.policies import parse_policies

Update = Callable[[Role, FieldData, SystemView], Role]


@dataclass(frozen=True, slots=True)
class FieldPath:
    """One role/<name>/<segment> endpoint."""

    segment: str
    fields: tuple[str, ...]
    read: Callable[[Role], dict[str, Any]]
    update: Update | None = None
    reset: Callable[[Role], Role] | None = None
    synopsis: str = ""


def _required(data: FieldData, *names: str, missing: str = "") -> tuple[str, Any]:
    """The first of `names` the request supplied, with its value; "missing <name>" (Vault's words, naming
    `missing` or else the first name) otherwise."""
    for name in names:
        value, supplied = data.get_ok(name)
        if supplied:
            return name, value
    raise InvalidRequestError(f"missing {missing or names[0]}")


def _token(role: Role, **changes: Any) -> Role:
    return role.evolve(token=replace(role.token, **changes))


def _update_policies(role: Role, data: FieldData, system: SystemView) -> Role:
    name, value = _required(data, "token_policies", "policies")
    legacy_too = name == "policies" or data.get_ok("policies")[1]
    # Vault parses the policies this endpoint is given under either name (policyutil.ParsePolicies).
    policies = parse_policies(value)
    return _token(role, policies=policies).evolve(policies=policies if legacy_too else ())


def _update_int(field: str, attribute: str, on_token: bool) -> Update:
    def update(role: Role, data: FieldData, system: SystemView) -> Role:
        _, value = _required(data, field)
        if field in ("secret_id_num_uses", "token_num_uses") and value < 0:
            raise InvalidRequestError(f"{field} cannot be negative")
        return _token(role, **{attribute: value}) if on_token else role.evolve(**{attribute: value})

    return update


def _update_token_ttl(role: Role, data: FieldData, system: SystemView) -> Role:
    _, ttl = _required(data, "token_ttl")
    if role.token.max_ttl > 0 and ttl > role.token.max_ttl:
        raise InvalidRequestError("token_ttl should not be greater than token_max_ttl")
    return _token(role, ttl=ttl)


def _update_token_max_ttl(role: Role, data: FieldData, system: SystemView) -> Role:
    _, max_ttl = _required(data, "token_max_ttl")
    if max_ttl > 0 and role.token.ttl > max_ttl:
        raise InvalidRequestError("token_max_ttl should be greater than or equal to token_ttl")
    return _token(role, max_ttl=max_ttl)


def _update_secret_id_cidrs(role: Role, data: FieldData, system: SystemView) -> Role:
    blocks, supplied = data.get_ok("secret_id_bound_cidrs")
    if not supplied:
        return role
    if not blocks:
        raise InvalidRequestError("missing bound_cidr_list")
    try:
        cidrs.validate_cidrs(blocks)
    except cidrs.CIDRError as exc:
        raise InvalidRequestError(f"failed to validate CIDR blocks: {exc}") from None
    return role.evolve(secret_id_bound_cidrs=tuple(blocks))


def _update_token_cidrs(role: Role, data: FieldData, system: SystemView) -> Role:
    blocks, supplied = data.get_ok("token_bound_cidrs")
    if not supplied:
        return role
    for block in blocks:
        try:
            cidrs.parse_addr(block)
        except cidrs.CIDRError as exc:
            raise InvalidRequestError(f"failed to parse token_bound_cidrs: {exc}") from None
    return _token(role, bound_cidrs=tuple(blocks))


def _update_period(role: Role, data: FieldData, system: SystemView) -> Role:
    name, period = _required(data, "token_period", "period", missing="period")
    legacy_too = name == "period" or data.get_ok("period")[1]
    role = _token(role, period=period).evolve(period=period if legacy_too else 0)
    if role.token.period > system.max_lease_ttl():
        # Vault prints the legacy field here, whichever was set.
        raise InvalidRequestError(period_error(role.period, system))
    return role


def _policies(role: Role) -> dict[str, Any]:
    data: dict[str, Any] = {"token_policies": list(role.token.policies)}
    if role.policies:
        data["policies"] = list(role.policies)
    return data


def _period(role: Role) -> dict[str, Any]:
    data: dict[str, Any] = {"token_period": role.token.period}
    if role.period:
        data["period"] = role.period
    return data


FIELD_PATHS: tuple[FieldPath, ...] = (
    FieldPath(
        "policies",
        ("policies", "token_policies"),
        _policies,
        _update_policies,
        lambda role: _token(role, policies=()).evolve(policies=()),
        "Policies of the role.",
    ),
    FieldPath(
        "secret-id-num-uses",
        ("secret_id_num_uses",),
        lambda role: {"secret_id_num_uses": role.secret_id_num_uses},
        _update_int("secret_id_num_uses", "secret_id_num_uses", on_token=False),
        lambda role: role.evolve(secret_id_num_uses=0),
        "Use limit of the SecretID generated against the role.",
    ),
    FieldPath(
        "secret-id-ttl",
        ("secret_id_ttl",),
        lambda role: {"secret_id_ttl": role.secret_id_ttl},
        _update_int("secret_id_ttl", "secret_id_ttl", on_token=False),
        lambda role: role.evolve(secret_id_ttl=0),
        "Duration in seconds of the SecretID generated against the role.",
    ),
    FieldPath(
        "token-ttl",
        ("token_ttl",),
        lambda role: {"token_ttl": role.token.ttl},
        _update_token_ttl,
        lambda role: _token(role, ttl=0),
        "Duration in seconds, the lifetime of the token issued by using the SecretID that is generated "
        "against this role, before which the token needs to be renewed.",
    ),
    FieldPath(
        "token-max-ttl",
        ("token_max_ttl",),
        lambda role: {"token_max_ttl": role.token.max_ttl},
        _update_token_max_ttl,
        lambda role: _token(role, max_ttl=0),
        "Duration in seconds, the maximum lifetime of the tokens issued by using the SecretIDs that were "
        "generated against this role, after which the tokens are not allowed to be renewed.",
    ),
    FieldPath(
        "token-num-uses",
        ("token_num_uses",),
        lambda role: {"token_num_uses": role.token.num_uses},
        _update_int("token_num_uses", "num_uses", on_token=True),
        lambda role: _token(role, num_uses=0),
        "Number of times issued tokens can be used",
    ),
    FieldPath(
        "secret-id-bound-cidrs",
        ("secret_id_bound_cidrs",),
        lambda role: {
            "secret_id_bound_cidrs": None
            if role.secret_id_bound_cidrs is None
            else list(role.secret_id_bound_cidrs)
        },
        _update_secret_id_cidrs,
        lambda role: role.evolve(secret_id_bound_cidrs=None),
        "CIDR blocks of the addresses which can perform the login operation.",
    ),
    FieldPath(
        "token-bound-cidrs",
        ("token_bound_cidrs",),
        lambda role: {"token_bound_cidrs": list(role.token.bound_cidrs) or None},
        _update_token_cidrs,
        lambda role: _token(role, bound_cidrs=()),
        "CIDR blocks of the addresses which can use the returned token.",
    ),
    FieldPath(
        "period",
        ("period", "token_period"),
        _period,
        _update_period,
        lambda role: _token(role, period=0).evolve(period=0),
        "Updates the value of 'period' on the role",
    ),
    FieldPath(
        "local-secret-ids",
        (),
        lambda role: {"local_secret_ids": role.local_secret_ids},
        synopsis="Enables cluster local secret IDs",
    ),
)


def paths(store: AppRoleStore, system: SystemView) -> list[Path]:
    """One Path per FieldPath."""
    return [_path(store, system, spec) for spec in FIELD_PATHS]


def _path(store: AppRoleStore, system: SystemView, spec: FieldPath) -> Path:
    async def read(request: Request, data: FieldData) -> Response | None:
        role = await store.role(role_name(data))
        return None if role is None else Response(data=spec.read(role))

    async def update(request: Request, data: FieldData) -> Response | None:
        assert spec.update is not None
        name = role_name(data)
        async with store.lock:
            role = await store.role(name)
            if role is None:
                raise NotFoundError(UNSUPPORTED_PATH)
            await store.save_role(spec.update(role, data, system))
        return None

    async def delete(request: Request, data: FieldData) -> Response | None:
        assert spec.reset is not None
        name = role_name(data)
        async with store.lock:
            role = await store.role(name)
            if role is not None:
                await store.save_role(spec.reset(role))
        return None

    operations: dict[Operation, Any] = {Operation.READ: read}
    if spec.update is not None:
        operations[Operation.UPDATE] = update
    if spec.reset is not None:
        operations[Operation.DELETE] = delete
    fields: Mapping[str, Any] = {"role_name": ROLE_NAME_FIELD} | {
        name: ROLE_FIELDS.get(name) or TOKEN_FIELDS[name] for name in spec.fields
    }
    return Path(
        f"role/{{role_name}}/{spec.segment}", fields=fields, operations=operations, synopsis=spec.synopsis
    )
