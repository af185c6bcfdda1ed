"""The agent's lease cache: leased answers and writes are held, renewed, capped and dropped on time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from strongroom.agent.leases import LeaseCache
from strongroom.agent.template import Dependency


class Upstream:
    """Answers like a server: `creds` mints a new leased secret at each read, `kv` has no lease."""

    def __init__(self, *, renewable: bool = True, duration: int = 30) -> None:
        self.renewable = renewable
        self.duration = duration
        self.reads = 0
        self.writes = 0

    async def read(self, path: str) -> Mapping[str, Any] | None:
        self.reads += 1
        if path == "kv/db":
            return {"lease_id": "", "lease_duration": 2764800, "data": {"n": self.reads}}
        return {
            "lease_id": f"{path}/{self.reads}",
            "renewable": self.renewable,
            "lease_duration": self.duration,
            "data": {"username": f"v-{self.reads}"},
        }

    async def write(self, path: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        self.writes += 1
        return {"data": {"serial": self.writes, **data}}

    async def list(self, path: str) -> list[str]:
        return ["a"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Renewals:
    """The server side of sys/leases/renew: grants `grant` seconds, or fails."""

    def __init__(self, grant: int | None) -> None:
        self.grant = grant
        self.calls: list[tuple[str, int]] = []

    async def __call__(self, lease_id: str, increment: int) -> Mapping[str, Any]:
        self.calls.append((lease_id, increment))
        if self.grant is None:
            raise RuntimeError("lease not found")
        return {"lease_id": lease_id, "renewable": True, "lease_duration": self.grant}


CREDS = Dependency("read", "database/creds/app")


async def test_a_leased_read_is_served_again_until_due_and_kv_always_passes_through() -> None:
    upstream, clock = Upstream(), Clock()
    cache = LeaseCache(upstream, fallback=300, clock=clock)
    first = await cache.read("database/creds/app")
    assert await cache.read("database/creds/app") is first
    assert upstream.reads == 1
    await cache.read("kv/db")
    await cache.read("kv/db")
    assert upstream.reads == 3
    assert len(cache) == 1
    assert cache.next_due() == pytest.approx(1000 + 30 * 2 / 3)


async def test_a_renewable_lease_is_renewed_at_two_thirds_and_kept() -> None:
    upstream, clock, renewals = Upstream(duration=30), Clock(), Renewals(grant=30)
    cache = LeaseCache(upstream, fallback=300, clock=clock)
    held = await cache.read("database/creds/app")
    clock.now += 19
    assert await cache.keep(renewals) == set()
    assert renewals.calls == []
    clock.now += 1
    assert await cache.keep(renewals) == set()
    assert renewals.calls == [("database/creds/app/1", 30)]
    assert await cache.read("database/creds/app") is held
    assert cache.next_due() == pytest.approx(clock.now + 20)


async def test_a_renewal_capped_by_max_ttl_is_used_up_then_fetched_anew() -> None:
    upstream, clock, renewals = Upstream(duration=30), Clock(), Renewals(grant=10)
    cache = LeaseCache(upstream, fallback=300, clock=clock)
    await cache.read("database/creds/app")
    clock.now += 20
    assert await cache.keep(renewals) == set()
    due = cache.next_due()
    assert due is not None
    assert clock.now + 8.5 <= due <= clock.now + 9.5
    clock.now = due
    assert await cache.keep(renewals) == {CREDS}
    assert len(renewals.calls) == 1
    assert (await cache.read("database/creds/app") or {})["data"] == {"username": "v-2"}


async def test_a_failed_renewal_drops_the_secret() -> None:
    upstream, clock = Upstream(duration=30), Clock()
    cache = LeaseCache(upstream, fallback=300, clock=clock)
    await cache.read("database/creds/app")
    clock.now += 20
    assert await cache.keep(Renewals(grant=None)) == {CREDS}
    assert len(cache) == 0


async def test_a_non_renewable_lease_is_fetched_anew_at_85_to_95_percent() -> None:
    upstream, clock, renewals = Upstream(renewable=False, duration=100), Clock(), Renewals(grant=100)
    cache = LeaseCache(upstream, fallback=300, clock=clock)
    await cache.read("pki/issue/web")
    due = cache.next_due()
    assert due is not None
    assert 1085 <= due <= 1095
    clock.now = due
    assert await cache.keep(renewals) == {Dependency("read", "pki/issue/web")}
    assert renewals.calls == []


async def test_writes_are_held_per_arguments_until_the_fallback_interval() -> None:
    upstream, clock = Upstream(), Clock()
    cache = LeaseCache(upstream, fallback=60, clock=clock)
    one = await cache.write("pki/issue/web", {"common_name": "a"})
    assert await cache.write("pki/issue/web", {"common_name": "a"}) is one
    await cache.write("pki/issue/web", {"common_name": "b"})
    assert upstream.writes == 2
    clock.now += 60
    assert await cache.keep(Renewals(grant=None)) == {Dependency("write", "pki/issue/web")}
    assert len(cache) == 0


async def test_clear_forgets_everything_after_a_new_login() -> None:
    cache = LeaseCache(Upstream(), fallback=300, clock=Clock())
    await cache.read("database/creds/app")
    cache.clear()
    assert cache.next_due() is None
    assert await cache.list("x/") == ["a"]
