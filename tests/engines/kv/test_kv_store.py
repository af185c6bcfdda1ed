"""KVStore.add_version: what a write stores, and the decoded metadata it keeps for the next request."""

from __future__ import annotations

from strongroom.builtin.secrets.kv.models import KeyMetadata, KVConfig
from strongroom.builtin.secrets.kv.store import DecodedMetadata, KVStore
from strongroom.builtin.secrets.kv.versions import add_version, new_metadata, soft_delete
from strongroom.logical.storage import InmemStorage


async def test_a_write_stores_version_and_metadata_and_drops_the_pruned() -> None:
    storage = InmemStorage()
    store = KVStore(storage, DecodedMetadata())
    config = KVConfig(max_versions=2)
    meta = new_metadata(100.0)
    for n in range(1, 4):
        meta, pruned = add_version(meta, 100.0 + n, None, config)
        await store.add_version("app", {"n": n}, meta, pruned)
    assert sorted(meta.versions) == [2, 3]
    assert [await store.version_data("app", n) for n in (1, 2, 3)] == [None, {"n": 2}, {"n": 3}]
    # A store without the decoded records reads what was stored, not what was kept.
    assert await KVStore(storage).metadata("app") == meta


async def test_the_written_metadata_is_kept_decoded_and_equals_its_stored_form() -> None:
    storage = InmemStorage()
    store = KVStore(storage, DecodedMetadata())
    config = KVConfig(delete_version_after=60)
    meta: KeyMetadata = new_metadata(100.5)
    for n in range(1, 13):
        meta, pruned = add_version(meta, 100.5 + n / 7, 160.5 + n, config)
        if n == 5:
            meta = soft_delete(meta, [4], 110.25)
        await store.add_version("app/key", {"n": n}, meta, pruned)
        # The next request on the key decodes nothing: it gets what the write kept...
        assert await store.metadata("app/key") is meta
        # ...which is exactly what decoding the stored record gives.
        assert await KVStore(storage).metadata("app/key") == meta
    assert meta.current_version == 12
    assert meta.oldest_version == 3


async def test_kept_metadata_is_not_used_once_the_stored_record_changed() -> None:
    storage = InmemStorage()
    store = KVStore(storage, DecodedMetadata())
    meta, _ = add_version(new_metadata(1.0), 1.0, None, KVConfig())
    await store.add_version("app", {"n": 1}, meta)
    changed = soft_delete(meta, [1], 2.0)
    # Another writer of the same storage (a store without this cache) changes the record.
    await KVStore(storage).put_metadata("app", changed)
    assert await store.metadata("app") == changed
