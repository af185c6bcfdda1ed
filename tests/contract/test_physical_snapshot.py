"""The snapshot extra of every registered backend: a consistent copy of all entries, a wholesale swap."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.postgres import Postgres

from strongroom.errors import InvalidRequestError
from strongroom.physical.base import PhysicalBackend
from strongroom.physical.cache import CachedBackend
from strongroom.physical.registry import BACKENDS
from strongroom.physical.snapshot import Snapshottable

KEYS = ("a", "b/c", "b/d/e", "core/keyring", "logical/x/ü/🔑", "z")


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Snapshottable]:
    config = {"path": str(tmp_path / "strongroom.db")}
    if request.param == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        config = {"connection_url": server.url(), "table": f"kv_{uuid.uuid4().hex}"}
    opened = await BACKENDS[request.param](config)
    assert isinstance(opened, Snapshottable)
    yield opened
    assert isinstance(opened, PhysicalBackend)
    await opened.close()


def _physical(backend: Snapshottable) -> PhysicalBackend:
    assert isinstance(backend, PhysicalBackend)
    return backend


async def test_snapshot_entries_are_every_entry_sorted(backend: Snapshottable) -> None:
    for key in reversed(KEYS):
        await _physical(backend).put(key, key.encode() + b"\x00\xff")
    entries = await backend.snapshot_entries()
    assert sorted(entries) == [(key, key.encode() + b"\x00\xff") for key in sorted(KEYS)]


async def test_replace_all_swaps_everything(backend: Snapshottable) -> None:
    physical = _physical(backend)
    await physical.put("old/key", b"old")
    await physical.put("b/stays-not", b"old")
    await backend.replace_all([(key, key.encode()) for key in KEYS])
    assert await physical.get("old/key") is None
    assert await physical.get("b/d/e") == b"b/d/e"
    assert await physical.list("") == ["a", "b/", "core/", "logical/", "z"]
    assert await physical.list("b/") == ["c", "d/"]
    await backend.replace_all([])
    assert await backend.snapshot_entries() == []


async def test_replace_all_with_a_bad_key_changes_nothing(backend: Snapshottable) -> None:
    await _physical(backend).put("keep", b"1")
    with pytest.raises(InvalidRequestError):
        await backend.replace_all([("fine", b"1"), ("bad\x00key", b"2")])
    assert await backend.snapshot_entries() == [("keep", b"1")]


async def test_a_snapshot_sees_each_transaction_whole_while_writes_continue(backend: Snapshottable) -> None:
    physical = _physical(backend)
    assert hasattr(physical, "transaction")
    stop = asyncio.Event()

    async def writer() -> int:
        n = 0
        while not stop.is_set():
            n += 1
            value = str(n).encode()
            await physical.transaction({f"pair/{i}": value for i in range(20)}, [])  # type: ignore[attr-defined]
            await asyncio.sleep(0)  # in memory, a write never yields by itself
        return n

    task = asyncio.create_task(writer())
    seen = set()
    for _ in range(20):
        entries = dict(await backend.snapshot_entries())
        values = {entries.get(f"pair/{i}") for i in range(20)}
        assert len(values) == 1, values
        seen |= values
        await asyncio.sleep(0.005)
    stop.set()
    written = await task
    assert written > 1
    assert len(seen) > 1


async def test_a_cache_in_front_forgets_what_a_swap_replaced(backend: Snapshottable) -> None:
    inner = _physical(backend)
    cached = CachedBackend(inner, 100)  # type: ignore[arg-type]
    await cached.put("a", b"cached")
    assert await cached.get("a") == b"cached"
    await cached.replace_all([("a", b"restored")])
    assert await cached.get("a") == b"restored"
    assert await cached.snapshot_entries() == [("a", b"restored")]
