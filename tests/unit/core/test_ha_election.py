"""The leader election over real PostgreSQL locks with short timings: one server active at a time; the
active one stands down when another holds the lock, on step-down, and on stop (giving the lock up)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator

import psycopg
import pytest
from tests.postgres import Postgres

from strongroom.core.ha import LeaderElection
from strongroom.physical.postgresql import PostgreSQLBackend, parse_options
from strongroom.physical.postgresql_ha import advisory_key

DATABASE = "strongroom_election"
TABLE = "election_locks"


@pytest.fixture(scope="module")
def url(postgres: Postgres) -> Iterator[str]:
    with postgres.database(DATABASE) as url:
        yield url


@pytest.fixture
async def backend(url: str) -> AsyncIterator[PostgreSQLBackend]:
    opened = await PostgreSQLBackend.open(
        parse_options({"connection_url": url, "ha_enabled": "true", "ha_table": TABLE}, {})
    )
    yield opened
    await opened.close()


class Node:
    """One server's election, recording its transitions."""

    def __init__(self, backend: PostgreSQLBackend, name: str) -> None:
        self.events: list[str] = []
        self.election = LeaderElection(
            backend.ha_lock(name, ttl=1.5, renew_interval=0.2),
            become_active=self._record("active"),
            become_standby=self._record("standby"),
            retry_interval=0.1,
            step_down_pause=1.0,
        )

    def _record(self, event: str) -> Callable[[], asyncio.Future[None]]:
        def record() -> asyncio.Future[None]:
            self.events.append(event)
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

        return record


async def _until(what: str, check: Callable[[], bool], timeout: float = 20) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_one_active_then_takeover_on_step_down_stop_and_a_stolen_lock(
    backend: PostgreSQLBackend, url: str
) -> None:
    a, b = Node(backend, "http://a"), Node(backend, "http://b")
    a.election.start()
    await _until("a active", lambda: a.election.active)
    b.election.start()
    await asyncio.sleep(0.5)
    assert (a.election.active, b.election.active) == (True, False)
    assert await b.election.leader_address() == "http://a"

    await a.election.step_down()
    await _until("b active", lambda: b.election.active)
    assert a.events == ["active", "standby"]
    assert not a.election.active

    # Someone else takes the lock (as a server does once b's renewals failed past the TTL): it ends b's
    # lock session, holds the advisory lock and writes the row; b stands down and a cannot take over.
    with psycopg.connect(url, autocommit=True) as intruder:
        intruder.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        intruder.execute("SELECT pg_advisory_lock(%s)", (advisory_key(TABLE),))
        intruder.execute(
            f"UPDATE {TABLE} SET ha_identity = 'intruder', valid_until = now() + interval '1 hour'"
        )
        await _until("b standing by", lambda: not b.election.active)
        assert b.events == ["active", "standby"]
        await asyncio.sleep(0.5)
        assert (a.election.active, b.election.active) == (False, False)

    await _until("someone active again", lambda: a.election.active or b.election.active)
    first, second = (a, b) if a.election.active else (b, a)
    await first.election.stop()
    assert first.events[-1] == "standby"
    await _until("the other takes over after stop", lambda: second.election.active)
    await second.election.stop()
    with psycopg.connect(url, autocommit=True) as admin:
        assert admin.execute(f"SELECT count(*) FROM {TABLE}").fetchall() == [(0,)]
