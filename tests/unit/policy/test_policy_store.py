"""The policy store: persistence, Vault's refusals, listing, the ACL cache and the default policy."""

from __future__ import annotations

import orjson
import pytest

from strongroom.errors import InvalidRequestError
from strongroom.logical import InmemStorage, Operation
from strongroom.policy import DEFAULT_POLICY, PolicyParseError, PolicyStore
from strongroom.util.clock import ManualClock

READ_KV = 'path "kv/*" { capabilities = ["read"] }'


@pytest.fixture
def storage() -> InmemStorage:
    return InmemStorage()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
def store(storage: InmemStorage, clock: ManualClock) -> PolicyStore:
    return PolicyStore(storage, clock=clock)


async def test_put_persists_under_policy_prefix_and_lowercases(
    store: PolicyStore, storage: InmemStorage, clock: ManualClock
) -> None:
    policy = await store.put(" Readers", READ_KV)
    assert (policy.name, policy.raw, policy.version, policy.modified) == ("readers", READ_KV, 1, clock.now())
    assert list(storage.data) == ["policy/readers"]
    assert orjson.loads(storage.data["policy/readers"])["raw"] == READ_KV
    fresh = PolicyStore(storage)
    loaded = await fresh.get("READERS")
    assert loaded is not None
    assert (loaded.name, loaded.raw, loaded.rules, loaded.version) == ("readers", READ_KV, policy.rules, 1)


async def test_put_increments_version(store: PolicyStore) -> None:
    await store.put("a", READ_KV)
    assert (await store.put("a", READ_KV)).version == 2


async def test_get_missing_and_root(store: PolicyStore) -> None:
    assert await store.get("nope") is None
    root = await store.get("root")
    assert root is not None
    assert (root.name, root.raw, root.rules, root.version) == ("root", "", (), 0)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("root", 'cannot update "root" policy'),
        ("ROOT", 'cannot update "root" policy'),
        ("response-wrapping", 'cannot update "response-wrapping" policy'),
    ],
)
async def test_reserved_names_cannot_be_written(store: PolicyStore, name: str, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await store.put(name, READ_KV)
    assert caught.value.errors == (message,)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("root", 'cannot delete "root" policy'),
        ("default", "cannot delete default policy"),
        ("DEFAULT", "cannot delete default policy"),
    ],
)
async def test_reserved_names_cannot_be_deleted(store: PolicyStore, name: str, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await store.delete(name)
    assert caught.value.errors == (message,)


async def test_invalid_policy_is_not_stored(store: PolicyStore, storage: InmemStorage) -> None:
    with pytest.raises(PolicyParseError) as caught:
        await store.put("bad", 'path "a" { capabilities = ["reed"] }')
    assert caught.value.errors == ('failed to parse policy: path "a": path "a": invalid capability "reed"',)
    assert storage.data == {}


async def test_delete_missing_is_fine_and_delete_removes(store: PolicyStore) -> None:
    await store.delete("never-was")
    await store.put("a", READ_KV)
    await store.delete("a")
    assert await store.get("a") is None


async def test_list_includes_root_last(store: PolicyStore) -> None:
    await store.ensure_default()
    for name in ("x", "a/b", "upper"):
        await store.put(name, READ_KV)
    assert await store.list() == ["default", "upper", "x", "a/b", "root"]


async def test_ensure_default_writes_openbao_text_once(store: PolicyStore) -> None:
    await store.ensure_default()
    default = await store.get("default")
    assert default is not None
    assert default.raw == DEFAULT_POLICY
    await store.put("default", READ_KV)
    await store.ensure_default()
    default = await store.get("default")
    assert default is not None
    assert default.raw == READ_KV


async def test_acl_merges_named_policies_and_skips_missing(store: PolicyStore) -> None:
    await store.put("readers", READ_KV)
    await store.put("writers", 'path "kv/*" { capabilities = ["update"] }')
    acl = await store.acl(["readers", "WRITERS", "ghost"])
    assert acl.capabilities("kv/x") == ["read", "update"]
    root = await store.acl(["root"])
    assert root.capabilities("kv/x") == ["root"]


async def test_acl_cache_is_reused_and_invalidated(store: PolicyStore) -> None:
    await store.put("p", READ_KV)
    first = await store.acl(["p"])
    assert await store.acl(["p"]) is first
    await store.put("p", 'path "kv/*" { capabilities = ["deny"] }')
    after_put = await store.acl(["p"])
    assert after_put is not first
    assert not after_put.authorize(Operation.READ, "kv/x", {}).allowed
    await store.delete("p")
    assert (await store.acl(["p"])).capabilities("kv/x") == ["deny"]


async def test_acl_cache_respects_expiration(store: PolicyStore, clock: ManualClock) -> None:
    expiry = "2023-11-15T00:00:00Z"  # 1_700_006_400
    await store.put("p", f'path "kv/*" {{ capabilities = ["read"] expiration = "{expiry}" }}')
    assert (await store.acl(["p"])).capabilities("kv/x") == ["read"]
    clock.advance(6_400)
    assert (await store.acl(["p"])).capabilities("kv/x") == ["deny"]


async def test_acl_cache_is_keyed_by_identity(store: PolicyStore) -> None:
    await store.ensure_default()
    one = await store.acl(["default"], identity={"identity.entity.id": "e1"})
    two = await store.acl(["default"], identity={"identity.entity.id": "e2"})
    assert one.capabilities("identity/entity/id/e1") == ["read"]
    assert two.capabilities("identity/entity/id/e1") == ["deny"]
