"""A real PostgreSQL for tests: `initdb` and `pg_ctl` in a fresh directory, listening on a loopback port.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user (its data directory
then lives outside pytest's root-only temporary tree). Authentication is `trust` on loopback: the tests
that use it exercise what connects to it, not PostgreSQL's own security.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tests.servers import free_port

CREATE_ROLE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"
"""The creation statement Vault's docs give for PostgreSQL database roles."""


@dataclass(frozen=True)
class Postgres:
    """A running PostgreSQL: superuser `postgres`, database `postgres`, on 127.0.0.1:`port`."""

    port: int

    def url(self, user: str = "postgres", password: str = "unused") -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def query(self, query: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of `query` run as the superuser (none for a statement)."""
        with psycopg.connect(self.url(), autocommit=True) as connection:
            cursor = connection.execute(query.encode(), params or None)
            return cursor.fetchall() if cursor.description is not None else []

    @contextmanager
    def database(self, name: str, password: str = "unused") -> Iterator[str]:
        """A database of the caller's own (to switch off, or kill connections in, without harm to other
        suites), dropped afterwards: its URL."""
        self.query(f"CREATE DATABASE {name}")
        try:
            yield self.url(password=password).replace("/postgres?", f"/{name}?")
        finally:
            self.query(f"DROP DATABASE {name} WITH (FORCE)")

    def role_exists(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM pg_roles WHERE rolname = %s", name))

    def enable_database(self, root: httpx.Client, mount: str, **role: object) -> None:
        """A `database` mount at `mount` on the server `root` talks to: connection "pg" to this PostgreSQL
        and role "app" with CREATE_ROLE and `role`'s settings."""
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "database"}).raise_for_status()
        config = {
            "plugin_name": "postgresql-database-plugin",
            "connection_url": self.url("{{username}}", "{{password}}"),
            "username": "postgres",
            "password": "unused",
            "allowed_roles": "*",
        }
        root.post(f"/v1/{mount}/config/pg", json=config).raise_for_status()
        body = {"db_name": "pg", "creation_statements": [CREATE_ROLE], **role}
        root.post(f"/v1/{mount}/roles/app", json=body).raise_for_status()


def _as_owner(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """Start a throwaway PostgreSQL; stop it and remove its files afterwards."""
    base = Path(tempfile.mkdtemp(prefix="strongroom-pg-"))
    data, log = base / "data", base / "postgres.log"
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
    port = free_port()
    try:
        subprocess.run(
            _as_owner(
                ["initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"]
            ),
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_owner(["pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start"]),
            check=True,
            capture_output=True,
        )
        try:
            yield Postgres(port)
        finally:
            subprocess.run(
                _as_owner(["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"]),
                check=False,
                capture_output=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)
