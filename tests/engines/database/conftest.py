"""Fixtures for the database engine tests: one real PostgreSQL for the package, and a fresh `database`
mount on the shared strongroom server per test (disabled afterwards, which revokes its leases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.postgres import Postgres
from tests.servers import RunningServer

PLUGIN = "postgresql-database-plugin"


@pytest.fixture
def mount(server: RunningServer) -> Iterator[str]:
    name = f"db-{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        root.post(f"/v1/sys/mounts/{name}", json={"type": "database"}).raise_for_status()
        yield name
        root.delete(f"/v1/sys/mounts/{name}").raise_for_status()


def templated_url(postgres: Postgres) -> str:
    return postgres.url("{{username}}", "{{password}}")


CHECKED_GROUP = "password_checked"
"""Members of this PostgreSQL role log in with their password: the session's server trusts everyone else."""


def require_passwords(postgres: Postgres) -> None:
    """Make PostgreSQL check the passwords of CHECKED_GROUP's members (a pg_hba.conf line ahead of the
    trust lines, then a reload); idempotent."""
    if not postgres.role_exists(CHECKED_GROUP):
        postgres.query(f"CREATE ROLE {CHECKED_GROUP} NOLOGIN")
    ((hba_file,),) = postgres.query("SHOW hba_file")
    hba = Path(str(hba_file))
    line = f"host all +{CHECKED_GROUP} 127.0.0.1/32 scram-sha-256\n"
    text = hba.read_text()
    if line not in text:
        hba.write_text(line + text)
        postgres.query("SELECT pg_reload_conf()")


@pytest.fixture
def user(postgres: Postgres) -> Iterator[str]:
    """A PostgreSQL login role with the password "initial-pw" (checked), dropped afterwards."""
    require_passwords(postgres)
    name = f"static_{uuid.uuid4().hex[:8]}"
    postgres.query(f"CREATE ROLE {name} WITH LOGIN PASSWORD 'initial-pw' IN ROLE {CHECKED_GROUP}")
    yield name
    postgres.query(f"DROP ROLE IF EXISTS {name}")


def logs_in(postgres: Postgres, user: str, password: str, url: str = "") -> bool:
    target = (url or postgres.url()).replace("postgres:unused@", f"{user}:{password}@", 1)
    try:
        with psycopg.connect(target, connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False
