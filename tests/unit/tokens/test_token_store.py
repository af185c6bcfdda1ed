"""TokenStore: hashing-only storage, expiry, uses, tree and orphan revocation, accessors, renewal."""

from __future__ import annotations

import asyncio

import pytest

from strongroom.errors import InvalidRequestError
from strongroom.logical import InmemStorage
from strongroom.tokens import REVOCATION_PENDING, TokenEntry, TokenParams, TokenStore, TokenType
from strongroom.util.clock import ManualClock

HOUR = 3600


@pytest.fixture
async def env() -> tuple[TokenStore, InmemStorage, ManualClock]:
    storage = InmemStorage()
    clock = ManualClock()
    store = TokenStore(storage, clock)
    await store.initialize()
    return store, storage, clock


def params(**changes: object) -> TokenParams:
    base: dict[str, object] = {"policies": ("default",), "ttl": HOUR}
    base.update(changes)
    return TokenParams(**base)  # type: ignore[arg-type]


async def test_storage_holds_only_salted_hashes(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, storage, _ = env
    root_id, root = await store.create(TokenParams(policies=("root",)), token_id="rootsecretvalue")
    child_id, child = await store.create(params(parent_hash=root.id_hash))
    batch_id, _ = await store.create(params(type=TokenType.BATCH, parent_hash=root.id_hash))
    blob = b"".join(key.encode() + value for key, value in storage.data.items())
    for token_id in (root_id, child_id, batch_id):
        assert token_id.encode() not in blob
    assert child_id.startswith("s.")
    assert len(child_id) == 26
    assert batch_id.startswith("b.")
    assert child.id_hash == store.hash(child_id)
    assert child.id_hash.startswith("h")
    assert len(storage.data["salt"]) == 32
    assert f"parent/{root.id_hash}/{child.id_hash}" in storage.data
    assert child_id not in repr(child)
    assert child.accessor not in repr(child)


async def test_salt_is_stable_across_instances(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, storage, clock = env
    token_id, _ = await store.create(params())
    again = TokenStore(storage, clock)
    entry = await again.lookup(token_id)
    assert entry is not None
    assert entry.policies == ("default",)


async def test_custom_ids_are_checked(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, _ = env
    await store.create(params(), token_id="custom")
    with pytest.raises(InvalidRequestError, match="duplicate ID"):
        await store.create(params(), token_id="custom")
    with pytest.raises(InvalidRequestError, match=r"'s\.' prefix"):
        await store.create(params(), token_id="s.abc")
    with pytest.raises(InvalidRequestError, match=r"a '\.' in the value"):
        await store.create(params(), token_id="a.b")


async def test_expiry_is_lazy_and_revokes(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, storage, clock = env
    token_id, entry = await store.create(params(ttl=60))
    clock.advance(59)
    found = await store.lookup(token_id)
    assert found is not None
    assert found.remaining_ttl(clock.now()) == 1
    clock.advance(1)
    assert await store.lookup(token_id) is None
    assert f"id/{entry.id_hash}" not in storage.data
    assert await store.list_accessors() == []


async def test_explicit_max_ttl_caps_expiry(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, clock = env
    token_id, _ = await store.create(params(ttl=HOUR, explicit_max_ttl=120))
    clock.advance(120)
    assert await store.lookup(token_id) is None


async def test_root_token_never_expires(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, clock = env
    _, _entry = await store.create(TokenParams(policies=("root",)), token_id="root")
    clock.advance(10 * 365 * 86400)
    found = await store.lookup("root")
    assert found is not None
    assert found.expire_time is None
    assert not found.renewable


async def test_use_counts_down_and_last_use_is_pending(
    env: tuple[TokenStore, InmemStorage, ManualClock],
) -> None:
    store, _, _ = env
    token_id, _ = await store.create(params(num_uses=2))
    first = await store.use(token_id)
    assert first is not None
    assert first.num_uses == 1
    last = await store.use(token_id)
    assert last is not None
    assert last.num_uses == REVOCATION_PENDING
    assert await store.lookup(token_id) is None
    assert await store.use(token_id) is None
    pending = await store.lookup(token_id, include_pending=True)
    assert pending is not None
    await store.revoke(pending.id_hash)
    assert await store.lookup(token_id, include_pending=True) is None


async def test_unlimited_token_is_not_rewritten(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, _ = env
    token_id, entry = await store.create(params())
    assert await store.use(token_id) == entry


async def make_tree(store: TokenStore) -> dict[str, tuple[str, TokenEntry]]:
    tree: dict[str, tuple[str, TokenEntry]] = {}
    tree["a"] = await store.create(params())
    tree["b"] = await store.create(params(parent_hash=tree["a"][1].id_hash))
    tree["c"] = await store.create(params(parent_hash=tree["b"][1].id_hash))
    tree["d"] = await store.create(params(parent_hash=tree["a"][1].id_hash))
    tree["batch"] = await store.create(params(parent_hash=tree["a"][1].id_hash, type=TokenType.BATCH))
    return tree


async def test_revoke_takes_the_whole_tree_children_first(
    env: tuple[TokenStore, InmemStorage, ManualClock],
) -> None:
    store, storage, _ = env
    tree = await make_tree(store)
    unrelated_id, _ = await store.create(params())
    order: list[str] = []

    async def hook(entry: TokenEntry) -> None:
        order.append(entry.id_hash)

    store.add_revocation_hook(hook)
    await store.revoke(tree["a"][1].id_hash)
    for token_id, _ in tree.values():
        assert await store.lookup(token_id) is None
    assert await store.lookup(unrelated_id) is not None
    assert (
        order.index(tree["c"][1].id_hash)
        < order.index(tree["b"][1].id_hash)
        < order.index(tree["a"][1].id_hash)
    )
    assert len(order) == 5
    assert not [key for key in storage.data if key.startswith("parent/")]
    assert len([key for key in storage.data if key.startswith("accessor/")]) == 1


async def test_revoke_orphan_keeps_service_children(
    env: tuple[TokenStore, InmemStorage, ManualClock],
) -> None:
    store, storage, _ = env
    tree = await make_tree(store)
    await store.revoke_orphan(tree["a"][1].id_hash)
    assert await store.lookup(tree["a"][0]) is None
    assert await store.lookup(tree["batch"][0]) is None
    b = await store.lookup(tree["b"][0])
    assert b is not None
    assert b.orphan
    c = await store.lookup(tree["c"][0])
    assert c is not None
    assert c.parent_hash == b.id_hash
    assert not [key for key in storage.data if key.startswith(f"parent/{tree['a'][1].id_hash}")]


async def test_accessor_lookup_and_list(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, _ = env
    token_id, entry = await store.create(params())
    _, batch = await store.create(params(type=TokenType.BATCH))
    assert batch.accessor == ""
    assert not batch.renewable
    found = await store.lookup_accessor(entry.accessor)
    assert found is not None
    assert found.id_hash == store.hash(token_id)
    assert await store.lookup_accessor("nope") is None
    assert await store.list_accessors() == [entry.accessor]


async def test_parent_must_exist(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, _ = env
    with pytest.raises(InvalidRequestError, match="parent token not found"):
        await store.create(params(parent_hash="hdeadbeef"))


async def test_renew_extends_and_caps(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, clock = env
    token_id, entry = await store.create(params(ttl=HOUR, explicit_max_ttl=2 * HOUR))
    clock.advance(10)
    renewal = await store.renew(entry, 3 * HOUR, 768 * HOUR)
    assert renewal.entry.ttl == 2 * HOUR - 10
    assert renewal.warnings == (
        'TTL of "3h" exceeded the effective max_ttl of "1h59m50s"; TTL value is capped accordingly',
    )
    assert renewal.entry.last_renewal_time == clock.now()
    stored = await store.lookup(token_id)
    assert stored is not None
    assert stored.expire_time == clock.now() + 2 * HOUR - 10
    shorter = await store.renew(stored, 60, 768 * HOUR)
    assert shorter.entry.ttl == 60
    assert shorter.warnings == ()


async def test_renew_refusals(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, _ = env
    _, fixed = await store.create(params(renewable=False))
    _, root = await store.create(TokenParams(policies=("root",)))
    _, batch = await store.create(params(type=TokenType.BATCH))
    for entry, message in ((fixed, "lease is not renewable"), (root, "lease is not renewable")):
        with pytest.raises(InvalidRequestError, match=message):
            await store.renew(entry, 0, 768 * HOUR)
    with pytest.raises(InvalidRequestError, match="batch tokens cannot be renewed"):
        await store.renew(batch, 0, 768 * HOUR)


async def test_periodic_token_resets_to_period(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, _, clock = env
    token_id, entry = await store.create(params(ttl=HOUR, period=HOUR))
    for _ in range(50):
        clock.advance(HOUR - 1)
        current = await store.lookup(token_id)
        assert current is not None
        renewal = await store.renew(current, 5 * HOUR, 768 * HOUR)
        assert renewal.entry.ttl == HOUR
    assert clock.now() - entry.creation_time > 48 * HOUR
    with_max = await store.create(params(ttl=HOUR, period=HOUR, explicit_max_ttl=90 * 60))
    clock.advance(HOUR - 1)
    capped = await store.renew(with_max[1], 0, 768 * HOUR)
    assert capped.entry.ttl == 30 * 60 + 1


async def test_tidy_removes_dangling_indexes(env: tuple[TokenStore, InmemStorage, ManualClock]) -> None:
    store, storage, _ = env
    parent_id, parent = await store.create(params())
    child_id, child = await store.create(params(parent_hash=parent.id_hash))
    storage.data.pop(f"id/{parent.id_hash}")
    storage.data["accessor/hdangling"] = b'{"accessor": "x", "id_hash": "hmissing"}'
    assert await store.tidy() == 3
    orphaned = await store.lookup(child_id)
    assert orphaned is not None
    assert orphaned.orphan
    assert await store.list_accessors() == [child.accessor]
    assert await store.tidy() == 0
    assert parent_id


class _YieldingStorage(InmemStorage):
    """Storage whose reads and writes give way to other tasks, as a real database does."""

    async def get(self, key: str) -> bytes | None:
        await asyncio.sleep(0)
        return await super().get(key)

    async def put(self, key: str, value: bytes) -> None:
        await asyncio.sleep(0)
        await super().put(key, value)


async def test_concurrent_requests_take_exactly_the_uses_a_token_has() -> None:
    store = TokenStore(_YieldingStorage(), ManualClock())
    await store.initialize()
    token_id, _ = await store.create(params(num_uses=3))
    served = [entry for entry in await asyncio.gather(*(store.use(token_id) for _ in range(10))) if entry]
    assert sorted(entry.num_uses for entry in served) == [REVOCATION_PENDING, 1, 2]


async def test_a_remembered_entry_follows_what_is_stored(
    env: tuple[TokenStore, InmemStorage, ManualClock],
) -> None:
    store, _, _ = env
    token_id, entry = await store.create(params(num_uses=5))
    assert await store.lookup(token_id) == entry
    used = await store.use(token_id)
    assert used is not None
    assert (await store.lookup(token_id) or entry).num_uses == 4
    await store.revoke(entry.id_hash)
    assert await store.lookup(token_id) is None
