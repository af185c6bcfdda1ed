"""The PostgreSQL HA lock on a real PostgreSQL: one holder at a time, renewal, expiry, release, and the
holder's value readable by the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from tests.postgres import Postgres

from strongroom.errors import StorageError
from strongroom.physical.base import HABackend, HALock
from strongroom.physical.postgresql import PostgreSQLBackend, parse_options
from strongroom.physical.postgresql_ha import PostgreSQLLock

DATABASE = "strongroom_lock"


@pytest.fixture(scope="module")
def url(postgres: Postgres) -> Iterator[str]:
    with postgres.database(DATABASE) as url:
        yield url


@pytest.fixture
async def backend(url: str, request: pytest.FixtureRequest) -> AsyncIterator[PostgreSQLBackend]:
    table = "locks_" + request.node.name.removeprefix("test_")[:30]
    options = parse_options({"connection_url": url, "ha_enabled": "true", "ha_table": table}, {})
    opened = await PostgreSQLBackend.open(options)
    yield opened
    await opened.close()


def _lock(backend: PostgreSQLBackend, value: str, ttl: float = 15.0) -> HALock:
    return backend.ha_lock(value, ttl=ttl, renew_interval=ttl / 3)


async def test_one_holder_at_a_time_and_release_frees_it(backend: PostgreSQLBackend) -> None:
    assert isinstance(backend, HABackend)
    assert backend.ha_enabled
    first, second = _lock(backend, "http://a:8200"), _lock(backend, "http://b:8200")
    try:
        assert await first.holder() is None
        assert await first.acquire() is True
        assert await second.acquire() is False
        assert await first.acquire() is True  # renewal by the holder
        assert (await first.holder(), await second.holder()) == ("http://a:8200", "http://a:8200")
        await second.release()  # not the holder: changes nothing
        assert await second.holder() == "http://a:8200"
        await first.release()
        assert await second.holder() is None
        assert await second.acquire() is True
        assert await first.holder() == "http://b:8200"
    finally:
        await first.close()
        await second.close()


async def test_a_lock_not_renewed_expires(backend: PostgreSQLBackend) -> None:
    first, second = _lock(backend, "http://a:8200", ttl=1.0), _lock(backend, "http://b:8200", ttl=1.0)
    try:
        assert await first.acquire() is True
        assert await second.acquire() is False
        await asyncio.sleep(1.5)
        assert await second.holder() is None
        assert await second.acquire() is True
        assert await first.acquire() is False
    finally:
        await first.close()
        await second.close()


async def test_a_lost_database_is_a_storage_error_without_the_password(postgres: Postgres) -> None:
    password = "lock-Pass-31337"
    url = f"postgresql://postgres:{password}@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"
    lock = PostgreSQLBackend(parse_options({"connection_url": url, "ha_enabled": "true"}, {})).ha_lock("v")
    with pytest.raises(StorageError) as caught:
        await lock.acquire()
    assert str(caught.value).startswith("postgresql: HA lock: ")
    assert password not in str(caught.value)
    await lock.close()


async def test_a_takeover_waits_for_the_old_holders_fenced_writes_and_fences_later_ones(
    backend: PostgreSQLBackend, url: str
) -> None:
    table = backend._options.ha_table
    fenced = f"SELECT 1 FROM {table} WHERE ha_key = 'core/lock' AND ha_identity = %s FOR KEY SHARE"
    old, new = _lock(backend, "http://a:8200"), _lock(backend, "http://b:8200")
    assert isinstance(old, PostgreSQLLock)
    try:
        assert await old.acquire() is True
        async with await psycopg.AsyncConnection.connect(url) as in_flight:
            # A write of the old holder's, checked against the fence and not yet committed.
            assert await (await in_flight.execute(fenced, (old.identity,))).fetchall() == [(1,)]
            await old.close()  # its lock session ends: the advisory lock is free
            takeover = asyncio.create_task(new.acquire())
            await asyncio.sleep(0.5)
            assert not takeover.done()
            await in_flight.commit()
            assert await asyncio.wait_for(takeover, 5) is True
            # A write the old holder starts now finds the row no longer its own.
            assert await (await in_flight.execute(fenced, (old.identity,))).fetchall() == []
    finally:
        await old.close()
        await new.close()
