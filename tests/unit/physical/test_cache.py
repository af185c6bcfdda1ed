"""The storage read cache: hits, absent keys, LRU eviction, writes kept coherent, reads overlapping writes
never cached, and reading through while another server may write (HA standby)."""

from __future__ import annotations

import asyncio

import pytest

from strongroom.physical.base import ReadCache, Transactional
from strongroom.physical.cache import CachedBackend
from strongroom.physical.inmem import InmemBackend


class CountingBackend(InmemBackend):
    """The in-memory backend, counting reads; `held` makes reads wait until released."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0
        self.held: asyncio.Event | None = None

    async def get(self, key: str) -> bytes | None:
        self.reads += 1
        value = await super().get(key)
        if self.held is not None:
            await self.held.wait()
        return value


async def test_reads_are_served_from_memory_absent_keys_too() -> None:
    inner = CountingBackend()
    await inner.put("a", b"1")
    cache = CachedBackend(inner, 10)
    assert [await cache.get("a"), await cache.get("a"), await cache.get("none"), await cache.get("none")] == [
        b"1",
        b"1",
        None,
        None,
    ]
    assert inner.reads == 2
    assert isinstance(cache, ReadCache)
    assert isinstance(cache, Transactional)


async def test_writes_update_the_cache_and_lists_read_through() -> None:
    inner = CountingBackend()
    cache = CachedBackend(inner, 10)
    await cache.put("a/x", b"1")
    await cache.transaction({"a/y": b"2"}, ["a/x"])
    assert (await cache.get("a/x"), await cache.get("a/y")) == (None, b"2")
    assert inner.reads == 0
    assert await cache.list("a/") == ["y"]
    await cache.delete("a/y")
    assert await cache.get("a/y") is None
    assert await inner.get("a/y") is None


async def test_the_least_recently_used_entry_is_evicted() -> None:
    inner = CountingBackend()
    cache = CachedBackend(inner, 2)
    for key in ("a", "b"):
        await cache.put(key, key.encode())
    await cache.get("a")  # now b is the oldest
    await cache.put("c", b"c")
    reads = inner.reads
    assert (await cache.get("a"), await cache.get("c")) == (b"a", b"c")
    assert inner.reads == reads
    assert await cache.get("b") == b"b"
    assert inner.reads == reads + 1


async def test_a_read_overlapping_a_write_is_not_cached() -> None:
    inner = CountingBackend()
    await inner.put("k", b"old")
    cache = CachedBackend(inner, 10)
    inner.held = asyncio.Event()
    slow_read = asyncio.create_task(cache.get("k"))
    await asyncio.sleep(0)
    await cache.put("k", b"new")
    inner.held.set()
    assert await slow_read == b"old"  # read before the write: its value, but not remembered
    inner.held = None
    assert await cache.get("k") == b"new"


async def test_a_failed_write_forgets_the_key() -> None:
    inner = CountingBackend()
    cache = CachedBackend(inner, 10)
    await cache.put("k", b"1")

    async def failing(puts: dict[str, bytes], deletes: list[str]) -> None:
        raise OSError("disk full")

    inner.transaction = failing  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        await cache.transaction({"k": b"2"}, [])
    reads = inner.reads
    assert await cache.get("k") == b"1"
    assert inner.reads == reads + 1


async def test_a_standby_reads_through_and_an_active_server_starts_empty() -> None:
    inner = CountingBackend()
    await inner.put("k", b"1")
    cache = CachedBackend(inner, 10, enabled=False)
    await cache.get("k")
    await cache.get("k")
    assert inner.reads == 2
    cache.start_caching()
    await cache.get("k")
    await inner.put("k", b"2")  # another server's write, while this one still caches: stale by design
    assert await cache.get("k") == b"1"
    cache.stop_caching()
    assert await cache.get("k") == b"2"
    cache.start_caching()
    assert await cache.get("k") == b"2"
