"""A KV v1 mount's secrets become version 1 of their keys when a v2 engine starts on its storage."""

from __future__ import annotations

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.builtin.secrets.kv.store import KVStore
from strongroom.builtin.secrets.kv.upgrade import upgrade_v1_layout
from strongroom.logical import BackendConfig, Operation, Request
from strongroom.logical.storage import InmemStorage, get_json, put_json
from strongroom.util.clock import ManualClock


async def test_v1_secrets_become_version_one() -> None:
    storage = InmemStorage()
    await put_json(storage, "db", {"password": "p"})
    await put_json(storage, "app/nested/key", {"a": 1})
    clock = ManualClock(1_700_000_000.0)

    assert await upgrade_v1_layout(storage, clock) == 2

    store = KVStore(storage)
    for key, data in (("db", {"password": "p"}), ("app/nested/key", {"a": 1})):
        meta = await store.metadata(key)
        assert meta is not None
        assert (meta.current_version, meta.created_time) == (1, 1_700_000_000.0)
        assert meta.versions[1].deletion_time is None
        assert await store.version_data(key, 1) == data
        assert await get_json(storage, key) is None
    assert await store.list_keys("") == ["app/", "db"]
    assert await store.list_keys("app/nested/") == ["key"]


async def test_a_v2_layout_is_left_alone() -> None:
    storage = InmemStorage()
    await upgrade_v1_layout(storage, ManualClock())
    await put_json(storage, "db", {"password": "p"})
    await upgrade_v1_layout(storage, ManualClock())
    before = {key: await storage.get(key) for key in await storage.list("metadata/")}
    assert await upgrade_v1_layout(storage, ManualClock()) == 0
    assert {key: await storage.get(key) for key in await storage.list("metadata/")} == before


async def test_the_v2_engine_upgrades_when_it_starts() -> None:
    storage = InmemStorage()
    await put_json(storage, "db", {"password": "p"})
    config = BackendConfig(storage=storage, mount_type="kv", options={"version": "2"}, clock=ManualClock())
    backend = await SECRETS_ENGINES["kv"](config)
    await backend.initialize()
    response = await backend.handle(Request(operation=Operation.READ, path="data/db", storage=storage))
    assert response is not None
    assert response.data is not None
    assert response.data["data"] == {"password": "p"}
    assert response.data["metadata"]["version"] == 1
