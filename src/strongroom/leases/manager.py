"""The lease manager (Vault's expiration manager): one record per token or secret lease, renewal, revocation
by ID or prefix, and a background task that revokes each lease when its time comes.

Layer: leases, a sibling of tokens and router. Imports logical (Storage), util, errors and its own modules;
the token store and the mounts' backends come in through the `Tokens` and `SecretBackends` Protocols.

Storage layout (inside the manager's own view, "sys/expire/"):
    id/<lease_id>                     the LeaseEntry as JSON (lease IDs hold "/", so prefixes list as folders)
    token/<token hash>/<lease digest> the lease ID of a secret issued to that token, so the token's
                                      revocation revokes its secrets

Invariant: a lease that came due while the server was sealed or down is revoked during unseal, before the
first request is served; afterwards each lease is revoked by a timer at its expiry, not by a scan.
Invariant: revoking a token lease revokes the token and its whole tree; revoking a token revokes every
secret lease issued to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any, Protocol

import orjson

from strongroom.errors import InvalidRequestError, RequestError
from strongroom.leases.model import LeaseEntry, LeaseKind, SecretRenewal, token_lease
from strongroom.leases.queue import ExpiryQueue
from strongroom.logical.storage import Storage
from strongroom.util import ids
from strongroom.util.clock import Clock
from strongroom.util.paths import is_safe_path

log = logging.getLogger("strongroom.leases")

# Vault gives up on a lease whose revocation keeps failing (it becomes "irrevocable" until revoke-force).
MAX_REVOKE_ATTEMPTS = 6
# The timer re-reads the clock at least this often, so a jump of the wall clock is noticed.
_MAX_SLEEP = 60.0


class Tokens(Protocol):
    """What the manager needs of the token store (TokenStore has both methods)."""

    async def revoke(self, id_hash: str) -> None:
        """Revoke the token and all its descendants."""
        ...

    async def lookup_hash(self, id_hash: str) -> object | None:
        """The live token with that salted hash, or None."""
        ...


class SecretBackends(Protocol):
    """What the manager needs of the mounts: the backend that issued a secret renews and revokes it."""

    async def revoke_secret(self, lease: LeaseEntry) -> None:
        """Have the lease's backend revoke the secret; raise when it cannot."""
        ...

    async def renew_secret(self, lease: LeaseEntry, increment: int) -> SecretRenewal:
        """Have the lease's backend renew the secret; the TTL comes back clamped by mount and system."""
        ...


class LeaseManager:
    """Leases over one Storage view. `start()` on unseal, `stop()` on seal."""

    def __init__(self, storage: Storage, clock: Clock, tokens: Tokens, secrets: SecretBackends) -> None:
        self._storage = storage
        self._clock = clock
        self._tokens = tokens
        self._secrets = secrets
        self._queue = ExpiryQueue()
        self._attempts: dict[str, int] = {}
        self._wake = asyncio.Event()
        # When the sleeping expiry task wakes on its own (wall-clock seconds): only a deadline before it
        # needs to wake the task early. A login's or a new secret's lease almost always comes due after
        # the earliest one, and waking the task for it would cost every such request a task switch.
        # Infinite while the task is awake (it reads the queue again before it sleeps).
        self._wakes_at = math.inf
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"LeaseManager(<storage>, {len(self._queue)} scheduled)"

    @property
    def clock(self) -> Clock:
        """The clock lease times are read from."""
        return self._clock

    # Lifecycle

    async def start(self) -> None:
        """Restore every lease's timer, revoke those already due, and start the expiry task."""
        await self.restore()
        await self.expire_due()
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="lease-expiry")

    async def stop(self) -> None:
        """Stop the expiry task and forget the timers (the records stay in storage)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._queue.clear()
        self._attempts.clear()

    async def restore(self) -> int:
        """Schedule every stored lease that expires; return how many leases there are."""
        count = 0
        async for lease in self._walk(""):
            count += 1
            self._schedule(lease)
        return count

    async def expire_due(self) -> list[str]:
        """Revoke every lease whose expiry has come, earliest first; return the IDs revoked."""
        now = self._clock.now()
        revoked: list[str] = []
        for lease_id in self._queue.pop_due(now):
            try:
                lease = await self._load(lease_id)
                if lease is None:
                    continue
                if not lease.expired(now) and lease_id not in self._attempts:
                    self._schedule(lease)
                    continue
                await self._revoke_entry(lease, force=False)
            except Exception as exc:  # one lease's failure must not stop the others
                self._retry_later(lease_id, exc)
            else:
                self._attempts.pop(lease_id, None)
                revoked.append(lease_id)
        return revoked

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            deadline = self._queue.next_deadline()
            delay = _MAX_SLEEP if deadline is None else min(_MAX_SLEEP, deadline - self._clock.now())
            if delay > 0:
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that arrives as the
                # event is set, and stop() would then wait forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        self._wakes_at = self._clock.now() + delay
                        try:
                            await self._wake.wait()
                        finally:
                            self._wakes_at = math.inf
                continue
            await self.expire_due()

    # Registration

    async def register_secret(
        self,
        *,
        path: str,
        ttl: int,
        renewable: bool,
        mount_accessor: str,
        token_hash: str,
        internal: Mapping[str, Any],
    ) -> LeaseEntry:
        """Lease a secret just issued at `path` (its full API path) for `ttl` seconds."""
        now = self._clock.now()
        lease = LeaseEntry(
            lease_id=f"{path.strip('/')}/{ids.base62(24)}",
            path=path.strip("/"),
            kind=LeaseKind.SECRET,
            issue_time=now,
            expire_time=now + ttl,
            ttl=ttl,
            renewable=renewable,
            token_hash=token_hash,
            mount_accessor=mount_accessor,
            internal=dict(internal),
        )
        # The token index goes first: a dangling index entry is harmless (tidy removes it), a secret
        # missing from it would outlive its token.
        if token_hash:
            await self._storage.put(_token_key(token_hash, lease.lease_id), lease.lease_id.encode())
        await self._save(lease)
        return lease

    async def register_token(
        self,
        *,
        lease_id: str,
        path: str,
        id_hash: str,
        issue_time: float,
        expire_time: float | None,
        ttl: int,
        renewable: bool,
        last_renewal: float | None = None,
    ) -> LeaseEntry:
        """Create or update a token's lease so it mirrors the token (called on create, login and renew)."""
        lease = token_lease(
            lease_id=lease_id,
            path=path,
            id_hash=id_hash,
            issue_time=issue_time,
            expire_time=expire_time,
            ttl=ttl,
            renewable=renewable,
            last_renewal=last_renewal,
        )
        await self._save(lease)
        return lease

    @property
    def storage(self) -> Storage:
        """The manager's view, for a caller that stores a lease together with other records."""
        return self._storage

    def stored_form(self, lease: LeaseEntry) -> tuple[str, bytes]:
        """The key (in `storage`) and value `lease` is stored as; `track` it once stored."""
        key = _id_key(lease.lease_id)
        if key is None:
            raise InvalidRequestError(f'invalid lease path "{lease.path}"')
        return key, orjson.dumps(lease.to_json())

    def track(self, lease: LeaseEntry) -> None:
        """Expire `lease`, stored by the caller in its `stored_form`, on time."""
        self._schedule(lease)

    async def token_revoked(self, lease_id: str, id_hash: str) -> None:
        """A token is being revoked: drop its lease and revoke the secrets issued to it.

        A secret whose backend refuses is left to the timer to retry, so the token's revocation goes on.
        """
        await self._forget(lease_id)
        for digest in await self._storage.list(f"token/{id_hash}/"):
            raw = await self._storage.get(f"token/{id_hash}/{digest}")
            secret = None if raw is None else await self._load(raw.decode())
            if secret is not None:
                try:
                    await self._revoke_entry(secret, force=False)
                except Exception as exc:  # retried by the timer, see the docstring
                    self._retry_later(secret.lease_id, exc)
                    continue
            await self._storage.delete(f"token/{id_hash}/{digest}")

    # Queries

    async def count(self) -> int:
        """How many leases are waiting to expire (what vault_expire_num_leases reports)."""
        return len(self._queue)

    def count_under(self, prefix: str) -> int:
        """How many live leases (secrets and service tokens) have an ID starting with `prefix`; their IDs
        begin with the path of the request that created them (what lease count quotas count)."""
        return self._queue.count_prefixed(prefix)

    async def lookup(self, lease_id: str) -> LeaseEntry | None:
        """The lease with that ID, or None (also for IDs that could not be a storage key)."""
        return await self._load(lease_id)

    async def list(self, prefix: str) -> list[str]:
        """The lease IDs and folders directly under `prefix` ("" for the top), as Vault lists them."""
        folder = prefix if prefix == "" or prefix.endswith("/") else prefix + "/"
        if not is_safe_path(folder):
            return []
        return await self._storage.list("id/" + folder)

    # Actions

    async def renew(self, lease_id: str, increment: int) -> SecretRenewal:
        """Renew a secret lease by `increment` seconds (0: the backend's choice); tokens are refused."""
        lease = await self._load(lease_id)
        if lease is None:
            raise InvalidRequestError("lease not found")
        now = self._clock.now()
        refusal = lease.renewal_refusal(now)
        if refusal:
            raise InvalidRequestError(refusal)
        if lease.kind is LeaseKind.TOKEN:
            raise InvalidRequestError("tokens cannot be renewed through this endpoint")
        renewal = await self._secrets.renew_secret(lease, increment)
        renewed = replace(
            lease,
            ttl=renewal.ttl,
            expire_time=now + renewal.ttl,
            last_renewal=now,
            renewable=renewal.renewable,
        )
        await self._save(renewed)
        return renewal

    async def revoke(self, lease_id: str, *, sync: bool = True) -> None:
        """Revoke one lease now (sync), or mark it for the timer to revoke. Unknown IDs are not an error."""
        lease = await self._load(lease_id)
        if lease is None:
            return
        if not sync:
            self._expire_soon(lease.lease_id)
            return
        await self._revoke_entry(lease, force=False, reason="failed to revoke entry")

    async def revoke_prefix(self, prefix: str, *, sync: bool = True, force: bool = False) -> int:
        """Revoke every lease under `prefix`; return how many. With `force`, backend errors are ignored
        and the records removed anyway (Vault's revoke-force, for a backend that cannot revoke)."""
        folder = prefix if prefix.endswith("/") else prefix + "/"
        leases = [lease async for lease in self._walk(folder)] if is_safe_path(folder) else []
        for lease in leases:
            if sync or force:
                await self._revoke_entry(lease, force=force, reason="failed to revoke entry")
            else:
                self._expire_soon(lease.lease_id)
        return len(leases)

    async def tidy(self) -> int:
        """Remove what outlived its token: token leases of vanished tokens, secrets of vanished tokens
        (revoked, backend errors ignored), and dangling token-index entries. Returns how many were fixed."""
        fixed = 0
        async for lease in self._walk(""):
            if not lease.token_hash or await self._tokens.lookup_hash(lease.token_hash) is not None:
                continue
            if lease.kind is LeaseKind.TOKEN:
                await self._forget(lease.lease_id)
            else:
                await self._revoke_entry(lease, force=True)
            fixed += 1
        for token_dir in await self._storage.list("token/"):
            for digest in await self._storage.list(f"token/{token_dir}"):
                raw = await self._storage.get(f"token/{token_dir}{digest}")
                if raw is None or await self._load(raw.decode()) is None:
                    await self._storage.delete(f"token/{token_dir}{digest}")
                    fixed += 1
        return fixed

    # Internals

    async def _revoke_entry(self, lease: LeaseEntry, *, force: bool, reason: str = "") -> None:
        try:
            if lease.kind is LeaseKind.TOKEN:
                await self._tokens.revoke(lease.token_hash)
            else:
                await self._secrets.revoke_secret(lease)
        except Exception as exc:
            if not force:
                if reason:
                    raise InvalidRequestError(f"{reason}: {_describe(exc)}") from None
                raise
            log.warning("lease %s: backend revocation failed (%s); removed by force", lease.lease_id,
                        _describe(exc))  # fmt: skip
        if lease.kind is LeaseKind.SECRET and lease.token_hash:
            await self._storage.delete(_token_key(lease.token_hash, lease.lease_id))
        await self._forget(lease.lease_id)

    async def _forget(self, lease_id: str) -> None:
        self._queue.cancel(lease_id)
        self._attempts.pop(lease_id, None)
        key = _id_key(lease_id)
        if key is not None:
            await self._storage.delete(key)

    def _schedule(self, lease: LeaseEntry) -> None:
        if lease.expire_time is None:
            self._queue.cancel(lease.lease_id)
            return
        self._queue.schedule(lease.lease_id, lease.expire_time)
        if lease.expire_time < self._wakes_at:
            self._wake.set()

    def _expire_soon(self, lease_id: str) -> None:
        # Counted as a first failed attempt, so the timer revokes it although its expiry is still ahead.
        self._attempts.setdefault(lease_id, 0)
        self._queue.schedule(lease_id, self._clock.now())
        self._wake.set()

    def _retry_later(self, lease_id: str, exc: Exception) -> None:
        attempts = self._attempts.get(lease_id, 0) + 1
        if attempts >= MAX_REVOKE_ATTEMPTS:
            self._attempts.pop(lease_id, None)
            log.error("lease %s: revocation failed %d times (%s); giving up until revoke-force or tidy",
                      lease_id, attempts, _describe(exc))  # fmt: skip
            return
        self._attempts[lease_id] = attempts
        log.warning("lease %s: revocation failed (%s); retrying", lease_id, _describe(exc))
        self._queue.schedule(lease_id, self._clock.now() + 2**attempts)
        self._wake.set()

    async def _walk(self, folder: str) -> AsyncIterator[LeaseEntry]:
        pending = [folder]
        while pending:
            current = pending.pop()
            for child in await self._storage.list("id/" + current):
                if child.endswith("/"):
                    pending.append(current + child)
                    continue
                lease = await self._load(current + child)
                if lease is not None:
                    yield lease

    async def _load(self, lease_id: str) -> LeaseEntry | None:
        key = _id_key(lease_id)
        raw = None if key is None else await self._storage.get(key)
        return None if raw is None else LeaseEntry.from_json(orjson.loads(raw))

    async def _save(self, lease: LeaseEntry) -> None:
        key, value = self.stored_form(lease)
        await self._storage.put(key, value)
        self._schedule(lease)


def _id_key(lease_id: str) -> str | None:
    """The storage key of a lease ID, or None for an ID no lease can have (empty, climbing, a folder)."""
    if not lease_id or lease_id.endswith("/") or not is_safe_path(lease_id):
        return None
    return "id/" + lease_id


def _token_key(token_hash: str, lease_id: str) -> str:
    return f"token/{token_hash}/{hashlib.sha256(lease_id.encode()).hexdigest()}"


def _describe(exc: BaseException) -> str:
    # A RequestError's text is written for clients and carries no secret; anything else is named only.
    return "; ".join(exc.errors) if isinstance(exc, RequestError) else type(exc).__name__
