"""login: a role ID (and, when the role binds one, a secret ID) in exchange for a token. Layer: builtin.

Imports framework, logical, util and the approle modules. The answer is an Auth with no client token: the
core issues the token (login is this backend's unauthenticated path).

Invariant: an unknown role ID, an unknown secret ID and an expired or spent one get the same answer, so a
caller learns nothing about which part was wrong.
Invariant: a refused login (CIDR rules) does not spend a use of the secret ID.
"""

from __future__ import annotations

from strongroom.builtin.auth.approle import cidrs
from strongroom.builtin.auth.approle.models import Role, SecretIDEntry
from strongroom.builtin.auth.approle.store import AppRoleStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import LoginAlias, Operation, Request, Response
from strongroom.util.clock import Clock
from strongroom.util.frozen import replace

INVALID = "invalid role or secret ID"


def paths(store: AppRoleStore, clock: Clock) -> list[Path]:
    """The login path."""

    async def login(request: Request, data: FieldData) -> Response | None:
        role_id = str(data.get("role_id")).strip()
        if not role_id:
            raise InvalidRequestError("missing role_id")
        role = await store.role_for_role_id(role_id)
        if role is None:
            raise InvalidRequestError(INVALID)
        address = request.connection.remote_address
        entry: SecretIDEntry | None = None
        if role.bind_secret_id:
            secret_id = str(data.get("secret_id")).strip()
            if not secret_id:
                raise InvalidRequestError("missing secret_id")
            async with store.lock:
                entry = await spend(role, secret_id, address)
        else:
            check_role_cidrs(role, address)
        metadata = {**(entry.metadata if entry else {}), "role_name": role.name}
        bound = entry.token_bound_cidrs if entry and entry.token_bound_cidrs else role.token.bound_cidrs
        if role.token_strictly_bind_ip and address:
            bound = (address,)
        auth = role.token.to_auth(
            display_name="",
            metadata=metadata,
            internal={"role_name": role.name},
            alias=LoginAlias(name=role.role_id, metadata=metadata),
            bound_cidrs=tuple(bound),
        )
        return Response(auth=auth)

    async def spend(role: Role, secret_id: str, address: str) -> SecretIDEntry:
        """Check the secret ID against the rules, then take one of its uses. Callers hold the lock."""
        entry = await store.secret_id_entry(role, secret_id)
        if entry is None or entry.expired(clock.now()):
            raise InvalidRequestError(INVALID)
        if not await store.has_accessor(entry):
            await store.delete(role, entry)
            raise InvalidRequestError(INVALID)
        role_blocks = role.secret_id_bound_cidrs or ()
        if not cidrs.is_subset(role_blocks, entry.cidr_list):
            raise InvalidRequestError(cidrs.subset_error(role_blocks, entry.cidr_list))
        if entry.cidr_list:
            require_address(address)
            if not cidrs.address_allowed(address, entry.cidr_list):
                # Vault words this two ways, depending on whether the secret ID has a use limit.
                raise InvalidRequestError(
                    f'source address "{address}" unauthorized through CIDR restrictions on the secret ID'
                    if entry.num_uses == 0
                    else f'source address "{address}" unauthorized by CIDR restrictions on the secret ID: '
                    "%!w(<nil>)"
                )
        check_role_cidrs(role, address)
        if entry.num_uses == 1:
            await store.delete(role, entry)
        elif entry.num_uses > 1:
            await store.update(
                role, replace(entry, num_uses=entry.num_uses - 1, last_updated_time=clock.now())
            )
        return entry

    return [
        Path(
            "login",
            fields={
                "role_id": Field(FieldType.STRING, "Unique identifier of the Role."),
                "secret_id": Field(FieldType.STRING, "SecretID belong to the App role", default=""),
            },
            operations={Operation.UPDATE: login},
            synopsis="Issue a token based on the credentials supplied",
            description=(
                "The credential 'role_id' is required at all times; 'secret_id' too when the role's "
                "'bind_secret_id' constraint is set (the default)."
            ),
        )
    ]


def check_role_cidrs(role: Role, address: str) -> None:
    """The role's secret_id_bound_cidrs must admit the caller's address."""
    if not role.secret_id_bound_cidrs:
        return
    require_address(address)
    if not cidrs.address_allowed(address, role.secret_id_bound_cidrs):
        raise InvalidRequestError(
            f'source address "{address}" unauthorized by CIDR restrictions on the role: %!w(<nil>)'
        )


def require_address(address: str) -> None:
    """CIDR rules need the caller's address."""
    if not address:
        raise InvalidRequestError("failed to get connection information")
