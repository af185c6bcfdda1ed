"""The PostgreSQL plugin (Vault's postgresql-database-plugin): users created, renewed and dropped with the
role's SQL statements, and the root user's password rotated. Layer: builtin (domain logic, no framework).

Imports psycopg, errors and the engine's models and statements. One `PostgreSQL` per connection config
holds one lazily opened connection (reopened when it breaks), used under a lock: the engine's work is a few
short statements per request, so a pool would buy nothing.

Invariant: no password (a user's, or the root user's) reaches an error message: every message from the
database or the driver passes through `_redact` first.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import psycopg

from strongroom.builtin.secrets.database.models import DatabaseConfig
from strongroom.builtin.secrets.database.statements import (
    CONNECT_TIMEOUT,
    expiration_text,
    redact,
    render,
    split_statements,
    username_from_template,
)
from strongroom.errors import InvalidRequestError

DEFAULT_RENEW = "ALTER ROLE \"{{name}}\" VALID UNTIL '{{expiration}}';"
DEFAULT_ROOT_ROTATION = "ALTER ROLE \"{{name}}\" WITH PASSWORD '{{password}}';"
# Vault's default username template for PostgreSQL: display name and role cut to 8, PostgreSQL's 63 limit.
USERNAME_SIZES = (8, 8, 63)


def quote_identifier(name: str) -> str:
    """Vault's dbutil.QuoteIdentifier: a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class PostgreSQL:
    """The link to one configured PostgreSQL."""

    def __init__(self, config: DatabaseConfig) -> None:
        self._config = config
        self._connection: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgreSQL({self._config.name!r})"

    def _redact(self, message: str, *secrets: str) -> str:
        return redact(message, self._config.password, *secrets)

    def username(self, display_name: str, role: str, now: float) -> str:
        """A new user's name, from Vault's default PostgreSQL template."""
        return username_from_template(display_name, role, now, USERNAME_SIZES)

    def _error(self, prefix: str, exc: BaseException, *secrets: str) -> InvalidRequestError:
        detail = str(exc)
        if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
            state = f" (SQLSTATE {exc.diag.sqlstate})" if exc.diag.sqlstate else ""
            detail = f"{exc.diag.severity or 'ERROR'}: {exc.diag.message_primary}{state}"
        elif isinstance(exc, TimeoutError):
            detail = "timed out"
        return InvalidRequestError(f"{prefix}: {self._redact(detail.strip(), *secrets)}")

    def _url(self) -> str:
        return render(
            self._config.connection_url,
            {
                "username": quote(self._config.username, safe=""),
                "password": quote(self._config.password, safe=""),
            },
        )

    async def _connect(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._connection is not None and not (self._connection.closed or self._connection.broken):
            return self._connection
        await self._drop()
        connection = await asyncio.wait_for(
            psycopg.AsyncConnection.connect(self._url(), autocommit=True, connect_timeout=CONNECT_TIMEOUT),
            CONNECT_TIMEOUT + 5,
        )
        self._connection = connection
        return connection

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()

    async def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        async with self._lock:
            await self._drop()

    async def verify(self) -> None:
        """Connect now; InvalidRequestError with the reason when that fails."""
        async with self._lock:
            try:
                connection = await self._connect()
                await connection.execute(b"SELECT 1")
            except (psycopg.Error, OSError, TimeoutError) as exc:
                await self._drop()
                raise self._error("error creating database object: error verifying connection", exc) from None

    async def _run(self, prefix: str, queries: Sequence[str], values: Mapping[str, str]) -> None:
        """Run `queries` (templated with `values`) in one transaction."""
        secrets = (values.get("password", ""),)
        async with self._lock:
            try:
                connection = await self._connect()
                async with connection.transaction():
                    for query in queries:
                        await connection.execute(render(query, values).encode())
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self._connection is not None and self._connection.broken:
                    await self._drop()
                raise self._error(prefix, exc, *secrets) from None

    async def new_user(
        self, statements: Sequence[str], username: str, password: str, expiration: float
    ) -> None:
        """Create `username` with the role's creation statements."""
        queries = split_statements(statements)
        if not queries:
            raise InvalidRequestError("empty creation statements")
        values = {
            "name": username,
            "username": username,
            "password": password,
            "expiration": expiration_text(expiration),
        }
        await self._run("failed to execute query", queries, values)

    async def renew_user(self, statements: Sequence[str], username: str, expiration: float) -> None:
        """Move `username`'s expiry to `expiration` (the role's renew statements, else ALTER ROLE)."""
        queries = split_statements(statements) or split_statements([DEFAULT_RENEW])
        values = {"name": username, "username": username, "expiration": expiration_text(expiration)}
        await self._run("failed to renew user", queries, values)

    async def revoke_user(self, statements: Sequence[str], username: str) -> None:
        """Drop `username`: the role's revocation statements, else Vault's default (revoke, then drop)."""
        queries = split_statements(statements)
        if queries:
            await self._run("failed to revoke user", queries, {"name": username, "username": username})
            return
        async with self._lock:
            try:
                await self._default_revoke(await self._connect(), username)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self._connection is not None and self._connection.broken:
                    await self._drop()
                raise self._error("failed to revoke user", exc) from None

    @staticmethod
    async def _default_revoke(connection: psycopg.AsyncConnection[tuple[object, ...]], username: str) -> None:
        """Vault's defaultDeleteUser: revoke what can be revoked (each on its own, so one failure does not
        keep the others), then drop the role."""
        cursor = await connection.execute(
            b"SELECT exists (SELECT rolname FROM pg_roles WHERE rolname=%s)", [username]
        )
        row = await cursor.fetchone()
        if row is None or not row[0]:
            return
        user = quote_identifier(username)
        cursor = await connection.execute(
            b"SELECT DISTINCT table_schema FROM information_schema.role_column_grants WHERE grantee=%s",
            [username],
        )
        queries: list[str] = []
        for (schema,) in await cursor.fetchall():
            queries.append(
                f"REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA {quote_identifier(str(schema))} FROM {user}"
            )
            queries.append(f"REVOKE USAGE ON SCHEMA {quote_identifier(str(schema))} FROM {user}")
        queries += [
            f"REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM {user}",
            f"REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM {user}",
            f"REVOKE USAGE ON SCHEMA public FROM {user}",
        ]
        cursor = await connection.execute(b"SELECT current_database()")
        database = await cursor.fetchone()
        if database is not None and database[0]:
            queries.append(f"REVOKE CONNECT ON DATABASE {quote_identifier(str(database[0]))} FROM {user}")
        failure: psycopg.Error | None = None
        for query in queries:
            try:
                await connection.execute(query.encode())
            except psycopg.Error as exc:
                failure = exc
        if failure is not None:
            raise failure
        await connection.execute(f"DROP ROLE IF EXISTS {user}".encode())

    async def set_password(self, statements: Sequence[str], username: str, password: str) -> None:
        """Give the existing user `username` the password `password` (a static role's rotation: its
        rotation statements, else ALTER ROLE), in one transaction: a failure leaves the old one working."""
        queries = split_statements(statements) or split_statements([DEFAULT_ROOT_ROTATION])
        values = {"name": username, "username": username, "password": password}
        await self._run("error setting credentials", queries, values)

    async def rotate_root(self, statements: Sequence[str], new_password: str) -> None:
        """Set the root user's password to `new_password`; the connection is then reopened with it."""
        username = self._config.username
        queries = split_statements(statements) or split_statements([DEFAULT_ROOT_ROTATION])
        values = {"name": username, "username": username, "password": new_password}
        await self._run("failed to update user", queries, values)
        await self.close()
