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
Invariant: this server believes it holds the lock only while the session that took the advisory lock lives.
Invariant: the connection password never appears in an exception or a log line (messages pass `mask`).
"""

from __future__ import annotations

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
# A holder whose network path is cut loses its session in about idle + interval * count seconds: both ends
# of the lock's connection probe an idle socket after 2 s, every second, and give up after 2 misses.
_KEEPALIVE = {"keepalives": "1", "keepalives_idle": "2", "keepalives_interval": "1", "keepalives_count": "2"}
_SERVER_KEEPALIVE = (
    "SET tcp_keepalives_idle = 2",
    "SET tcp_keepalives_interval = 1",
    "SET tcp_keepalives_count = 2",
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
        self._advisory = advisory_key(table)
        t = sql.Identifier(table)
        # Only the advisory lock's holder runs this, so it may overwrite a row a dead holder left behind.
        self._take = sql.SQL(
            "INSERT INTO {t} AS t (ha_key, ha_identity, ha_value, valid_until)"
            " VALUES (%(key)s, %(identity)s, %(value)s, now() + %(ttl)s * interval '1 second')"
            " ON CONFLICT (ha_key) DO UPDATE SET ha_identity = EXCLUDED.ha_identity,"
            " ha_value = EXCLUDED.ha_value, valid_until = EXCLUDED.valid_until"
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
                cursor = await self._execute(
                    sql.SQL("SELECT pg_try_advisory_lock(%(lock)s)"), {"lock": self._advisory}
                )
                row = await cursor.fetchone()
                if row is None or row[0] is not True:
                    return False
                self._held = True
            await self._execute(self._take, params)
        except StorageError:
            if held:
                # The session that held the advisory lock is gone, and the lock with it.
                return False
            raise
        return True

    async def release(self) -> None:
        if not self._held:
            return
        await self._execute(self._drop, {"key": LOCK_KEY, "identity": self.identity})
        await self._execute(sql.SQL("SELECT pg_advisory_unlock(%(lock)s)"), {"lock": self._advisory})
        self._held = False

    async def holder(self) -> str | None:
        cursor = await self._execute(self._read, {"key": LOCK_KEY})
        row = await cursor.fetchone()
        return None if row is None or row[0] is None else str(row[0])

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _execute(
        self, statement: sql.SQL | sql.Composed, params: dict[str, Any]
    ) -> psycopg.AsyncCursor[Any]:
        """Run one statement on the lock's connection; a failed one is dropped, and the next reconnects."""
        try:
            if self._connection is None or self._connection.closed:
                self._held = False
                self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
                for setting in _SERVER_KEEPALIVE:
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
