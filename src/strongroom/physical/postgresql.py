"""The PostgreSQL physical backend: OpenBao's table shape, a small pool of async psycopg connections.

Layer: physical (imports psycopg, physical.keys and errors only).

A key is stored OpenBao's way, split at its last "/": "b/d/e" is the row (parent_path "/b/", path "/b/d/",
key "e") and "a" is ("", "/", "a"), so the immediate children of a folder are one primary-key range: the
rows whose `path` is the folder, plus the distinct first segments of the paths below it.

Connections are opened on demand, at most `max_parallel` at once, and at most `max_idle_connections` are
kept between uses. A connection that broke while idle (PostgreSQL restarted) is dropped and the operation
retried once on a fresh one, which is safe because every operation here is idempotent; any other failure
surfaces as StorageError, and the next operation connects anew. Once this server has held the HA lock,
every write is a transaction that first checks the lock is still its own (see postgresql_ha's fence).

Invariant: the connection password never appears in an exception, a log line or a repr; every driver
message passes through `_Secret.mask` first.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from strongroom.errors import ConfigError, FencedWriteError, NothingWrittenError, StorageError
from strongroom.physical.keys import check_key, check_prefix
from strongroom.physical.postgresql_ha import (
    DEFAULT_HA_TABLE,
    DEFAULT_RENEW_INTERVAL,
    DEFAULT_TTL,
    LOCK_KEY,
    Fence,
    PostgreSQLLock,
    create_ha_table,
    fence_query,
)

log = logging.getLogger("strongroom.physical.postgresql")

T = TypeVar("T")
Connection = psycopg.AsyncConnection[Any]

DEFAULT_TABLE = "openbao_kv_store"
ENV_URLS = ("BAO_PG_CONNECTION_URL", "VAULT_PG_CONNECTION_URL")
# OpenBao's defaults: physical.DefaultParallelOperations, and Go database/sql's idle pool of two.
# What a client is told when this server's write is fenced off: another server is active now.
_FENCED = "this server lost the HA lock to another server while serving the request; retry it"
_DEFAULT_PARALLEL = 128
_DEFAULT_IDLE = 2
_CONNECT_TIMEOUT = 10
# A server cut off from PostgreSQL in the middle of a write transaction must not keep the HA row's fence
# locked (which would stall a standby's takeover) until the kernel gives up on the socket: the session ends
# once idle in a transaction for 5 s (these transactions never wait on anything but the database), and
# PostgreSQL probes an idle socket as it does the HA lock's connection (see postgresql_ha).
_SESSION = (
    "SELECT set_config('idle_in_transaction_session_timeout', '5s', false),"
    " set_config('tcp_keepalives_idle', '2', false), set_config('tcp_keepalives_interval', '1', false),"
    " set_config('tcp_keepalives_count', '2', false)"
)
_FIRST_BACKOFF, _MAX_BACKOFF = 0.015, 5.0
_MIN_SERVER_VERSION = 110000  # starts_with()
_OPTIONS = frozenset(
    {"connection_url", "table", "max_parallel", "max_idle_connections", "skip_create_table", "ha_enabled",
     "ha_table", "max_connect_retries", "transaction_max_parallel"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PostgreSQLOptions:
    """The `storage "postgresql"` stanza, checked. `conninfo` is kept out of the repr: it holds a password."""

    conninfo: str = field(repr=False)
    table: str = DEFAULT_TABLE
    max_parallel: int = _DEFAULT_PARALLEL
    max_idle: int = _DEFAULT_IDLE
    skip_create_table: bool = False
    max_connect_retries: int = 1
    ha_enabled: bool = False
    ha_table: str = DEFAULT_HA_TABLE


def parse_options(config: Mapping[str, str], environ: Mapping[str, str]) -> PostgreSQLOptions:
    """The options of `config`, the connection URL taken from the environment first (as OpenBao does)."""
    unknown = sorted(set(config) - _OPTIONS)
    if unknown:
        raise ConfigError(f'storage "postgresql": unknown option {unknown[0]!r}')
    # Checked but not used: transactions draw from the one pool that max_parallel bounds.
    _count(config, "transaction_max_parallel", 1, 1)
    url = next((environ[name] for name in ENV_URLS if environ.get(name)), config.get("connection_url", ""))
    try:
        given = conninfo_to_dict(url)
    except psycopg.Error:
        # The driver's message quotes the text it could not read, which may be the password.
        raise ConfigError('storage "postgresql": connection_url is not a valid connection string') from None
    table = config.get("table", DEFAULT_TABLE)
    ha_table = config.get("ha_table", DEFAULT_HA_TABLE)
    for name, value in (("table", table), ("ha_table", ha_table)):
        if not value or "\x00" in value:
            raise ConfigError(f'storage "postgresql": {name} must be a non-empty name')
    # A server that accepts TCP but never answers must not hang startup or a request forever.
    conninfo = url if "connect_timeout" in given else make_conninfo(url, connect_timeout=_CONNECT_TIMEOUT)
    return PostgreSQLOptions(
        conninfo=conninfo,
        table=table,
        max_parallel=_count(config, "max_parallel", _DEFAULT_PARALLEL, 1),
        max_idle=_count(config, "max_idle_connections", _DEFAULT_IDLE, 0),
        skip_create_table=_flag(config, "skip_create_table"),
        max_connect_retries=_count(config, "max_connect_retries", 1, 0),
        ha_enabled=_flag(config, "ha_enabled"),
        ha_table=ha_table,
    )


def _flag(config: Mapping[str, str], name: str) -> bool:
    text = config.get(name, "false").lower()
    if text not in ("true", "false", "1", "0", "t", "f"):
        raise ConfigError(f'storage "postgresql": {name} must be true or false')
    return text in ("true", "1", "t")


def _count(config: Mapping[str, str], name: str, default: int, least: int) -> int:
    text = config.get(name)
    if text is None:
        return default
    if not text.strip().isdigit() or int(text) < least:
        raise ConfigError(f'storage "postgresql": {name} must be a whole number of at least {least}')
    return int(text)


class _Secret:
    """The connection password, to scrub from driver messages before they go anywhere."""

    def __init__(self, conninfo: str) -> None:
        password = conninfo_to_dict(conninfo).get("password") or ""
        self._forms = sorted({str(password), quote(str(password), safe="")} - {""}, key=len, reverse=True)

    def __repr__(self) -> str:
        return "_Secret(***)"

    def mask(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "***")
        return text


def split_key(key: str) -> tuple[str, str, str]:
    """OpenBao's (parent_path, path, key) of a storage key: its folder chain and its last segment."""
    folder, slash, name = key.rpartition("/")
    path = "/" + folder + slash
    parent = "" if path == "/" else path[:-1].rpartition("/")[0] + "/"
    return parent, path, name


def _successor(prefix: str) -> str:
    """A string above every string that starts with `prefix` (which starts with "/"), in code point order."""
    stripped = prefix.rstrip("\U0010ffff")
    following = ord(stripped[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be sent as UTF-8; the next code point can
        following = 0xE000
    return stripped[:-1] + chr(following)


class _Queries:
    """Every statement, with the table name quoted once."""

    def __init__(self, table: str) -> None:
        t = sql.Identifier(table)
        self.create = sql.SQL(
            'CREATE TABLE IF NOT EXISTS {t} (parent_path TEXT COLLATE "C" NOT NULL, path TEXT COLLATE "C", '
            'key TEXT COLLATE "C", value BYTEA, CONSTRAINT {pkey} PRIMARY KEY (path, key))'
        ).format(t=t, pkey=sql.Identifier(f"{table}_pkey"))
        self.get = sql.SQL("SELECT value FROM {t} WHERE path = %s AND key = %s").format(t=t)
        self.put = sql.SQL(
            "INSERT INTO {t} (parent_path, path, key, value) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (path, key) DO UPDATE SET parent_path = EXCLUDED.parent_path, value = EXCLUDED.value"
        ).format(t=t)
        self.delete = sql.SQL("DELETE FROM {t} WHERE path = %s AND key = %s").format(t=t)
        self.delete_all = sql.SQL("DELETE FROM {t}").format(t=t)
        self.everything = sql.SQL("SELECT path, key, value FROM {t} ORDER BY path, key").format(t=t)
        # Leaves are the rows of the folder itself; sub-folders are the first segments of the paths below it.
        self.children = sql.SQL(
            "SELECT child FROM ("
            " SELECT substr(key, %(skip_key)s) AS child FROM {t}"
            "  WHERE path = %(dir)s AND key > %(key_after)s AND starts_with(key, %(stem)s)"
            " UNION ALL"
            " SELECT DISTINCT split_part(substr(path, %(skip_path)s), '/', 1) || '/' FROM {t}"
            "  WHERE path > %(below)s AND path < %(above)s AND starts_with(path, %(below)s)"
            ') AS children WHERE child > %(after)s ORDER BY child COLLATE "C" LIMIT %(limit)s'
        ).format(t=t)


class PostgreSQLBackend:
    """PhysicalBackend and Transactional over one OpenBao-shaped table in PostgreSQL; HABackend too."""

    def __init__(self, options: PostgreSQLOptions) -> None:
        self.table = options.table
        self._options = options
        self._secret = _Secret(options.conninfo)
        self._queries = _Queries(options.table)
        self._slots = asyncio.Semaphore(options.max_parallel)
        self._idle: builtins.list[Connection] = []
        self._fence = Fence()
        self._fenced = fence_query(options.ha_table)

    @classmethod
    async def open(cls, options: PostgreSQLOptions) -> PostgreSQLBackend:
        """Connect (retrying as `max_connect_retries` says), check the server, create the table if allowed."""
        backend = cls(options)
        connection = await backend._first_connection()
        try:
            await backend._prepare(connection)
        except psycopg.Error as exc:
            await connection.close()
            raise backend._failure(exc) from None
        except StorageError:
            await connection.close()
            raise
        backend._idle.append(connection)
        return backend

    def __repr__(self) -> str:
        return f"PostgreSQLBackend(table={self.table!r})"

    @property
    def ha_enabled(self) -> bool:
        return self._options.ha_enabled

    def ha_lock(
        self, value: str, *, ttl: float = DEFAULT_TTL, renew_interval: float = DEFAULT_RENEW_INTERVAL
    ) -> PostgreSQLLock:
        return PostgreSQLLock(
            self._options.conninfo,
            self._options.ha_table,
            value,
            mask=self._secret.mask,
            ttl=ttl,
            renew_interval=renew_interval,
            fence=self._fence,
        )

    async def get(self, key: str) -> bytes | None:
        _, path, name = split_key(check_key(key))

        async def run(connection: Connection) -> bytes | None:
            row = await (await connection.execute(self._queries.get, (path, name))).fetchone()
            return None if row is None else bytes(row[0])

        return await self._use(run)

    async def put(self, key: str, value: bytes) -> None:
        row = (*split_key(check_key(key)), bytes(value))

        async def run(connection: Connection) -> None:
            async with self._write(connection):
                await connection.execute(self._queries.put, row)

        await self._use(run)

    async def delete(self, key: str) -> None:
        _, path, name = split_key(check_key(key))

        async def run(connection: Connection) -> None:
            async with self._write(connection):
                await connection.execute(self._queries.delete, (path, name))

        await self._use(run)

    async def list(self, prefix: str) -> builtins.list[str]:
        return await self._children(check_prefix(prefix), "", 0)

    async def list_page(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        return await self._children(check_prefix(prefix), after, limit)

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        rows = [(*split_key(check_key(key)), bytes(value)) for key, value in puts.items()]
        gone = [split_key(check_key(key))[1:] for key in deletes]

        async def run(connection: Connection) -> None:
            async with self._write(connection), connection.cursor() as cursor:
                if gone:
                    await cursor.executemany(self._queries.delete, gone)
                if rows:
                    await cursor.executemany(self._queries.put, rows)

        await self._use(run)

    async def snapshot_entries(self) -> builtins.list[tuple[str, bytes]]:
        """Every entry as of one instant: a REPEATABLE READ, READ ONLY transaction sees one snapshot of
        the table however many writes commit while it reads."""

        async def run(connection: Connection) -> builtins.list[tuple[str, bytes]]:
            async with connection.transaction():
                await connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                rows = await (await connection.execute(self._queries.everything)).fetchall()
            return [(str(path)[1:] + str(key), bytes(value)) for path, key, value in rows]

        return await self._use(run)

    async def replace_all(self, entries: builtins.list[tuple[str, bytes]]) -> None:
        """Delete every row of the table and insert `entries`, in one transaction (the HA table stays)."""
        rows = [(*split_key(check_key(key)), bytes(value)) for key, value in entries]

        async def run(connection: Connection) -> None:
            async with self._write(connection), connection.cursor() as cursor:
                await cursor.execute(self._queries.delete_all)
                if rows:
                    await cursor.executemany(self._queries.put, rows)

        await self._use(run)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()

    async def _children(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        # A prefix need not end in "/": "logical/ab" lists, in folder "/logical/", what begins with "ab".
        _, folder, stem = split_key(prefix)
        below = folder + stem
        params = {
            "dir": folder,
            "stem": stem,
            "skip_key": len(stem) + 1,
            "key_after": stem + after,
            "skip_path": len(below) + 1,
            "below": below,
            "above": _successor(below),
            "after": after,
            "limit": limit if limit > 0 else None,
        }

        async def run(connection: Connection) -> builtins.list[str]:
            rows = await (await connection.execute(self._queries.children, params)).fetchall()
            return [str(row[0]) for row in rows]

        return await self._use(run)

    @asynccontextmanager
    async def _write(self, connection: Connection) -> AsyncIterator[None]:
        """A write transaction; once this server has held the HA lock, one that commits only while the
        lock is still this server's (see postgresql_ha)."""
        async with connection.transaction():
            identity = self._fence.identity
            if identity is not None:
                params = {"key": LOCK_KEY, "identity": identity}
                if await (await connection.execute(self._fenced, params)).fetchone() is None:
                    raise FencedWriteError(_FENCED)
            yield

    async def _use(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        """Run `work` on a pooled connection; StorageError (password masked) for any database failure."""
        async with self._slots:
            try:
                return await self._attempt(work)
            except StorageError as exc:
                # The request fails with a bare "internal error"; the operator needs the reason.
                log.warning("%s", exc)
                raise

    async def _attempt(self, work: Callable[[Connection], Awaitable[T]]) -> T:
        while True:
            reused = bool(self._idle)
            connection = self._idle.pop() if reused else await self._connect()
            try:
                result = await work(connection)
            except psycopg.Error as exc:
                if not connection.broken:
                    await self._release(connection)
                    raise self._failure(exc) from None
                await connection.close()
                if not reused:
                    raise self._failure(exc) from None
                # An idle connection died (PostgreSQL restarted): its siblings are likely dead too.
                log.info("postgresql: a pooled connection was lost; reconnecting")
                await self.close()
                continue
            except BaseException:
                # Cancelled mid-statement: the connection's state is unknown, so it is not reused.
                await connection.close()
                raise
            await self._release(connection)
            return result

    async def _release(self, connection: Connection) -> None:
        if len(self._idle) < self._options.max_idle and not connection.closed:
            self._idle.append(connection)
        else:
            await connection.close()

    async def _connect(self) -> Connection:
        connection = None
        try:
            connection = await psycopg.AsyncConnection.connect(self._options.conninfo, autocommit=True)
            await connection.execute(_SESSION)
        except psycopg.Error as exc:
            if connection is not None:
                await connection.close()
            raise NothingWrittenError(str(self._failure(exc))) from None
        return connection

    async def _first_connection(self) -> Connection:
        """Connect at startup, with OpenBao's exponential backoff (max_connect_retries 0: forever)."""
        retries, delay, attempt = self._options.max_connect_retries, _FIRST_BACKOFF, 0
        while True:
            try:
                return await self._connect()
            except StorageError:
                attempt += 1
                if retries and attempt > retries:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF)

    async def _prepare(self, connection: Connection) -> None:
        row = await (
            await connection.execute(
                "SELECT current_setting('server_version_num')::int, getdatabaseencoding()"
            )
        ).fetchone()
        version, encoding = row if row is not None else (0, "")
        if version < _MIN_SERVER_VERSION:
            raise StorageError("postgresql: PostgreSQL 11 or later is required")
        if encoding != "UTF8":
            # Keys are ordered as UTF-8 code points; another encoding would misorder or refuse them.
            raise StorageError(f"postgresql: the database encoding must be UTF8, not {encoding}")
        if not self._options.skip_create_table:
            # Another server may create the table at the same moment: IF NOT EXISTS is not atomic.
            with suppress(psycopg.errors.UniqueViolation):
                await connection.execute(self._queries.create)
            if self._options.ha_enabled:
                with suppress(psycopg.errors.UniqueViolation):
                    await connection.execute(create_ha_table(self._options.ha_table))
            return
        found = await (
            await connection.execute(
                "SELECT to_regclass(%s)", (sql.Identifier(self.table).as_string(connection),)
            )
        ).fetchone()
        if found is None or found[0] is None:
            raise StorageError(f"postgresql: table {self.table!r} does not exist (skip_create_table is set)")

    def _failure(self, exc: psycopg.Error) -> StorageError:
        """One line: libpq's messages span several, and a startup failure must read as one."""
        return StorageError("postgresql: " + " ".join(self._secret.mask(str(exc)).split()))


async def open_postgresql(config: Mapping[str, str], environ: Mapping[str, str]) -> PostgreSQLBackend:
    """The backend a `storage "postgresql"` stanza describes, connected and ready."""
    return await PostgreSQLBackend.open(parse_options(config, environ))
