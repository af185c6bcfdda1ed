"""A real MariaDB for tests: `mariadb-install-db` and `mariadbd` in a fresh directory, on a loopback port.

MariaDB refuses to run as root unless told which user to be, so as root the server runs as the `mysql`
user (its files then live outside pytest's root-only temporary tree). The superuser `root` has the
password ROOT_PASSWORD over TCP; the tests exercise what connects to it, not MariaDB's own security.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pymysql

from tests.servers import free_port
from tests.tls import ScratchCA

ROOT_PASSWORD = "mariadb-root-pw"
CREATE_USER = "CREATE USER '{{name}}'@'%' IDENTIFIED BY '{{password}}';"
"""The creation statement Vault's docs give for MySQL database roles (without its GRANT)."""


@dataclass(frozen=True)
class MariaDB:
    """A running MariaDB: superuser `root` (password ROOT_PASSWORD) on 127.0.0.1:`port`, serving TLS with a
    certificate from the CA `ca` (PEM); `client` is a client certificate and key (PEM) from the same CA."""

    port: int
    ca: str
    client: str

    def dsn(self, user: str = "{{username}}", password: str = "{{password}}") -> str:
        """A connection_url in the Go driver's DSN form, as Vault's mysql plugins take it."""
        return f"{user}:{password}@tcp(127.0.0.1:{self.port})/"

    def connect(self, user: str = "root", password: str = ROOT_PASSWORD) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1", port=self.port, user=user, password=password, autocommit=True, connect_timeout=5
        )

    def query(self, query: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of `query` run as root (none for a statement)."""
        with self.connect() as connection, connection.cursor() as cursor:
            cursor.execute(query, params or None)
            return list(cursor.fetchall())

    def user_exists(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM mysql.user WHERE user = %s", name))

    def logs_in(self, user: str, password: str) -> bool:
        try:
            self.connect(user, password).close()
        except pymysql.err.OperationalError:
            return False
        return True


@contextmanager
def mariadb_server() -> Iterator[MariaDB]:
    """Start a throwaway MariaDB; stop it and remove its files afterwards."""
    base = Path(tempfile.mkdtemp(prefix="strongroom-mariadb-"))
    data, socket = base / "data", base / "mysqld.sock"
    user = ["--user=mysql"] if os.geteuid() == 0 else []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("mysql")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = free_port()
    process = None
    tls = base / "tls"
    tls.mkdir()
    authority = ScratchCA(tls)
    server, client = authority.issue("mariadb"), authority.issue("client", server=False)
    if os.geteuid() == 0:
        for path in (tls, *tls.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
    try:
        subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={data}",
             "--auth-root-authentication-method=normal", "--skip-test-db", *user],
            check=True, capture_output=True,
        )  # fmt: skip
        with (base / "mariadbd.log").open("wb") as log:
            process = subprocess.Popen(
                [shutil.which("mariadbd") or "/usr/sbin/mariadbd", "--no-defaults", f"--datadir={data}",
                 f"--socket={socket}", f"--port={port}", "--bind-address=127.0.0.1", "--skip-name-resolve",
                 "--innodb-flush-log-at-trx-commit=0", f"--pid-file={base / 'mariadbd.pid'}",
                 f"--ssl-ca={authority.path}", f"--ssl-cert={server.cert}", f"--ssl-key={server.key}", *user],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mariadbd did not start:\n{(base / 'mariadbd.log').read_text()}")
            time.sleep(0.05)
        subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={socket}", "-uroot", "-e",
             "DROP USER IF EXISTS 'root'@'127.0.0.1', 'root'@'::1', ''@'localhost', ''@'127.0.0.1'; "
             f"CREATE USER 'root'@'%' IDENTIFIED BY '{ROOT_PASSWORD}'; "
             "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;"],
            check=True, capture_output=True,
        )  # fmt: skip
        yield MariaDB(port, authority.path.read_text(), client.cert.read_text() + client.key.read_text())
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(base, ignore_errors=True)
