"""LeaseManager over in-memory storage and a ManualClock: expiry order, restore, renewal rules, revocation by
ID, prefix and token, forced revocation, retries, tidy, and the background timer."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from strongroom.core.leasing import lease_revoker, register_token_lease
from strongroom.errors import InvalidRequestError
from strongroom.leases import MAX_REVOKE_ATTEMPTS, LeaseEntry, LeaseKind, LeaseManager, SecretRenewal
from strongroom.logical import InmemStorage
from strongroom.tokens import TokenParams, TokenStore
from strongroom.util.clock import ManualClock, SystemClock


@dataclass
class RecordingSecrets:
    """A SecretBackends that remembers what it revoked; leases whose path contains "fail" are refused."""

    revoked: list[str] = field(default_factory=list)
    attempts: int = 0

    async def revoke_secret(self, lease: LeaseEntry) -> None:
        self.attempts += 1
        if "fail" in lease.path:
            raise InvalidRequestError("backend is down")
        self.revoked.append(lease.lease_id)

    async def renew_secret(self, lease: LeaseEntry, increment: int) -> SecretRenewal:
        return SecretRenewal(ttl=increment or lease.ttl, renewable=True, data={"ok": True})


@dataclass
class Env:
    manager: LeaseManager
    storage: InmemStorage
    clock: ManualClock
    tokens: TokenStore
    secrets: RecordingSecrets

    def reopened(self) -> LeaseManager:
        """A second manager over the same storage, as after a restart."""
        return LeaseManager(self.storage, self.clock, self.tokens, self.secrets)


@pytest.fixture
async def env() -> Env:
    clock = ManualClock()
    tokens = TokenStore(InmemStorage(), clock)
    await tokens.initialize()
    storage = InmemStorage()
    secrets = RecordingSecrets()
    manager = LeaseManager(storage, clock, tokens, secrets)
    tokens.add_revocation_hook(lease_revoker(manager))
    return Env(manager, storage, clock, tokens, secrets)


async def secret(env: Env, path: str, ttl: int, token_hash: str = "", renewable: bool = True) -> str:
    lease = await env.manager.register_secret(
        path=path, ttl=ttl, renewable=renewable, mount_accessor="leasing_1", token_hash=token_hash,
        internal={"username": "u"},
    )  # fmt: skip
    return lease.lease_id


async def token(env: Env, ttl: int, parent_hash: str = "") -> tuple[str, str]:
    """A service token with a lease: (token ID, lease ID)."""
    token_id, entry = await env.tokens.create(
        TokenParams(policies=("default",), ttl=ttl, parent_hash=parent_hash)
    )
    await register_token_lease(env.manager, entry)
    return token_id, f"auth/token/create/{entry.id_hash}"


async def test_secret_lease_ids_are_the_request_path_and_a_random_part(env: Env) -> None:
    lease_id = await secret(env, "database/creds/ro/", 60)
    prefix, _, suffix = lease_id.rpartition("/")
    assert prefix == "database/creds/ro"
    assert len(suffix) == 24
    assert suffix.isalnum()
    lease = await env.manager.lookup(lease_id)
    assert lease is not None
    assert (lease.path, lease.kind, lease.ttl, lease.renewable) == (
        "database/creds/ro",
        LeaseKind.SECRET,
        60,
        True,
    )
    assert lease.expire_time == env.clock.now() + 60
    assert lease.internal == {"username": "u"}
    assert lease.mount_accessor == "leasing_1"


async def test_leases_expire_in_deadline_order(env: Env) -> None:
    late = await secret(env, "db/creds/late", 30)
    early = await secret(env, "db/creds/early", 10)
    middle = await secret(env, "db/creds/middle", 20)
    env.clock.advance(5)
    assert await env.manager.expire_due() == []
    env.clock.advance(6)
    assert await env.manager.expire_due() == [early]
    env.clock.advance(100)
    assert await env.manager.expire_due() == [middle, late]
    assert env.secrets.revoked == [early, middle, late]
    for lease_id in (early, middle, late):
        assert await env.manager.lookup(lease_id) is None


async def test_a_renewed_lease_does_not_expire_at_its_old_time(env: Env) -> None:
    lease_id = await secret(env, "db/creds/ro", 10)
    env.clock.advance(8)
    renewal = await env.manager.renew(lease_id, 60)
    assert (renewal.ttl, renewal.renewable, renewal.data) == (60, True, {"ok": True})
    env.clock.advance(5)
    assert await env.manager.expire_due() == []
    lease = await env.manager.lookup(lease_id)
    assert lease is not None
    assert lease.last_renewal == env.clock.now() - 5
    assert lease.expire_time == env.clock.now() - 5 + 60
    env.clock.advance(60)
    assert await env.manager.expire_due() == [lease_id]


async def test_restore_reschedules_every_stored_lease(env: Env) -> None:
    first = await secret(env, "db/creds/a", 10)
    second = await secret(env, "db/creds/b", 20)
    _, forever = await token(env, 0)
    restarted = env.reopened()
    assert await restarted.restore() == 3
    env.clock.advance(15)
    assert await restarted.expire_due() == [first]
    env.clock.advance(10_000)
    assert await restarted.expire_due() == [second]
    assert await restarted.lookup(forever) is not None


async def test_start_revokes_at_once_what_came_due_while_down(env: Env) -> None:
    lease_id = await secret(env, "db/creds/a", 10)
    env.clock.advance(11)
    restarted = env.reopened()
    await restarted.start()
    try:
        assert env.secrets.revoked == [lease_id]
        assert await restarted.lookup(lease_id) is None
    finally:
        await restarted.stop()


async def test_an_expired_token_lease_revokes_the_token_and_its_children(env: Env) -> None:
    parent_id, parent_lease = await token(env, 10)
    parent = await env.tokens.lookup(parent_id)
    assert parent is not None
    child_id, child_lease = await token(env, 3600, parent_hash=parent.id_hash)
    env.clock.advance(11)
    assert await env.manager.expire_due() == [parent_lease]
    assert await env.tokens.lookup_hash(parent.id_hash) is None
    assert await env.tokens.lookup(child_id) is None
    assert await env.manager.lookup(child_lease) is None
    assert await env.manager.lookup(parent_lease) is None


async def test_revoking_a_token_revokes_the_secrets_issued_to_it(env: Env) -> None:
    token_id, token_lease = await token(env, 3600)
    entry = await env.tokens.lookup(token_id)
    assert entry is not None
    mine = await secret(env, "db/creds/a", 600, token_hash=entry.id_hash)
    other = await secret(env, "db/creds/b", 600)
    await env.tokens.revoke(entry.id_hash)
    assert env.secrets.revoked == [mine]
    assert await env.manager.lookup(mine) is None
    assert await env.manager.lookup(token_lease) is None
    assert await env.manager.lookup(other) is not None
    assert not [key for key in env.storage.data if key.startswith("token/")]


async def test_revoking_a_token_lease_revokes_the_token_tree(env: Env) -> None:
    parent_id, parent_lease = await token(env, 600)
    parent = await env.tokens.lookup(parent_id)
    assert parent is not None
    child_id, _ = await token(env, 600, parent_hash=parent.id_hash)
    await env.manager.revoke(parent_lease)
    assert await env.tokens.lookup(parent_id) is None
    assert await env.tokens.lookup(child_id) is None
    assert await env.manager.list("auth/token/create/") == []


async def test_renewal_refusals_use_vaults_words(env: Env) -> None:
    fixed = await secret(env, "db/creds/fixed", 60, renewable=False)
    ending = await secret(env, "db/creds/ending", 5)
    _, token_lease = await token(env, 600)
    _, forever = await token(env, 0)
    cases = {
        "db/creds/missing/x": "lease not found",
        fixed: "lease is not renewable",
        token_lease: "tokens cannot be renewed through this endpoint",
        forever: "lease is not renewable",
    }
    for lease_id, message in cases.items():
        with pytest.raises(InvalidRequestError) as refused:
            await env.manager.renew(lease_id, 0)
        assert refused.value.errors == (message,)
    env.clock.advance(6)
    with pytest.raises(InvalidRequestError) as refused:
        await env.manager.renew(ending, 0)
    assert refused.value.errors == ("lease expired",)


async def test_revoke_prefix_revokes_only_what_is_under_the_prefix(env: Env) -> None:
    ro = await secret(env, "db/creds/ro", 60)
    rw = await secret(env, "db/creds/rw", 60)
    other = await secret(env, "dbx/creds/ro", 60)
    assert await env.manager.revoke_prefix("db/creds") == 2
    assert sorted(env.secrets.revoked) == sorted([ro, rw])
    assert await env.manager.lookup(other) is not None
    assert await env.manager.list("") == ["dbx/"]


async def test_a_failing_backend_keeps_the_lease_until_revoke_force(env: Env) -> None:
    lease_id = await secret(env, "fail/creds/ro", 60)
    with pytest.raises(InvalidRequestError) as refused:
        await env.manager.revoke(lease_id)
    assert refused.value.errors == ("failed to revoke entry: backend is down",)
    with pytest.raises(InvalidRequestError):
        await env.manager.revoke_prefix("fail/")
    assert await env.manager.lookup(lease_id) is not None
    assert await env.manager.revoke_prefix("fail/", force=True) == 1
    assert await env.manager.lookup(lease_id) is None


async def test_expiry_retries_a_failing_revocation_then_gives_up(env: Env) -> None:
    lease_id = await secret(env, "fail/creds/ro", 10)
    env.clock.advance(11)
    for _ in range(MAX_REVOKE_ATTEMPTS):
        assert await env.manager.expire_due() == []
        env.clock.advance(100)
    assert env.secrets.attempts == MAX_REVOKE_ATTEMPTS
    assert await env.manager.expire_due() == []
    assert env.secrets.attempts == MAX_REVOKE_ATTEMPTS
    assert await env.manager.lookup(lease_id) is not None


async def test_asynchronous_revocation_is_left_to_the_timer(env: Env) -> None:
    lease_id = await secret(env, "db/creds/ro", 600)
    await env.manager.revoke(lease_id, sync=False)
    assert env.secrets.revoked == []
    assert await env.manager.expire_due() == [lease_id]
    assert env.secrets.revoked == [lease_id]


async def test_unknown_and_unsafe_lease_ids_are_simply_not_found(env: Env) -> None:
    for lease_id in ("", "nope/x", "db/../sys/x", "a/b/", "a/\x01"):
        assert await env.manager.lookup(lease_id) is None
        await env.manager.revoke(lease_id)
    assert await env.manager.list("../") == []
    assert await env.manager.revoke_prefix("../") == 0


async def test_listing_shows_one_level_of_lease_ids_and_folders(env: Env) -> None:
    a = await secret(env, "db/creds/ro", 60)
    b = await secret(env, "db/creds/ro", 60)
    await secret(env, "db/creds/rw", 60)
    assert await env.manager.list("") == ["db/"]
    assert await env.manager.list("db") == ["creds/"]
    assert await env.manager.list("db/creds/") == ["ro/", "rw/"]
    assert await env.manager.list("db/creds/ro") == sorted([a.rpartition("/")[2], b.rpartition("/")[2]])


async def test_tidy_removes_what_outlived_its_token(env: Env) -> None:
    token_id, token_lease = await token(env, 600)
    entry = await env.tokens.lookup(token_id)
    assert entry is not None
    keeper = await secret(env, "db/creds/keep", 600, token_hash=entry.id_hash)
    orphan_secret = await secret(env, "db/creds/orphan", 600, token_hash="hgone")
    # A token that vanished without its lease being told (as storage written by an older server would be).
    ghost_id, ghost_lease = await token(env, 600)
    ghost = await env.tokens.lookup(ghost_id)
    assert ghost is not None
    await env.tokens.storage.delete(f"id/{ghost.id_hash}")
    await env.storage.put("token/hgone2/deadbeef", b"db/creds/never/x")
    assert await env.manager.tidy() == 3
    assert env.secrets.revoked == [orphan_secret]
    assert await env.manager.lookup(ghost_lease) is None
    assert await env.manager.lookup(keeper) is not None
    assert await env.manager.lookup(token_lease) is not None
    assert "token/hgone2/deadbeef" not in env.storage.data
    assert await env.manager.tidy() == 0


async def test_lease_records_hold_no_token_id(env: Env) -> None:
    token_id, _ = await token(env, 600)
    entry = await env.tokens.lookup(token_id)
    assert entry is not None
    await secret(env, "db/creds/ro", 600, token_hash=entry.id_hash)
    blob = b"".join(key.encode() + value for key, value in env.storage.data.items())
    assert token_id.encode() not in blob
    assert entry.id_hash.encode() in blob


async def test_the_background_timer_revokes_without_being_asked() -> None:
    clock = SystemClock()
    tokens = TokenStore(InmemStorage(), clock)
    secrets = RecordingSecrets()
    manager = LeaseManager(InmemStorage(), clock, tokens, secrets)
    await manager.start()
    try:
        soon = await manager.register_secret(
            path="db/creds/ro", ttl=1, renewable=False, mount_accessor="m", token_hash="", internal={}
        )
        later = await manager.register_secret(
            path="db/creds/rw", ttl=3600, renewable=False, mount_accessor="m", token_hash="", internal={}
        )
        await asyncio.sleep(0.5)
        assert secrets.revoked == []
        for _ in range(200):
            if secrets.revoked:
                break
            await asyncio.sleep(0.01)
        assert secrets.revoked == [soon.lease_id]
        assert await manager.lookup(soon.lease_id) is None
        assert await manager.lookup(later.lease_id) is not None
    finally:
        await manager.stop()
