"""The physical storage contract: one suite that every backend in the registry must pass."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from tests.postgres import Postgres

from strongroom.errors import StorageError
from strongroom.physical.base import PhysicalBackend, Transactional
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.postgresql import PostgreSQLBackend
from strongroom.physical.registry import BACKENDS
from strongroom.physical.sqlite import SQLiteBackend

Opener = Callable[[], Awaitable[PhysicalBackend]]


def _config(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    if name == "postgresql":
        server: Postgres = request.getfixturevalue("postgres")
        return {"connection_url": server.url(), "table": f"kv_{uuid.uuid4().hex}"}
    return {"path": str(tmp_path / "strongroom.db")}


@pytest.fixture(params=sorted(BACKENDS))
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    """A function opening the backend; for a file or a table, the same one every time."""
    config = _config(request.param, request, tmp_path)

    async def open_backend() -> PhysicalBackend:
        return await BACKENDS[request.param](config)

    return open_backend


@pytest.fixture
async def backend(opener: Opener) -> AsyncIterator[PhysicalBackend]:
    opened = await opener()
    yield opened
    await opened.close()


async def _fill(backend: PhysicalBackend, *keys: str) -> None:
    for key in keys:
        await backend.put(key, key.encode())


def test_every_registered_backend_is_covered() -> None:
    assert sorted(BACKENDS) == ["inmem", "postgresql", "sqlite"]


async def test_implements_the_protocols(backend: PhysicalBackend) -> None:
    assert isinstance(backend, PhysicalBackend)
    assert isinstance(backend, Transactional)
    assert isinstance(backend, InmemBackend | SQLiteBackend | PostgreSQLBackend)


async def test_get_missing_is_none(backend: PhysicalBackend) -> None:
    assert await backend.get("nope") is None


async def test_put_get_delete(backend: PhysicalBackend) -> None:
    await backend.put("foo", b"bar")
    assert await backend.get("foo") == b"bar"
    await backend.delete("foo")
    assert await backend.get("foo") is None


async def test_delete_missing_is_not_an_error(backend: PhysicalBackend) -> None:
    await backend.delete("never/was")
    assert await backend.list("") == []


async def test_overwrite_replaces_value(backend: PhysicalBackend) -> None:
    await backend.put("k", b"one")
    await backend.put("k", b"two")
    assert await backend.get("k") == b"two"
    assert await backend.list("") == ["k"]


async def test_binary_and_empty_values_round_trip(backend: PhysicalBackend) -> None:
    every_byte = bytes(range(256)) * 4
    await backend.put("bin", every_byte)
    await backend.put("empty", b"")
    assert await backend.get("bin") == every_byte
    assert await backend.get("empty") == b""


async def test_unicode_keys(backend: PhysicalBackend) -> None:
    await backend.put("secret/café/ключ", b"1")
    await backend.put("secret/日本", b"2")
    assert await backend.get("secret/café/ключ") == b"1"
    assert await backend.list("secret/") == ["café/", "日本"]
    assert await backend.list("secret/café/") == ["ключ"]


async def test_list_immediate_children_with_folders_once(backend: PhysicalBackend) -> None:
    await _fill(backend, "a", "b/c", "b/d/e", "b/d/f", "b/g", "bz", "c/x/y/z")
    assert await backend.list("") == ["a", "b/", "bz", "c/"]
    assert await backend.list("b/") == ["c", "d/", "g"]
    assert await backend.list("b/d/") == ["e", "f"]
    assert await backend.list("c/") == ["x/"]
    assert await backend.list("c/x/y/") == ["z"]
    assert await backend.list("missing/") == []


async def test_list_reports_leaf_and_folder_of_the_same_name(backend: PhysicalBackend) -> None:
    await _fill(backend, "p/x", "p/x/y", "p/x-1", "p/x0")
    assert await backend.list("p/") == ["x", "x-1", "x/", "x0"]


async def test_list_does_not_leak_sibling_prefixes(backend: PhysicalBackend) -> None:
    await _fill(backend, "logical/abc/k", "logical/abcd/k", "logical/ab")
    assert await backend.list("logical/abc/") == ["k"]


async def test_list_of_a_prefix_inside_a_name(backend: PhysicalBackend) -> None:
    await _fill(backend, "p/x", "p/x/y", "p/x-1", "p/x0/z", "p/y", "top", "tops/a")
    assert await backend.list("p/x") == ["-1", "/", "0/"]
    assert await backend.list_page("p/x", "-1", 0) == ["/", "0/"]
    assert await backend.list("top") == ["s/"]
    assert await backend.list("p/q") == []


async def test_keys_with_empty_segments_stay_distinct(backend: PhysicalBackend) -> None:
    await _fill(backend, "x", "/x", "a//b", "a/b")
    assert await backend.get("/x") == b"/x"
    assert await backend.get("x") == b"x"
    assert await backend.list("") == ["/", "a/", "x"]
    assert await backend.list("/") == ["x"]
    assert await backend.list("a/") == ["/", "b"]
    assert await backend.list("a//") == ["b"]


async def test_list_many_children_across_batches(backend: PhysicalBackend) -> None:
    names = [f"n{i:04d}" for i in range(600)]
    await _fill(backend, *(f"many/{name}" for name in names), *(f"many/{n}/deep" for n in names[:300]))
    listed = await backend.list("many/")
    assert listed == sorted(names + [f"{n}/" for n in names[:300]])
    assert len(listed) == 900


async def test_nested_delete_leaves_folder_until_empty(backend: PhysicalBackend) -> None:
    await _fill(backend, "f/a/1", "f/a/2")
    await backend.delete("f/a/1")
    assert await backend.list("f/") == ["a/"]
    await backend.delete("f/a/2")
    assert await backend.list("f/") == []


async def test_list_page(backend: PhysicalBackend) -> None:
    await _fill(backend, "q/a", "q/b/1", "q/b/2", "q/c", "q/d", "q/e/9")
    assert await backend.list_page("q/", "", 0) == ["a", "b/", "c", "d", "e/"]
    assert await backend.list_page("q/", "", 2) == ["a", "b/"]
    assert await backend.list_page("q/", "b/", 2) == ["c", "d"]
    assert await backend.list_page("q/", "b", 0) == ["b/", "c", "d", "e/"]
    assert await backend.list_page("q/", "d", 10) == ["e/"]
    assert await backend.list_page("q/", "e/", 10) == []


async def test_list_page_walks_everything_in_pages(backend: PhysicalBackend) -> None:
    await _fill(backend, *(f"w/{i:03d}" for i in range(25)), "w/010/sub")
    seen: list[str] = []
    after = ""
    while page := await backend.list_page("w/", after, 7):
        seen.extend(page)
        after = page[-1]
    assert seen == await backend.list("w/")
    assert len(seen) == 26


@pytest.mark.parametrize("key", ["../x", "a/../b", "a/..", "./a", "a/./b", "", "a\x00b", "a\nb", "a\ud800"])
async def test_climbing_and_control_keys_are_refused(backend: PhysicalBackend, key: str) -> None:
    with pytest.raises(StorageError):
        await backend.put(key, b"v")
    with pytest.raises(StorageError):
        await backend.get(key)
    with pytest.raises(StorageError):
        await backend.delete(key)


async def test_climbing_prefix_is_refused(backend: PhysicalBackend) -> None:
    with pytest.raises(StorageError):
        await backend.list("a/../")
    with pytest.raises(StorageError):
        await backend.list_page("../", "", 0)


async def test_dots_inside_a_segment_are_fine(backend: PhysicalBackend) -> None:
    await backend.put("leases/a.b..c/x...", b"v")
    assert await backend.get("leases/a.b..c/x...") == b"v"


async def test_transaction_applies_puts_and_deletes(backend: PhysicalBackend) -> None:
    assert isinstance(backend, Transactional)
    await _fill(backend, "t/old", "t/keep")
    await backend.transaction({"t/new": b"n", "t/keep": b"changed"}, ["t/old", "t/absent"])
    assert await backend.list("t/") == ["keep", "new"]
    assert await backend.get("t/keep") == b"changed"


async def test_transaction_is_all_or_nothing(backend: PhysicalBackend) -> None:
    assert isinstance(backend, Transactional)
    await _fill(backend, "t/a")
    with pytest.raises(StorageError):
        await backend.transaction({"t/b": b"b", "t/../escape": b"x"}, ["t/a"])
    assert await backend.list("t/") == ["a"]
    assert await backend.get("t/b") is None


async def test_data_survives_close_and_reopen(opener: Opener) -> None:
    first = await opener()
    if isinstance(first, InmemBackend):
        await first.close()
        pytest.skip("inmem holds nothing across instances by design")
    await first.put("durable/k", b"\x00v")
    assert isinstance(first, Transactional)
    await first.transaction({"durable/t": b"t"}, [])
    await first.close()
    second = await opener()
    try:
        assert await second.get("durable/k") == b"\x00v"
        assert await second.list("durable/") == ["k", "t"]
    finally:
        await second.close()
