"""The HA leader lock of the PostgreSQL backend: one row of OpenBao's `ha_table`, valid until a deadline.

Layer: physical (imports psycopg, physical.base and errors only).

The row (ha_key "core/lock", ha_identity, ha_value, valid_until) belongs to whoever wrote it last; a write
succeeds only when the row is free, expired, or already this server's, so taking and renewing the lock are
one statement. Deadlines use the database's clock (`now()`), so the servers' own clocks never disagree.

The lock has a connection of its own, outside the backend's pool: a burst of requests holding every pooled
connection must not starve the renewal and cost the active server its lock.
Invariant: the connection password never appears in an exception or a log line (messages pass `mask`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql

from strongroom.errors import StorageError

Connection = psycopg.AsyncConnection[Any]

DEFAULT_HA_TABLE = "openbao_ha_locks"
LOCK_KEY = "core/lock"
# OpenBao's timings: a lock lives 15 s and its holder renews it every 5 s.
DEFAULT_TTL = 15.0
DEFAULT_RENEW_INTERVAL = 5.0


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
        self._conninfo = conninfo
        self._value = value
        self._mask = mask
        self._connection: Connection | None = None
        t = sql.Identifier(table)
        self._take = sql.SQL(
            "INSERT INTO {t} AS t (ha_key, ha_identity, ha_value, valid_until)"
            " VALUES (%(key)s, %(identity)s, %(value)s, now() + %(ttl)s * interval '1 second')"
            " ON CONFLICT (ha_key) DO UPDATE SET ha_identity = EXCLUDED.ha_identity,"
            " ha_value = EXCLUDED.ha_value, valid_until = EXCLUDED.valid_until"
            " WHERE t.valid_until < now() OR t.ha_identity = EXCLUDED.ha_identity"
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
        params = {"key": LOCK_KEY, "identity": self.identity, "value": self._value, "ttl": self.ttl}
        cursor = await self._execute(self._take, params)
        return cursor.rowcount == 1

    async def release(self) -> None:
        await self._execute(self._drop, {"key": LOCK_KEY, "identity": self.identity})

    async def holder(self) -> str | None:
        cursor = await self._execute(self._read, {"key": LOCK_KEY})
        row = await cursor.fetchone()
        return None if row is None or row[0] is None else str(row[0])

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    async def _execute(self, statement: sql.Composed, params: dict[str, Any]) -> psycopg.AsyncCursor[Any]:
        """Run one statement on the lock's connection; a failed one is dropped, and the next reconnects."""
        try:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
            return await self._connection.execute(statement, params)
        except psycopg.Error as exc:
            await self._forget_connection()
            raise StorageError("postgresql: HA lock: " + " ".join(self._mask(str(exc)).split())) from None
        except BaseException:
            # Cancelled mid-statement: the connection's state is unknown.
            await self._forget_connection()
            raise

    async def _forget_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(psycopg.Error):
                await connection.close()
