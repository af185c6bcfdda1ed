"""The token store: creates, finds, uses, renews and revokes tokens, keyed only by salted hashes.

Layer: tokens (a service). Imports logical, crypto, util, errors and the stdlib (secrets).

Storage layout (inside the store's own view):
    salt                            32 random bytes, created once
    id/<hash>                       the TokenEntry as JSON
    accessor/<hash of accessor>     {"accessor": ..., "id_hash": ...}
    parent/<parent hash>/<hash>     an empty marker: the parent -> child index that revocation walks

Invariant: a token ID is never written to storage, logged or put in an error; only HMAC-SHA256(salt, ID) is.
Invariant: revoking a token revokes all its descendants first (depth first); no child outlives its parent.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import orjson

from strongroom.crypto.hmac import SaltedHasher
from strongroom.errors import InvalidRequestError
from strongroom.logical import Storage, write_together
from strongroom.tokens.model import REVOCATION_PENDING, TokenEntry, TokenParams, TokenType
from strongroom.tokens.ttl import calculate_ttl
from strongroom.util import ids
from strongroom.util.clock import Clock

RevocationHook = Callable[[TokenEntry], Awaitable[None]]

_SALT_KEY = "salt"
_SALT_SIZE = 32
# Decoded token entries remembered (see TokenStore._load).
DECODED_ENTRIES = 4096


@dataclass(frozen=True, slots=True)
class Renewal:
    """A renewed token and the warnings Vault attaches when the TTL was capped."""

    entry: TokenEntry
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token worked out but not stored: its ID (shown once), its entry, and the records to write."""

    token_id: str = field(repr=False)
    entry: TokenEntry
    puts: dict[str, bytes] = field(repr=False)


class TokenStore:
    """Token lifecycle over one Storage. Call `initialize()` once before the synchronous `hash()`."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self._hasher: SaltedHasher | None = None
        self._hooks: list[RevocationHook] = []
        # Limited uses are taken one request at a time, so two requests never both take the same use.
        self._uses = asyncio.Lock()
        # The entry last decoded from each stored value: a token is read on every one of its requests.
        # The stored bytes stay the truth; an entry is reused only while they are unchanged.
        self._decoded: dict[str, tuple[bytes, TokenEntry]] = {}

    def __repr__(self) -> str:
        return "TokenStore(<storage>)"

    @property
    def clock(self) -> Clock:
        """The clock token times are read from."""
        return self._clock

    @property
    def storage(self) -> Storage:
        """The store's view, shared with the token roles kept beside the tokens."""
        return self._storage

    async def initialize(self) -> None:
        """Load the salt, creating it on first use."""
        if self._hasher is not None:
            return
        salt = await self._storage.get(_SALT_KEY)
        if salt is None:
            salt = secrets.token_bytes(_SALT_SIZE)
            await self._storage.put(_SALT_KEY, salt)
        self._hasher = SaltedHasher(salt)

    def hash(self, token_id: str) -> str:
        """The salted hash that keys `token_id` (or an accessor) in storage."""
        if self._hasher is None:
            raise RuntimeError("TokenStore.initialize() has not run")
        return "h" + self._hasher.hex(token_id)

    def add_revocation_hook(self, hook: RevocationHook) -> None:
        """Run `hook` for every token just before it is deleted (the core drops its cubbyhole and leases)."""
        self._hooks.append(hook)

    async def create(self, params: TokenParams, token_id: str | None = None) -> tuple[str, TokenEntry]:
        """Store a new token; return its ID (shown once, never stored) and its entry.

        A given `token_id` (root or sudo callers, the dev root token) must be new and carry no "." prefix.
        """
        new = await self.prepare(params, token_id)
        await write_together(self._storage, new.puts)
        return new.token_id, new.entry

    async def prepare(self, params: TokenParams, token_id: str | None = None) -> NewToken:
        """What `create` stores, not yet stored: for a caller that writes it together with other records
        (`puts` are keys of this store's view)."""
        await self.initialize()
        custom = token_id is not None
        if token_id is not None:
            _check_custom_id(token_id)
        elif params.type is TokenType.BATCH:
            token_id = ids.batch_token_id()
        else:
            token_id = ids.service_token_id()
        id_hash = self.hash(token_id)
        if custom and await self._storage.get(_id_key(id_hash)) is not None:
            raise InvalidRequestError("cannot create a token with a duplicate ID")
        if params.parent_hash and await self._load(params.parent_hash) is None:
            raise InvalidRequestError("parent token not found")
        now = self._clock.now()
        entry = TokenEntry(
            id_hash=id_hash,
            # Vault's batch tokens have no accessor: they cannot be looked up or revoked by one.
            accessor="" if params.type is TokenType.BATCH else ids.accessor_id(),
            policies=params.policies,
            parent_hash=params.parent_hash,
            meta=None if params.meta is None else dict(params.meta),
            display_name=params.display_name,
            num_uses=params.num_uses,
            creation_time=now,
            creation_ttl=params.ttl,
            ttl=params.ttl,
            expire_time=now + params.ttl if params.ttl > 0 else None,
            explicit_max_ttl=params.explicit_max_ttl,
            period=params.period,
            renewable=params.renewable and params.ttl > 0 and params.type is TokenType.SERVICE,
            type=params.type,
            path=params.path,
            role=params.role,
            entity_id=params.entity_id,
            bound_cidrs=params.bound_cidrs,
            max_ttl=params.max_ttl,
        )
        # One atomic write where the storage offers one. Elsewhere the parent index goes first (a dangling
        # index is harmless, a child missing from it would escape its parent's revocation), the entry last.
        puts: dict[str, bytes] = {}
        if entry.parent_hash:
            puts[_parent_key(entry.parent_hash, id_hash)] = b""
        if entry.accessor:
            puts[_accessor_key(self.hash(entry.accessor))] = _accessor_record(entry)
        puts[_id_key(id_hash)] = orjson.dumps(entry.to_json())
        return NewToken(token_id, entry, puts)

    async def lookup(self, token_id: str, *, include_pending: bool = False) -> TokenEntry | None:
        """The live entry of `token_id`, or None (unknown, expired, or fully used unless include_pending)."""
        if not token_id:
            return None
        await self.initialize()
        return await self._live(self.hash(token_id), include_pending=include_pending)

    async def lookup_hash(self, id_hash: str, *, include_pending: bool = False) -> TokenEntry | None:
        """Like `lookup`, by the salted hash."""
        await self.initialize()
        return await self._live(id_hash, include_pending=include_pending)

    async def use(self, token_id: str) -> TokenEntry | None:
        """Authenticate one request: lookup, then take one use from a limited-use token.

        The last use leaves the entry with num_uses == REVOCATION_PENDING: no later lookup finds it, and the
        core revokes it (`revoke(entry.id_hash)`) once the current request is done.
        """
        entry = await self.lookup(token_id)
        if entry is None or entry.num_uses == 0:
            return entry
        async with self._uses:
            entry = await self.lookup(token_id)  # again: another request may have taken a use meanwhile
            if entry is None or entry.num_uses == 0:
                return entry
            remaining = REVOCATION_PENDING if entry.num_uses == 1 else entry.num_uses - 1
            entry = replace(entry, num_uses=remaining)
            await self._save(entry)
            return entry

    async def lookup_accessor(self, accessor: str) -> TokenEntry | None:
        """The live entry whose accessor is `accessor`, or None."""
        if not accessor:
            return None
        await self.initialize()
        raw = await self._storage.get(_accessor_key(self.hash(accessor)))
        if raw is None:
            return None
        return await self._live(orjson.loads(raw)["id_hash"], include_pending=True)

    async def list_accessors(self) -> list[str]:
        """Every accessor in the index, sorted."""
        accessors: list[str] = []
        for key in await self._storage.list("accessor/"):
            raw = await self._storage.get("accessor/" + key)
            if raw is not None:
                accessors.append(orjson.loads(raw)["accessor"])
        return sorted(accessors)

    async def count_by_type(self) -> dict[str, int]:
        """Stored tokens by type, from the key listings alone (only service tokens have accessors)."""
        stored = len(await self._storage.list("id/"))
        service = len(await self._storage.list("accessor/"))
        return {TokenType.SERVICE.value: service, TokenType.BATCH.value: max(stored - service, 0)}

    async def renew(
        self,
        entry: TokenEntry,
        increment: int,
        max_ttl_cap: int,
        *,
        period: int | None = None,
        explicit_max_ttl: int | None = None,
        backend_ttl: int | None = None,
        max_ttl: int | None = None,
    ) -> Renewal:
        """Extend a token's lease by Vault's rules; `period`/`explicit_max_ttl` override the entry's (roles),
        `backend_ttl`/`max_ttl` the login's (its auth method's terms now).

        Refused for batch tokens, non-expiring or non-renewable tokens, and tokens past their maximum.
        """
        self.ensure_renewable(entry)
        # A login's token (it alone records a max_ttl) renews the way Vault's auth methods renew theirs: the
        # login's own TTL and maximum again, not the last, possibly capped, TTL.
        login_ttl = entry.creation_ttl if entry.max_ttl else entry.ttl
        login_max = entry.max_ttl if max_ttl is None else max_ttl
        now = self._clock.now()
        result = calculate_ttl(
            now=now,
            start_time=entry.creation_time,
            increment=increment,
            backend_ttl=login_ttl if backend_ttl is None else backend_ttl,
            period=entry.period if period is None else period,
            explicit_max_ttl=entry.explicit_max_ttl if explicit_max_ttl is None else explicit_max_ttl,
            default_ttl=max_ttl_cap,
            max_ttl=min(login_max, max_ttl_cap) if login_max else max_ttl_cap,
        )
        renewed = replace(entry, ttl=result.ttl, expire_time=now + result.ttl, last_renewal_time=now)
        await self._save(renewed)
        return Renewal(renewed, result.warnings)

    def ensure_renewable(self, entry: TokenEntry) -> None:
        """InvalidRequestError, in Vault's words, when `entry` cannot be renewed whatever its issuer says."""
        if entry.type is TokenType.BATCH:
            raise InvalidRequestError("batch tokens cannot be renewed")
        if entry.expire_time is None or not entry.renewable:
            raise InvalidRequestError("lease is not renewable")
        if entry.expired(self._clock.now()):
            raise InvalidRequestError("lease expired")

    async def revoke(self, id_hash: str) -> None:
        """Revoke the token and all its descendants, children before parents."""
        stack = [id_hash]
        seen = {id_hash}
        while stack:
            current = stack[-1]
            children = [c for c in await self._storage.list(_children_prefix(current)) if c not in seen]
            if children:
                seen.update(children)
                stack.extend(children)
                continue
            await self._revoke_one(current)
            stack.pop()

    async def revoke_orphan(self, id_hash: str) -> None:
        """Revoke only this token: its service children become orphans, its batch children die with it."""
        for child_hash in await self._storage.list(_children_prefix(id_hash)):
            child = await self._load(child_hash)
            if child is not None and child.type is TokenType.BATCH:
                await self._revoke_one(child_hash)
                continue
            if child is not None:
                await self._save(replace(child, parent_hash=""))
            await self._storage.delete(_parent_key(id_hash, child_hash))
        await self._revoke_one(id_hash)

    async def tidy(self) -> int:
        """Remove dangling index entries and orphan children of vanished parents; return how many fixed."""
        fixed = 0
        for parent_dir in await self._storage.list("parent/"):
            parent_hash = parent_dir.rstrip("/")
            parent_exists = await self._load(parent_hash) is not None
            for child_hash in await self._storage.list(_children_prefix(parent_hash)):
                child = await self._load(child_hash)
                if child is not None and parent_exists:
                    continue
                if child is not None:
                    await self._save(replace(child, parent_hash=""))
                await self._storage.delete(_parent_key(parent_hash, child_hash))
                fixed += 1
        for key in await self._storage.list("accessor/"):
            raw = await self._storage.get("accessor/" + key)
            if raw is None or await self._load(orjson.loads(raw)["id_hash"]) is None:
                await self._storage.delete("accessor/" + key)
                fixed += 1
        return fixed

    async def _live(self, id_hash: str, *, include_pending: bool) -> TokenEntry | None:
        entry = await self._load(id_hash)
        if entry is None:
            return None
        if entry.revocation_pending and not include_pending:
            return None
        if entry.expired(self._clock.now()):
            await self.revoke(id_hash)
            return None
        # A batch token dies with its parent even if a revoke-orphan left it unlinked.
        orphaned_batch = entry.type is TokenType.BATCH and entry.parent_hash
        if orphaned_batch and await self._load(entry.parent_hash) is None:
            return None
        return entry

    async def _revoke_one(self, id_hash: str) -> None:
        entry = await self._load(id_hash)
        if entry is None:
            return
        for hook in self._hooks:
            await hook(entry)
        if entry.parent_hash:
            await self._storage.delete(_parent_key(entry.parent_hash, id_hash))
        if entry.accessor:
            await self._storage.delete(_accessor_key(self.hash(entry.accessor)))
        await self._storage.delete(_id_key(id_hash))

    async def _load(self, id_hash: str) -> TokenEntry | None:
        raw = await self._storage.get(_id_key(id_hash))
        if raw is None:
            return None
        known = self._decoded.get(id_hash)
        if known is not None and known[0] == raw:
            return known[1]
        entry = TokenEntry.from_json(orjson.loads(raw))
        if len(self._decoded) >= DECODED_ENTRIES:
            del self._decoded[next(iter(self._decoded))]  # the oldest first
        self._decoded[id_hash] = (raw, entry)
        return entry

    async def _save(self, entry: TokenEntry) -> None:
        await self._storage.put(_id_key(entry.id_hash), orjson.dumps(entry.to_json()))


def _check_custom_id(token_id: str) -> None:
    if token_id.startswith("hvs."):
        raise InvalidRequestError("custom token ID cannot have the 'hvs.' prefix")
    if token_id.startswith("s."):
        raise InvalidRequestError("custom token ID cannot have the 's.' prefix")
    if "." in token_id:
        raise InvalidRequestError("custom token ID cannot have a '.' in the value")
    if not token_id:
        raise InvalidRequestError("custom token ID cannot be empty")


def _accessor_record(entry: TokenEntry) -> bytes:
    return orjson.dumps({"accessor": entry.accessor, "id_hash": entry.id_hash})


def _id_key(id_hash: str) -> str:
    return "id/" + id_hash


def _accessor_key(accessor_hash: str) -> str:
    return "accessor/" + accessor_hash


def _children_prefix(parent_hash: str) -> str:
    return f"parent/{parent_hash}/"


def _parent_key(parent_hash: str, child_hash: str) -> str:
    return f"parent/{parent_hash}/{child_hash}"
