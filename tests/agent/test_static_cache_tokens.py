"""StaticCache in process against the shared server: which reads it keeps, for whom, and how many tokens."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from strongroom.agent import static_cache
from strongroom.agent.static_cache import Answer, StaticCache
from strongroom.config.agent_model import CacheSettings
from tests.servers import RunningServer


@pytest.fixture
async def kv(server: RunningServer) -> AsyncIterator[str]:
    mount = f"kv-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=server.address, headers={"X-Vault-Token": "root"}) as root:
        (
            await root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "2"}})
        ).raise_for_status()
        (await root.put(f"/v1/{mount}/data/db", json={"data": {"v": "1"}})).raise_for_status()
        yield mount
        (await root.delete(f"/v1/sys/mounts/{mount}")).raise_for_status()


async def _tokens(server: RunningServer, count: int) -> list[str]:
    async with httpx.AsyncClient(base_url=server.address, headers={"X-Vault-Token": "root"}) as root:
        created = [await root.post("/v1/auth/token/create", json={"ttl": "10m"}) for _ in range(count)]
    return [answer.json()["auth"]["client_token"] for answer in created]


async def _cached_read(cache: StaticCache, http: httpx.AsyncClient, token: str, path: str) -> Answer:
    async def fetch() -> Answer:
        response = await http.get(f"/v1/{path}", headers={"X-Vault-Token": token})
        return Answer(response.status_code, [(b"content-type", b"application/json")], response.content)

    for _ in range(200):
        answer = await cache.read(token, "", path, b"", fetch)
        if answer.cached:
            return answer
        await asyncio.sleep(0.02)
    pytest.fail("the read was never answered from the cache")


async def test_the_least_recently_used_token_makes_way(
    server: RunningServer, kv: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(static_cache, "MAX_TOKENS", 2)
    first, second, third = await _tokens(server, 3)
    async with httpx.AsyncClient(base_url=server.address) as http:
        cache = StaticCache(http, server.address, CacheSettings())
        try:
            path = f"{kv}/data/db"
            for token in (first, second, first, third):
                await _cached_read(cache, http, token, path)
            # `second` was least recently used when `third` came: its entry (and subscription) went.
            assert cache.clear("token", first) == 1
            assert cache.clear("token", second) == 0
            assert cache.clear("token", third) == 1
        finally:
            await cache.close()


async def test_reads_outside_kv_data_are_never_kept(server: RunningServer, kv: str) -> None:
    (token,) = await _tokens(server, 1)
    async with httpx.AsyncClient(base_url=server.address) as http:
        cache = StaticCache(http, server.address, CacheSettings())
        fetched: list[str] = []
        try:
            for path in (f"{kv}/metadata/db", f"{kv}/config", "sys/mounts", "auth/token/lookup-self"):
                for _ in range(3):

                    async def fetch(path: str = path) -> Answer:
                        fetched.append(path)
                        response = await http.get(f"/v1/{path}", headers={"X-Vault-Token": token})
                        return Answer(response.status_code, [], response.content)

                    assert not (await cache.read(token, "", path, b"", fetch)).cached
            assert len(fetched) == 12
            assert cache.counters.hits == cache.counters.misses == 0
        finally:
            await cache.close()
