"""The MySQL/MariaDB plugins (Vault's mysql-database-plugin and its mysql-aurora, mysql-rds and
mysql-legacy variants, which differ only in their username template): users created and dropped with the
role's SQL statements, static users' and the root user's passwords set. Layer: builtin (domain logic).

Imports PyMySQL (lazily: a server without MySQL connections never loads it), errors and the engine's
models and statements. PyMySQL is blocking, so each call runs in a worker thread, one at a time per
connection config. The connection_url is the Go driver's DSN (`{{username}}:{{password}}@tcp(host:port)/db`
or `unix(/path/to/socket)`), as Vault takes it; TLS comes from the tls_ca, tls_certificate_key and
tls_skip_verify connection details, or the DSN's tls parameter.

Invariant: no password (a user's, or the root user's) reaches an error message: every message from the
database or the driver passes through `redact` first.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

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

if TYPE_CHECKING:
    import pymysql.connections

MYSQL_PLUGINS = {
    # Vault's username templates: the current one (32 characters), and the legacy one (16) the others keep.
    "mysql-database-plugin": (10, 10, 32),
    "mysql-aurora-database-plugin": (0, 4, 16),
    "mysql-rds-database-plugin": (0, 4, 16),
    "mysql-legacy-database-plugin": (0, 4, 16),
}
DEFAULT_REVOCATION = "REVOKE ALL PRIVILEGES, GRANT OPTION FROM '{{name}}'@'%'; DROP USER '{{name}}'@'%'"
DEFAULT_ROTATION = "ALTER USER '{{username}}'@'%' IDENTIFIED BY '{{password}}';"
# Where a DSN without an address points (the Go driver's default).
DEFAULT_PORT = 3306


class DsnError(ValueError):
    """A connection_url the Go driver could not parse (its words)."""


@dataclass(frozen=True, slots=True)
class Dsn:
    """A Go MySQL DSN taken apart: who, where (host and port, or a unix socket), which database, options."""

    user: str
    password: str
    host: str
    port: int
    socket: str
    database: str
    params: Mapping[str, str]


def parse_dsn(dsn: str) -> Dsn:
    """`[user[:password]@][net[(address)]]/dbname[?param=value&...]`, as go-sql-driver/mysql reads it
    (the last "@" before the last "/" ends the credentials)."""
    slash = dsn.rfind("/")
    if slash < 0:
        raise DsnError("invalid DSN: missing the slash separating the database name")
    head, tail = dsn[:slash], dsn[slash + 1 :]
    database, _, query = tail.partition("?")
    at = head.rfind("@")
    credentials, address = (head[:at], head[at + 1 :]) if at >= 0 else ("", head)
    user, _, password = credentials.partition(":")
    net, _, inner = address.partition("(")
    inner = inner.removesuffix(")")
    host, port, socket = "127.0.0.1", DEFAULT_PORT, ""
    if net == "unix":
        if not inner:
            raise DsnError("invalid DSN: unix needs the socket's path: unix(/path/to/socket)")
        socket = inner
    elif net in ("", "tcp"):
        if inner:
            host, _, port_text = inner.rpartition(":") if ":" in inner else (inner, "", "")
            if port_text:
                if not port_text.isdigit():
                    raise DsnError(f"invalid DSN: invalid port {port_text!r}")
                port = int(port_text)
            host = host.strip("[]") or "127.0.0.1"
    else:
        raise DsnError(f"invalid DSN: unknown network {net!r}")
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    return Dsn(user, password, host, port, socket, unquote(database), params)


class MySQL:
    """The link to one configured MySQL or MariaDB."""

    def __init__(self, config: DatabaseConfig) -> None:
        self._config = config
        self._sizes = MYSQL_PLUGINS[config.plugin_name]
        self._connection: pymysql.connections.Connection[Any] | None = None
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"MySQL({self._config.name!r})"

    def username(self, display_name: str, role: str, now: float) -> str:
        """A new user's name, from the plugin's Vault username template."""
        return username_from_template(display_name, role, now, self._sizes)

    def _error(self, prefix: str, exc: BaseException, *secrets: str) -> InvalidRequestError:
        """The Go driver's words for `exc` ("Error 1045 (28000): Access denied ..."), after `prefix`."""
        args: tuple[Any, ...] = exc.args
        if len(args) == 2 and isinstance(args[0], int):
            state = getattr(exc, "sqlstate", None)
            detail = f"Error {args[0]}{f' ({state})' if state else ''}: {args[1]}"
        elif isinstance(exc, DsnError):
            detail = f"unable to parse connectionURL: {exc}"
        else:
            detail = str(exc) or type(exc).__name__
        detail = redact(detail.strip(), self._config.password, *secrets)
        return InvalidRequestError(f"{prefix}: {detail}" if prefix else detail)

    def _tls(self, dsn: Dsn) -> ssl.SSLContext | None:
        details = self._config.details
        mode = dsn.params.get("tls", "")
        ca, pair = str(details.get("tls_ca") or ""), str(details.get("tls_certificate_key") or "")
        skip = bool(details.get("tls_skip_verify")) or mode == "skip-verify"
        if not (ca or pair or mode in ("true", "skip-verify", "preferred")):
            return None
        context = ssl.create_default_context(cadata=ca or None)
        if skip:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if pair:
            # ssl reads a certificate chain only from a file: a private one, gone once loaded.
            fd, path = tempfile.mkstemp(prefix="strongroom-mysql-")
            try:
                with os.fdopen(fd, "w") as handle:
                    handle.write(pair)
                context.load_cert_chain(path)
            finally:
                os.unlink(path)
        return context

    def _connect(self) -> pymysql.connections.Connection[Any]:
        import pymysql

        if self._connection is not None and self._connection.open:
            return self._connection
        self._drop()
        dsn = parse_dsn(self._config.connection_url)
        values = {"username": self._config.username, "password": self._config.password}
        self._connection = pymysql.connect(
            host=dsn.host,
            port=dsn.port,
            unix_socket=dsn.socket or None,
            user=render(dsn.user, values),
            password=render(dsn.password, values),
            database=dsn.database or None,
            ssl=self._tls(dsn),
            connect_timeout=CONNECT_TIMEOUT,
            read_timeout=CONNECT_TIMEOUT * 3,
            write_timeout=CONNECT_TIMEOUT * 3,
            autocommit=False,
        )
        return self._connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    async def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        async with self._lock:
            await asyncio.to_thread(self._drop)

    async def _call(self, prefix: str, work: Any, *secrets: str) -> Any:
        """Run `work(connection)` in a thread; any failure is an InvalidRequestError with no secret."""

        def run() -> Any:
            connection = self._connect()
            try:
                return work(connection)
            except Exception:
                with contextlib.suppress(Exception):
                    connection.rollback()
                if not connection.open:
                    self._drop()
                raise

        async with self._lock:
            try:
                return await asyncio.to_thread(run)
            except Exception as exc:  # PyMySQL's errors, DsnError, OSError, ssl.SSLError: a failed call
                await asyncio.to_thread(self._drop)
                raise self._error(prefix, exc, *secrets) from None

    async def verify(self) -> None:
        """Connect now; InvalidRequestError with the reason when that fails."""

        def ping(connection: pymysql.connections.Connection[Any]) -> None:
            connection.ping(reconnect=False)

        try:
            parse_dsn(self._config.connection_url)
        except DsnError as exc:
            raise self._error("error creating database object: error verifying - connection", exc) from None
        await self._call("error creating database object: error verifying - ping", ping)

    async def _run(self, prefix: str, queries: Sequence[str], values: Mapping[str, str]) -> None:
        """Run `queries` (templated with `values`) in one transaction (MySQL commits DDL as it goes)."""

        def work(connection: pymysql.connections.Connection[Any]) -> None:
            connection.begin()
            with connection.cursor() as cursor:
                for query in queries:
                    cursor.execute(render(query, values))
            connection.commit()

        await self._call(prefix, work, values.get("password", ""))

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
        await self._run("", queries, values)

    async def renew_user(self, statements: Sequence[str], username: str, expiration: float) -> None:
        """Vault's MySQL plugin changes nothing on renewal (MySQL users have no expiry to move)."""

    async def revoke_user(self, statements: Sequence[str], username: str) -> None:
        """Drop `username`: the role's revocation statements, else Vault's default (when the user exists)."""
        queries = split_statements(statements)
        values = {"name": username, "username": username}
        if not queries:

            def exists(connection: pymysql.connections.Connection[Any]) -> bool:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1 FROM mysql.user WHERE user = %s", (username,))
                    return cursor.fetchone() is not None

            if not await self._call("failed to revoke user", exists):
                return
            queries = split_statements([DEFAULT_REVOCATION])
        await self._run("failed to revoke user", queries, values)

    async def set_password(self, statements: Sequence[str], username: str, password: str) -> None:
        """Give the existing user `username` the password `password`: a static role's rotation statements,
        else ALTER USER."""
        queries = split_statements(statements) or split_statements([DEFAULT_ROTATION])
        values = {"name": username, "username": username, "password": password}
        await self._run("error setting credentials: failed to change password", queries, values)

    async def rotate_root(self, statements: Sequence[str], new_password: str) -> None:
        """Set the root user's password to `new_password`; the connection is then reopened with it."""
        username = self._config.username
        queries = split_statements(statements) or split_statements([DEFAULT_ROTATION])
        values = {"name": username, "username": username, "password": new_password}
        await self._run("failed to update user", queries, values)
        await self.close()
