"""The lease manager's links into the core: mounted backends renew and revoke secrets, a response carrying
a secret gets its lease, a token's lease follows the token, and the token store's revocations reach the
leases.

Layer: core. Imports leases, tokens, router, logical and core.mounts (the lease manager sees none of them).
Invariant: a secret's TTL is clamped by its mount's and the system's maximum both when it is leased and
when it is renewed, counted from the lease's issue time.
"""

from __future__ import annotations

from dataclasses import replace

from strongroom.barrier.view import write_views
from strongroom.core.mounts import MountManager
from strongroom.errors import InvalidRequestError
from strongroom.leases import LeaseEntry, LeaseManager, SecretRenewal, token_lease, token_lease_id
from strongroom.logical import LeaseOptions, Operation, Request, Response, Secret, SecretBackend
from strongroom.router import MountEntry
from strongroom.tokens import (
    NewToken,
    RevocationHook,
    TokenEntry,
    TokenParams,
    TokenStore,
    TokenType,
    calculate_ttl,
)
from strongroom.util.clock import Clock


def _max_ttl(backend_max: int, system_max: int) -> int:
    """The backend's maximum when it asks for less than the mount or system allows."""
    return backend_max if 0 < backend_max < system_max else system_max


class MountSecrets:
    """The lease manager's SecretBackends: the mount that issued a secret (by its accessor) handles it."""

    def __init__(self, mounts: MountManager, clock: Clock) -> None:
        self._mounts = mounts
        self._clock = clock

    def _bind(self, lease: LeaseEntry, operation: Operation) -> tuple[MountEntry, SecretBackend, Request]:
        router = self._mounts.router
        entry = router.entry_by_accessor(lease.mount_accessor)
        route = router.route(entry.api_path) if entry is not None else None
        if entry is None or route is None:
            raise InvalidRequestError(f'no mount with accessor "{lease.mount_accessor}" to handle the lease')
        if not isinstance(route.backend, SecretBackend):
            raise InvalidRequestError(f'the mount at "{entry.api_path}" does not issue leased secrets')
        relative = lease.path.removeprefix(entry.api_path.rstrip("/")).lstrip("/")
        request = Request(
            operation=operation,
            path=relative,
            storage=self._mounts.storage_for(entry),
            mount_point=entry.api_path,
            mount_type=entry.type,
            mount_accessor=entry.accessor,
        )
        return entry, route.backend, request

    async def revoke_secret(self, lease: LeaseEntry) -> None:
        _, backend, request = self._bind(lease, Operation.DELETE)
        await backend.revoke_secret(request, _secret(lease, 0))

    async def renew_secret(self, lease: LeaseEntry, increment: int) -> SecretRenewal:
        entry, backend, request = self._bind(lease, Operation.UPDATE)
        response = await backend.renew_secret(request, _secret(lease, increment))
        granted = response.secret.lease if response is not None and response.secret is not None else None
        system = self._mounts.system_view(entry)
        result = calculate_ttl(
            now=self._clock.now(),
            start_time=lease.issue_time,
            increment=increment,
            backend_ttl=granted.ttl if granted else 0,
            period=0,
            explicit_max_ttl=0,
            default_ttl=system.default_lease_ttl(),
            max_ttl=_max_ttl(granted.max_ttl if granted else 0, system.max_lease_ttl()),
        )
        return SecretRenewal(
            ttl=result.ttl,
            renewable=granted.renewable if granted else lease.renewable,
            data=response.data if response is not None else None,
            warnings=(*(response.warnings if response is not None else ()), *result.warnings),
        )


def _secret(lease: LeaseEntry, increment: int) -> Secret:
    options = LeaseOptions(ttl=lease.ttl, renewable=lease.renewable, increment=increment)
    return Secret(lease=options, internal=dict(lease.internal), lease_id=lease.lease_id)


async def lease_secret(
    leases: LeaseManager,
    mounts: MountManager,
    response: Response,
    *,
    entry: MountEntry,
    path: str,
    token: TokenEntry | None,
) -> Response:
    """Lease the secret in `response` (issued at API `path` by the mount `entry`), with Vault's TTL
    arithmetic, and show the lease in the response."""
    secret = response.secret
    if secret is None:
        return response
    system = mounts.system_view(entry)
    now = leases.clock.now()
    result = calculate_ttl(
        now=now,
        start_time=now,
        increment=0,
        backend_ttl=secret.lease.ttl,
        period=0,
        explicit_max_ttl=0,
        default_ttl=system.default_lease_ttl(),
        max_ttl=_max_ttl(secret.lease.max_ttl, system.max_lease_ttl()),
    )
    lease = await leases.register_secret(
        path=path,
        ttl=result.ttl,
        renewable=secret.lease.renewable,
        mount_accessor=entry.accessor,
        token_hash=token.id_hash if token is not None else "",
        internal=secret.internal,
    )
    leased = replace(secret, lease_id=lease.lease_id, lease=replace(secret.lease, ttl=result.ttl))
    return response.evolve(
        secret=leased,
        lease_id=lease.lease_id,
        lease_duration=result.ttl,
        renewable=secret.lease.renewable,
        warnings=(*response.warnings, *result.warnings),
    )


async def track_token(leases: LeaseManager, tokens: TokenStore, accessor: str) -> None:
    """Bring the lease of the service token with `accessor` in step with the token (batch tokens have
    neither accessor nor lease)."""
    entry = await tokens.lookup_accessor(accessor)
    if entry is not None:
        await register_token_lease(leases, entry)


async def register_token_lease(leases: LeaseManager, entry: TokenEntry) -> None:
    """Create or update the lease of a service token from its entry."""
    if entry.type is not TokenType.SERVICE:
        return
    await leases.register_token(
        lease_id=token_lease_id(entry.path, entry.id_hash),
        path=entry.path,
        id_hash=entry.id_hash,
        issue_time=entry.creation_time,
        expire_time=_lease_expiry(entry),
        ttl=entry.ttl,
        renewable=entry.renewable,
        last_renewal=entry.last_renewal_time,
    )


async def create_leased_token(leases: LeaseManager, tokens: TokenStore, params: TokenParams) -> NewToken:
    """A new token and, for a service token, its lease, stored in one atomic write where the storage offers
    one (one commit per login instead of two; and no token without its lease)."""
    new = await tokens.prepare(params)
    entry = new.entry
    if entry.type is not TokenType.SERVICE:
        await write_views([(tokens.storage, new.puts)])
        return new
    lease = token_lease(
        lease_id=token_lease_id(entry.path, entry.id_hash),
        path=entry.path,
        id_hash=entry.id_hash,
        issue_time=entry.creation_time,
        expire_time=_lease_expiry(entry),
        ttl=entry.ttl,
        renewable=entry.renewable,
        last_renewal=entry.last_renewal_time,
    )
    key, value = leases.stored_form(lease)
    await write_views([(tokens.storage, new.puts), (leases.storage, {key: value})])
    leases.track(lease)
    return new


def _lease_expiry(entry: TokenEntry) -> float | None:
    """When a token's lease expires: its expiry, or its explicit maximum TTL's end if sooner."""
    expire = entry.expire_time
    if entry.explicit_max_ttl > 0:
        hard_limit = entry.creation_time + entry.explicit_max_ttl
        expire = hard_limit if expire is None else min(expire, hard_limit)
    return expire


def lease_revoker(leases: LeaseManager) -> RevocationHook:
    """The token store's revocation hook: a revoked token's lease goes, and the secrets issued to it."""

    async def revoked(entry: TokenEntry) -> None:
        await leases.token_revoked(token_lease_id(entry.path, entry.id_hash), entry.id_hash)

    return revoked
