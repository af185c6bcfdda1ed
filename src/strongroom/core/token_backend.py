"""The auth/token/ backend: Vault's token API over the TokenStore, declared with strongroom.framework.

Layer: core. Imports framework, logical, tokens. The core mounts it at auth/token/ and passes the raw caller
token as request.client_token and the caller as request.caller.

Responses carry `Auth` for tokens that already exist in the store (create, renew): the core renders them and
never issues another token for this mount.

Invariant: lookup never discloses a token's parent; lookup-accessor and renew-accessor never disclose the ID.
Invariant: revoke-orphan needs sudo; batch tokens are neither renewed nor revoked on their own.
"""

from __future__ import annotations

from strongroom.core.token_paths_common import (
    EntityOfAlias,
    IdentityPolicies,
    LoginRenewal,
    PolicyExists,
    SudoCheck,
    TokenServices,
    auth_response,
    go_error,
    lookup_data,
    no_identity,
    root_only,
)
from strongroom.core.token_paths_create import create_paths
from strongroom.core.token_paths_roles import role_paths
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, FrameworkBackend, Path
from strongroom.logical import Connection, Operation, Request, Response, SpecialPaths, SystemView
from strongroom.logical.backend import StaticSystemView
from strongroom.tokens import RoleStore, TokenEntry, TokenStore, TokenType
from strongroom.util.clock import Clock, SystemClock

_TIDY_STARTED = (
    "Tidy operation successfully started. Any information from the operation will be printed to "
    "strongroom's server logs."
)

# Tokens issued under this mount (create, roles, root) renew here; any other path names the login behind it.
_TOKEN_MOUNT = "auth/token/"

_TOKEN = {"token": Field(FieldType.STRING, "Token (request body)")}
_ACCESSOR = {"accessor": Field(FieldType.STRING, "Accessor of the token (request body)")}
_INCREMENT = {
    "increment": Field(
        FieldType.DURATION, "The desired increment in seconds to the token expiration", default=0
    )
}


def token_backend(
    store: TokenStore,
    roles: RoleStore | None = None,
    *,
    system: SystemView | None = None,
    clock: Clock | None = None,
    sudo_check: SudoCheck = root_only,
    policy_exists: PolicyExists | None = None,
    logins: LoginRenewal | None = None,
    identity_policies: IdentityPolicies = no_identity,
    entity_of_alias: EntityOfAlias | None = None,
) -> FrameworkBackend:
    """The backend to mount at auth/token/. `roles` defaults to roles kept in the store's own storage;
    `logins` has the auth methods re-check the logins whose tokens are renewed."""
    services = TokenServices(
        store=store,
        roles=roles if roles is not None else RoleStore(store.storage),
        system=system if system is not None else StaticSystemView(),
        clock=clock if clock is not None else SystemClock(),
        sudo_check=sudo_check,
        policy_exists=policy_exists,
        logins=logins,
        identity_policies=identity_policies,
        entity_of_alias=entity_of_alias,
    )
    return FrameworkBackend(
        [*role_paths(services), *_accessor_paths(services), *create_paths(services), *_token_paths(services)],
        help="The token credential backend is always enabled and builds in some token functionality.",
        special_paths=SpecialPaths(root=("revoke-orphan/*", "accessors*")),
        on_initialize=store.initialize,
    )


def _accessor_paths(services: TokenServices) -> list[Path]:
    store = services.store

    async def list_accessors(request: Request, data: FieldData) -> Response:
        return Response(data={"keys": await store.list_accessors()})

    async def lookup_accessor(request: Request, data: FieldData) -> Response:
        entry = await _by_accessor(services, data.get("accessor"))
        # Vault's lookup by accessor shows every field but the ID itself.
        return Response(
            data=lookup_data(entry, "", services.clock.now(), services.identity_policies(entry.entity_id))
        )

    async def renew_accessor(request: Request, data: FieldData) -> Response | None:
        entry = await _by_accessor(services, data.get("accessor"))
        return await _renew(services, entry, "", data.get("increment"), request.connection)

    async def revoke_accessor(request: Request, data: FieldData) -> Response | None:
        accessor: str = data.get("accessor")
        if not accessor:
            raise go_error("missing accessor")
        entry = await store.lookup_accessor(accessor)
        if entry is None:
            return Response(warnings=("No token found with this accessor",))
        await store.revoke(entry.id_hash)
        return None

    return [
        Path(
            "accessors/?",
            operations={Operation.LIST: list_accessors},
            synopsis="List token accessors, which can then be used to iterate and discover their properties.",
        ),
        Path(
            "lookup-accessor",
            fields=_ACCESSOR,
            operations={Operation.UPDATE: lookup_accessor},
            synopsis="This endpoint will lookup a token associated with the given accessor.",
        ),
        Path(
            "renew-accessor",
            fields={**_ACCESSOR, **_INCREMENT},
            operations={Operation.UPDATE: renew_accessor},
            synopsis="This endpoint will renew a token associated with the given accessor.",
        ),
        Path(
            "revoke-accessor",
            fields=_ACCESSOR,
            operations={Operation.UPDATE: revoke_accessor},
            synopsis="This endpoint will delete the token of the accessor and all of its children.",
        ),
    ]


def _token_paths(services: TokenServices) -> list[Path]:
    store = services.store

    async def lookup_token(token_id: str, id_hash: str = "") -> Response:
        if not token_id:
            raise InvalidRequestError("missing token ID")
        if id_hash:
            entry = await store.lookup_hash(id_hash, include_pending=True)
        else:
            entry = await store.lookup(token_id, include_pending=True)
        if entry is None:
            raise PermissionDeniedError("bad token")
        return Response(
            data=lookup_data(
                entry, token_id, services.clock.now(), services.identity_policies(entry.entity_id)
            )
        )

    async def lookup(request: Request, data: FieldData) -> Response:
        return await lookup_token(data.get("token") or request.client_token)

    async def lookup_self(request: Request, data: FieldData) -> Response:
        # The caller's token hash is the client token's, already worked out when it was authenticated.
        caller = request.caller
        return await lookup_token(request.client_token, caller.token_hash if caller is not None else "")

    async def renew(request: Request, data: FieldData) -> Response | None:
        return await _renew_token(services, data.get("token"), data.get("increment"), request.connection)

    async def renew_self(request: Request, data: FieldData) -> Response | None:
        return await _renew_token(services, request.client_token, data.get("increment"), request.connection)

    async def revoke(request: Request, data: FieldData) -> None:
        token_id: str = data.get("token")
        if not token_id:
            raise InvalidRequestError("missing token ID")
        await _revoke_tree(services, token_id)

    async def revoke_self(request: Request, data: FieldData) -> None:
        await _revoke_tree(services, request.client_token)

    async def revoke_orphan(request: Request, data: FieldData) -> None:
        token_id: str = data.get("token")
        if not token_id:
            raise InvalidRequestError("missing token ID")
        if not await services.sudo_check(request):
            raise InvalidRequestError("root or sudo privileges required to revoke and orphan")
        entry = await store.lookup(token_id)
        if entry is None:
            raise InvalidRequestError("token to revoke not found")
        if entry.type is TokenType.BATCH:
            raise InvalidRequestError("batch tokens cannot be revoked")
        await store.revoke_orphan(entry.id_hash)

    async def tidy(request: Request, data: FieldData) -> Response:
        await store.tidy()
        return Response(warnings=(_TIDY_STARTED,), status=202)

    return [
        Path(
            "lookup",
            fields=_TOKEN,
            operations={Operation.READ: lookup, Operation.UPDATE: lookup},
            synopsis="This endpoint will lookup a token and its properties.",
        ),
        Path(
            "lookup-self",
            fields=_TOKEN,
            operations={Operation.READ: lookup_self, Operation.UPDATE: lookup_self},
            synopsis="This endpoint will lookup a token and its properties.",
        ),
        Path(
            "revoke-self",
            operations={Operation.UPDATE: revoke_self},
            synopsis="This endpoint will delete the token used to call it and all of its child tokens.",
        ),
        Path(
            "revoke",
            fields=_TOKEN,
            operations={Operation.UPDATE: revoke},
            synopsis="This endpoint will delete the given token and all of its child tokens.",
        ),
        Path(
            "revoke-orphan",
            fields=_TOKEN,
            operations={Operation.UPDATE: revoke_orphan},
            synopsis="This endpoint will delete the token and orphan its child tokens.",
        ),
        Path(
            "renew-self",
            fields={**_TOKEN, **_INCREMENT},
            operations={Operation.UPDATE: renew_self},
            synopsis="This endpoint will renew the token used to call it and prevent expiration.",
        ),
        Path(
            "renew",
            fields={**_TOKEN, **_INCREMENT},
            operations={Operation.UPDATE: renew},
            synopsis="This endpoint will renew the given token and prevent expiration.",
        ),
        Path(
            "tidy",
            operations={Operation.UPDATE: tidy},
            synopsis="This endpoint performs cleanup tasks that can be run if certain error conditions have "
            "occurred.",
        ),
    ]


async def _by_accessor(services: TokenServices, accessor: str) -> TokenEntry:
    if not accessor:
        raise go_error("missing accessor")
    entry = await services.store.lookup_accessor(accessor)
    if entry is None:
        raise go_error("invalid accessor")
    return entry


async def _renew_token(
    services: TokenServices, token_id: str, increment: int, connection: Connection
) -> Response | None:
    if not token_id:
        raise InvalidRequestError("missing token ID")
    entry = await services.store.lookup(token_id)
    if entry is None:
        raise InvalidRequestError("token not found")
    return await _renew(services, entry, token_id, increment, connection)


async def _renew(
    services: TokenServices, entry: TokenEntry, token_id: str, increment: int, connection: Connection
) -> Response | None:
    """Renew by Vault's rules; a token made against a role renews with the role's period and max, a login's
    token with the terms its auth method gives now (which may refuse, or decline and answer nothing)."""
    if entry.type is TokenType.BATCH:
        raise InvalidRequestError("batch tokens cannot be renewed")
    if services.logins is not None and not entry.path.startswith(_TOKEN_MOUNT):
        services.store.ensure_renewable(entry)
        terms = await services.logins(entry, connection)
        if terms is not None:
            if terms.declined:
                return None
            renewal = await services.store.renew(
                entry,
                increment,
                services.system.max_lease_ttl(),
                period=terms.period,
                backend_ttl=terms.ttl,
                max_ttl=terms.max_ttl,
            )
            return auth_response(renewal.entry, token_id, renewal.warnings)
    period: int | None = None
    explicit_max: int | None = None
    if entry.role:
        role = await services.roles.get(entry.role)
        if role is None:
            raise InvalidRequestError(f'original token role "{entry.role}" could not be found, not renewing')
        period, explicit_max = role.token_period, role.token_explicit_max_ttl
    renewal = await services.store.renew(
        entry,
        increment,
        services.system.max_lease_ttl(),
        period=period,
        explicit_max_ttl=explicit_max,
    )
    return auth_response(renewal.entry, token_id, renewal.warnings)


async def _revoke_tree(services: TokenServices, token_id: str) -> None:
    entry = await services.store.lookup(token_id, include_pending=True)
    if entry is None:
        return
    if entry.type is TokenType.BATCH:
        raise InvalidRequestError("batch tokens cannot be revoked")
    await services.store.revoke(entry.id_hash)
