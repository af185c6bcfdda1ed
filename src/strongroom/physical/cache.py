"""A read cache in front of a physical backend: Vault's physical cache (`cache_size`, `disable_cache`).

Layer: physical. Imports the base and snapshot Protocols, errors and the standard library only.

Values are cached by key, absent keys too (most reads of a token or lease that does not exist repeat);
lists are not. What is cached is what the backend holds: barrier ciphertext, never plaintext.

Coherence: while a server serves, it is the only writer (a standby forwards writes to the active server),
so every write passes through here and updates the cache. An HA server stops caching when it stands by
and starts with an empty cache when it becomes active, since the previous active server wrote meanwhile.
A read that overlaps a write is not cached, so a slow read can never put an older value back.
"""

from __future__ import annotations

import builtins
from collections import OrderedDict
from collections.abc import Awaitable
from typing import Protocol

from strongroom.errors import StorageError
from strongroom.physical.base import PhysicalBackend, Transactional
from strongroom.physical.snapshot import Snapshottable


class Backend(PhysicalBackend, Transactional, Protocol):
    """What can be cached: every backend here is both."""


class CachedBackend:
    """PhysicalBackend and Transactional over `inner` (which is both), with an LRU of `size` entries."""

    def __init__(self, inner: Backend, size: int, *, enabled: bool = True) -> None:
        self.inner = inner
        self._size = max(size, 1)
        self._enabled = enabled
        self._entries: OrderedDict[str, bytes | None] = OrderedDict()
        # Bumped before and after every write: a read that saw it change overlapped a write.
        self._writes = 0

    def start_caching(self) -> None:
        """Cache from now on, starting empty (another server may have written while this one stood by)."""
        self._entries.clear()
        self._enabled = True

    def stop_caching(self) -> None:
        """Read through from now on: another server may write."""
        self._enabled = False
        self._entries.clear()

    async def get(self, key: str) -> bytes | None:
        if self._enabled and key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        writes = self._writes
        value = await self.inner.get(key)
        if self._enabled and writes == self._writes:
            self._remember(key, value)
        return value

    async def put(self, key: str, value: bytes) -> None:
        await self._write({key: value}, [], self.inner.put(key, value))

    async def delete(self, key: str) -> None:
        await self._write({}, [key], self.inner.delete(key))

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        await self._write(puts, deletes, self.inner.transaction(puts, deletes))

    async def list(self, prefix: str) -> builtins.list[str]:
        return await self.inner.list(prefix)

    async def list_page(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        return await self.inner.list_page(prefix, after, limit)

    async def snapshot_entries(self) -> builtins.list[tuple[str, bytes]]:
        if not isinstance(self.inner, Snapshottable):
            raise StorageError(f"{type(self.inner).__name__} cannot take snapshots")
        return await self.inner.snapshot_entries()

    async def replace_all(self, entries: builtins.list[tuple[str, bytes]]) -> None:
        if not isinstance(self.inner, Snapshottable):
            raise StorageError(f"{type(self.inner).__name__} cannot restore snapshots")
        # Every key may change: nothing cached may outlive the swap, nor a read that overlapped it.
        self._writes += 1
        try:
            await self.inner.replace_all(entries)
        finally:
            self._entries.clear()
            self._writes += 1

    async def close(self) -> None:
        await self.inner.close()

    async def _write(
        self, puts: dict[str, bytes], deletes: builtins.list[str], write: Awaitable[None]
    ) -> None:
        self._writes += 1
        try:
            await write
        except BaseException:
            # The write may or may not have reached the backend: forget what it touched.
            for key in [*puts, *deletes]:
                self._entries.pop(key, None)
            raise
        finally:
            self._writes += 1
        if self._enabled:
            for key, value in puts.items():
                self._remember(key, value)
            for key in deletes:
                self._remember(key, None)

    def _remember(self, key: str, value: bytes | None) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self._size:
            self._entries.popitem(last=False)
