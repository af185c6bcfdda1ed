"""Barrier views: prefixing, sub-views, clearing, and refusal of keys that climb out."""

from __future__ import annotations

import pytest

from strongroom.barrier.aes_gcm import AESGCMBarrier
from strongroom.barrier.view import BarrierView, write_views
from strongroom.errors import InvalidKeyError, InvalidRequestError, StorageError
from strongroom.logical.storage import InmemStorage
from strongroom.physical.inmem import InmemBackend


@pytest.fixture
def storage() -> InmemStorage:
    return InmemStorage()


async def test_keys_land_under_the_prefix(storage: InmemStorage) -> None:
    view = BarrierView(storage, "logical/abc/")
    await view.put("config", b"1")
    await view.put("roles/r1", b"2")
    assert storage.data == {"logical/abc/config": b"1", "logical/abc/roles/r1": b"2"}
    assert await view.get("roles/r1") == b"2"
    assert await view.list("") == ["config", "roles/"]
    assert await view.list("roles/") == ["r1"]
    await view.delete("config")
    assert await view.get("config") is None


async def test_views_do_not_see_each_other(storage: InmemStorage) -> None:
    first = BarrierView(storage, "logical/a/")
    second = BarrierView(storage, "logical/ab/")
    await first.put("k", b"first")
    await second.put("k", b"second")
    assert await first.get("k") == b"first"
    assert await first.list("") == ["k"]
    assert await second.get("k") == b"second"


async def test_sub_view_narrows(storage: InmemStorage) -> None:
    view = BarrierView(storage, "logical/abc/").sub_view("token/xyz/")
    assert view.prefix == "logical/abc/token/xyz/"
    await view.put("k", b"v")
    assert storage.data == {"logical/abc/token/xyz/k": b"v"}


@pytest.mark.parametrize("key", ["../other/k", "a/../../k", "..", "./k", "a/./b", ""])
async def test_climbing_keys_are_refused(storage: InmemStorage, key: str) -> None:
    view = BarrierView(storage, "logical/abc/")
    with pytest.raises(InvalidKeyError, match=r"relative paths not supported|invalid storage key"):
        await view.put(key, b"v")
    with pytest.raises(InvalidKeyError, match=r"relative paths not supported|invalid storage key"):
        await view.get(key)
    with pytest.raises(InvalidKeyError, match=r"relative paths not supported|invalid storage key"):
        await view.delete(key)
    assert storage.data == {}


@pytest.mark.parametrize("prefix", ["../", "a/../", "../../logical/"])
async def test_climbing_prefixes_are_refused(storage: InmemStorage, prefix: str) -> None:
    view = BarrierView(storage, "logical/abc/")
    with pytest.raises(InvalidKeyError, match="relative paths not supported"):
        await view.list(prefix)
    with pytest.raises(InvalidKeyError, match="relative paths not supported"):
        view.sub_view(prefix)


def test_prefix_must_be_a_folder(storage: InmemStorage) -> None:
    with pytest.raises(StorageError, match="must end with '/'"):
        BarrierView(storage, "logical/abc")
    with pytest.raises(StorageError, match="must end with '/'"):
        BarrierView(storage, "logical/").sub_view("abc")


async def test_clear_removes_everything_under_the_prefix_only(storage: InmemStorage) -> None:
    storage.data = {
        "logical/abc/a": b"",
        "logical/abc/b/c": b"",
        "logical/abc/b/d/e/f": b"",
        "logical/abcd/keep": b"",
        "logical/keep": b"",
    }
    await BarrierView(storage, "logical/abc/").clear()
    assert sorted(storage.data) == ["logical/abcd/keep", "logical/keep"]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("../k", "relative paths not supported"),
        ("a\x00b", "invalid storage key: control characters are not supported"),
        ("\ud800", "invalid storage key: not valid UTF-8"),
        ("", "invalid storage key: empty"),
    ],
)
async def test_refused_keys_are_bad_requests_that_do_not_quote_the_key(
    storage: InmemStorage, key: str, message: str
) -> None:
    view = BarrierView(storage, "logical/abc/")
    with pytest.raises(InvalidRequestError) as caught:
        await view.put(key, b"v")
    assert caught.value.errors == (message,)


@pytest.mark.parametrize("key", ["a\x00b", "k\n", "\ud800"])
async def test_keys_no_backend_can_hold_are_absent(storage: InmemStorage, key: str) -> None:
    view = BarrierView(storage, "logical/abc/")
    assert await view.get(key) is None
    await view.delete(key)
    assert storage.data == {}


async def test_a_view_transaction_lands_under_the_prefix_or_not_at_all(storage: InmemStorage) -> None:
    # InmemStorage has no transactions: the view's writes go one by one, puts first, in order.
    view = BarrierView(storage, "logical/abc/").sub_view("token/")
    await view.put("old", b"0")
    await view.transaction({"a": b"1", "b/c": b"2"}, ["old"])
    assert storage.data == {"logical/abc/token/a": b"1", "logical/abc/token/b/c": b"2"}
    with pytest.raises(InvalidKeyError):
        await view.transaction({"fresh": b"3", "../../escape": b"4"}, [])
    with pytest.raises(InvalidKeyError):
        await view.transaction({"fresh": b"3"}, ["../a"])
    assert storage.data == {"logical/abc/token/a": b"1", "logical/abc/token/b/c": b"2"}


async def test_a_view_over_the_barrier_writes_in_one_transaction() -> None:
    applied: list[tuple[list[str], list[str]]] = []

    class Recording(InmemBackend):
        async def transaction(self, puts: dict[str, bytes], deletes: list[str]) -> None:
            applied.append((sorted(puts), deletes))
            await super().transaction(puts, deletes)

    barrier = AESGCMBarrier(Recording())
    await barrier.initialize(bytes(32))
    await barrier.unseal(bytes(32))
    view = BarrierView(barrier, "sys/token/")
    await view.transaction({"id/h1": b"entry", "accessor/h2": b"index"}, [])
    assert applied == [(["sys/token/accessor/h2", "sys/token/id/h1"], [])]
    assert await view.get("id/h1") == b"entry"


async def test_write_views_over_one_storage_is_one_atomic_write() -> None:
    physical = InmemBackend()
    tokens, leases = BarrierView(physical, "sys/token/"), BarrierView(physical, "sys/expire/")
    await write_views([(tokens, {"id/h1": b"token"}), (leases, {"id/auth/h1": b"lease"})])
    assert await tokens.get("id/h1") == b"token"
    assert await leases.get("id/auth/h1") == b"lease"
    # A key the second view refuses leaves the first view's record unwritten too.
    with pytest.raises(InvalidKeyError):
        await write_views([(tokens, {"id/h2": b"token"}), (leases, {"id/../h2": b"lease"})])
    assert await tokens.get("id/h2") is None
    assert await physical.list("sys/token/id/") == ["h1"]


async def test_write_views_over_different_storages_writes_each() -> None:
    first, second = InmemStorage(), InmemStorage()
    await write_views([(BarrierView(first, "a/"), {"k": b"1"}), (BarrierView(second, "b/"), {"k": b"2"})])
    assert first.data == {"a/k": b"1"}
    assert second.data == {"b/k": b"2"}
