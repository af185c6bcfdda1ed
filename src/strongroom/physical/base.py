"""The storage contract every physical backend fulfils: five verbs over bytes, plus optional extras.

Keys are slash-separated paths. `list` has Vault's semantics: the immediate children of a prefix, with
sub-folders named once and ending in "/".
"""

from __future__ import annotations

import builtins
from typing import Protocol, runtime_checkable


@runtime_checkable
class PhysicalBackend(Protocol):
    """Untrusted byte storage."""

    async def get(self, key: str) -> bytes | None:
        """The value at `key`, or None."""
        ...

    async def put(self, key: str, value: bytes) -> None:
        """Store `value` at `key` durably before returning."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; a missing key is not an error."""
        ...

    async def list(self, prefix: str) -> builtins.list[str]:
        """Sorted immediate children of `prefix`."""
        ...

    async def list_page(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        """Like `list`, but only children sorting after `after`, at most `limit` of them (limit<=0: all)."""
        ...

    async def close(self) -> None:
        """Release files and connections."""
        ...


@runtime_checkable
class Transactional(Protocol):
    """An optional extra: several writes applied atomically."""

    async def transaction(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        """Apply all `puts` and `deletes` at once, or none of them."""
        ...


@runtime_checkable
class ReadCache(Protocol):
    """An optional extra: a cache of reads, which must read through while another server may write."""

    def start_caching(self) -> None:
        """Cache from now on, starting empty."""
        ...

    def stop_caching(self) -> None:
        """Read through from now on."""
        ...


@runtime_checkable
class HALock(Protocol):
    """The HA leader lock: at most one server holds it; held only while renewed within `ttl` seconds.

    `value` (the holder's api_addr) is stored with the lock, so the others know where the leader is.
    """

    ttl: float
    renew_interval: float

    async def acquire(self) -> bool:
        """One attempt to take the lock, or to renew it when held: True when this server holds it now."""
        ...

    async def release(self) -> None:
        """Give the lock up at once, if held, so another server need not wait out the TTL."""
        ...

    async def holder(self) -> str | None:
        """The value of the server holding the lock now, or None when nobody does."""
        ...

    async def close(self) -> None:
        """Release the lock's own connection."""
        ...


@runtime_checkable
class HABackend(Protocol):
    """An optional extra: storage several servers share, with a lock electing the active one."""

    @property
    def ha_enabled(self) -> bool:
        """True when the configuration switched HA on."""
        ...

    def ha_lock(self, value: str) -> HALock:
        """A lock for this server, stored with `value`."""
        ...
