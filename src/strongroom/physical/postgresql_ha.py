"""The HA leader lock of the PostgreSQL backend: a session-level advisory lock, advertised in one row of
OpenBao's `ha_table`.

Layer: physical (imports psycopg, physical.base and errors only).

The authority is `pg_try_advisory_lock` on a connection of the lock's own: PostgreSQL frees it the moment
that session ends, so when the active server dies (its socket closed by the kernel, or found dead by the
TCP keepalives set on both ends of the connection) a standby takes over within its next attempt instead of
waiting out a TTL. The holder then writes the row (ha_key "core/lock", ha_identity, ha_value, valid_until),
overwriting whatever a dead holder left, because OpenBao's tools and the standbys read the leader's address
from it. Deadlines use the database's clock (`now()`), so the servers' own clocks never disagree.

The connection is outside the backend's pool: a burst of requests holding every pooled connection must not
starve the renewal and cost the active server its lock. When it breaks while the lock is held, the lock is
gone with the session, and `acquire` says so (False) so the server stands down at once.

Writes are fenced by the row: once this server has taken the lock, every write transaction of the backend
first reads the row `FOR KEY SHARE` and fails unless it still names this server (`Fence`). A new holder
overwrites the row only after the old holder's session ended, in a transaction that first locks the row
`FOR UPDATE`, which waits for the old holder's write transactions in flight; any the old holder starts
later find the row no longer theirs. Renewals only move `valid_until`, a lock that never waits on them.
So the old active's writes either commit before the new one takes over (and it reads them), or not at all.

OpenBao's TTL stays the fallback: when the row has expired yet its holder's session lingers (the holder
hung), a server wanting the lock ends that session first. A holder that finds the row renamed while it
holds the advisory lock gives the lock up rather than fight over the row.
Invariant: this server believes it holds the lock only while the session that took the advisory lock lives.
Invariant: the connection password never appears in an exception or a log line (messages pass `mask`).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from strongroom.errors import StorageError

Connection = psycopg.AsyncConnection[Any]

DEFAULT_HA_TABLE = "openbao_ha_locks"
LOCK_KEY = "core/lock"
# OpenBao's timings: a lock lives 15 s and its holder renews it every 5 s.
DEFAULT_TTL = 15.0
DEFAULT_RENEW_INTERVAL = 5.0
# After ending an expired holder's session, PostgreSQL frees its lock within moments.
_TAKE_ATTEMPTS, _TAKE_PAUSE = 10, 0.1
# A holder whose network path is cut loses its session in about idle + interval * count seconds: both ends
# of the lock's connection probe an idle socket after 2 s, every second, and give up after 2 misses.
_KEEPALIVE = {"keepalives": "1", "keepalives_idle": "2", "keepalives_interval": "1", "keepalives_count": "2"}
# The lock_timeout bounds a takeover waiting on the old holder's fenced writes, so a transaction that
# never ends fails the attempt (retried a second later) instead of wedging the election; renewals never
# wait on writes.
_SESSION_SETTINGS = (
    "SET tcp_keepalives_idle = 2",
    "SET tcp_keepalives_interval = 1",
    "SET tcp_keepalives_count = 2",
    "SET lock_timeout = '2s'",
)


def advisory_key(table: str) -> int:
    """The advisory lock's 64-bit key, derived from the HA table so clusters on separate tables never meet."""
    digest = hashlib.sha256(f"strongroom:{table}:{LOCK_KEY}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def create_ha_table(table: str) -> sql.Composed:
    """OpenBao's HA table, created when missing."""
    return sql.SQL(
        'CREATE TABLE IF NOT EXISTS {t} (ha_key TEXT COLLATE "C" NOT NULL, ha_identity TEXT COLLATE "C" '
        'NOT NULL, ha_value TEXT COLLATE "C", valid_until TIMESTAMP WITH TIME ZONE NOT NULL, '
        "CONSTRAINT {pkey} PRIMARY KEY (ha_key))"
    ).format(t=sql.Identifier(table), pkey=sql.Identifier(f"{table}_pkey"))


def fence_query(table: str) -> sql.Composed:
    """The first statement of a fenced write: one row when `identity` holds the lock, locked against a
    takeover until the transaction ends."""
    return sql.SQL(
        "SELECT 1 FROM {t} WHERE ha_key = %(key)s AND ha_identity = %(identity)s FOR KEY SHARE"
    ).format(t=sql.Identifier(table))


class Fence:
    """The lock identity this server's writes require, from the lock's first taking until it is given up;
    None while this server has never held it (initialization, a standby's unseal)."""

    __slots__ = ("identity",)

    def __init__(self) -> None:
        self.identity: str | None = None


class PostgreSQLLock:
    """HALock over one row of `table`."""

    def __init__(
        self,
        conninfo: str,
        table: str,
        value: str,
        *,
        mask: Callable[[str], str],
        ttl: float = DEFAULT_TTL,
        renew_interval: float = DEFAULT_RENEW_INTERVAL,
        fence: Fence | None = None,
    ) -> None:
        if not 0 < renew_interval < ttl:
            raise ValueError("the renew interval must be positive and shorter than the TTL")
        self.ttl = ttl
        self.renew_interval = renew_interval
        self.identity = str(uuid.uuid4())
        self._conninfo = make_conninfo(conninfo, **_KEEPALIVE)
        self._value = value
        self._mask = mask
        self._connection: Connection | None = None
        self._held = False
        self._fence = fence or Fence()
        self._advisory = advisory_key(table)
        t = sql.Identifier(table)
        # Only the advisory lock's holder runs this, so it may overwrite a row a dead holder left behind.
        self._take = sql.SQL(
            "INSERT INTO {t} AS t (ha_key, ha_identity, ha_value, valid_until)"
            " VALUES (%(key)s, %(identity)s, %(value)s, now() + %(ttl)s * interval '1 second')"
            " ON CONFLICT (ha_key) DO UPDATE SET ha_identity = EXCLUDED.ha_identity,"
            " ha_value = EXCLUDED.ha_value, valid_until = EXCLUDED.valid_until"
        ).format(t=t)
        self._claim = sql.SQL("SELECT 1 FROM {t} WHERE ha_key = %(key)s FOR UPDATE").format(t=t)
        self._renew = sql.SQL(
            "UPDATE {t} SET valid_until = now() + %(ttl)s * interval '1 second'"
            " WHERE ha_key = %(key)s AND ha_identity = %(identity)s"
        ).format(t=t)
        self._try_lock = sql.SQL("SELECT pg_try_advisory_lock(%(lock)s)")
        self._unlock = sql.SQL("SELECT pg_advisory_unlock(%(lock)s)")
        # pg_locks shows a bigint advisory key as its high and low 32 bits (classid, objid).
        self._holder_params = {
            "key": LOCK_KEY,
            "high": (self._advisory >> 32) & 0xFFFFFFFF,
            "low": self._advisory & 0xFFFFFFFF,
        }
        self._end_expired = sql.SQL(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
            " AND l.classid::bigint = %(high)s AND l.objid::bigint = %(low)s"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND NOT EXISTS (SELECT 1 FROM {t} WHERE ha_key = %(key)s AND valid_until >= now())"
        ).format(t=t)
        self._drop = sql.SQL("DELETE FROM {t} WHERE ha_key = %(key)s AND ha_identity = %(identity)s").format(
            t=t
        )
        self._read = sql.SQL(
            "SELECT ha_value FROM {t} WHERE ha_key = %(key)s AND valid_until > now()"
        ).format(t=t)

    def __repr__(self) -> str:
        return f"PostgreSQLLock(identity={self.identity!r}, ttl={self.ttl})"

    async def acquire(self) -> bool:
        held = self._held
        params = {"key": LOCK_KEY, "identity": self.identity, "value": self._value, "ttl": self.ttl}
        try:
            if not held:
                if not await self._take_advisory():
                    return False
                self._held = True
                # A failure midway drops the connection, so the transaction and the lock go with it.
                await self._execute(sql.SQL("BEGIN"))
                await self._execute(self._claim, params)
                await self._execute(self._take, params)
                await self._execute(sql.SQL("COMMIT"))
            elif (await self._execute(self._renew, params)).rowcount != 1:
                # The row is gone or someone else's while this server holds the advisory lock: an
                # intruder (a server that waited out the TTL) claims the lock; give it up, do not fight.
                await self._execute(self._unlock, {"lock": self._advisory})
                self._held = False
                return False
        except StorageError:
            if held:
                # The session that held the advisory lock is gone, and the lock with it.
                return False
            raise
        self._fence.identity = self.identity
        return True

    async def _take_advisory(self) -> bool:
        """Take the advisory lock; when the row has expired, its holder is hung or cut off but its session
        lingers, so end that session first (the TTL fallback of OpenBao's lock)."""
        lock = {"lock": self._advisory}
        for attempt in range(_TAKE_ATTEMPTS):
            row = await (await self._execute(self._try_lock, lock)).fetchone()
            if row is not None and row[0] is True:
                return True
            if attempt == 0:
                ended = await (await self._execute(self._end_expired, self._holder_params)).fetchall()
                if not ended:
                    return False
            await asyncio.sleep(_TAKE_PAUSE)
        return False

    async def release(self) -> None:
        if not self._held:
            return
        await self._execute(self._drop, {"key": LOCK_KEY, "identity": self.identity})
        self._fence.identity = None
        await self._execute(self._unlock, {"lock": self._advisory})
        self._held = False

    async def holder(self) -> str | None:
        cursor = await self._execute(self._read, {"key": LOCK_KEY})
        row = await cursor.fetchone()
        return None if row is None or row[0] is None else str(row[0])

    async def close(self) -> None:
        self._fence.identity = None
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _execute(
        self, statement: sql.SQL | sql.Composed, params: dict[str, Any] | None = None
    ) -> psycopg.AsyncCursor[Any]:
        """Run one statement on the lock's connection; a failed one is dropped, and the next reconnects."""
        try:
            if self._connection is None or self._connection.closed:
                self._held = False
                self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                for setting in _SESSION_SETTINGS:
                    await self._connection.execute(setting)
            return await self._connection.execute(statement, params)
        except psycopg.Error as exc:
            await self._forget_connection()
            raise StorageError("postgresql: HA lock: " + " ".join(self._mask(str(exc)).split())) from None
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown.
            await self._forget_connection()
            raise

    async def _forget_connection(self) -> None:
        self._held = False
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(psycopg.Error):
                await connection.close()
