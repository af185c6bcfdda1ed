"""Fixtures for the database engine tests: one real PostgreSQL for the package, and a fresh `database`
mount on the shared strongroom server per test (disabled afterwards, which revokes its leases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.postgres import Postgres, postgres_server
from tests.servers import RunningServer

PLUGIN = "postgresql-database-plugin"
CREATE_ROLE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"


@pytest.fixture(scope="package")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as running:
        yield running


@pytest.fixture
def mount(server: RunningServer) -> Iterator[str]:
    name = f"db-{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        root.post(f"/v1/sys/mounts/{name}", json={"type": "database"}).raise_for_status()
        yield name
        root.delete(f"/v1/sys/mounts/{name}").raise_for_status()


def templated_url(postgres: Postgres) -> str:
    return postgres.url("{{username}}", "{{password}}")


def superuser_query(postgres: Postgres, query: str, *params: object) -> list[tuple[object, ...]]:
    """Rows of `query` run as the PostgreSQL superuser (none for a statement)."""
    with psycopg.connect(postgres.url(), autocommit=True) as connection:
        cursor = connection.execute(query.encode(), params or None)
        return cursor.fetchall() if cursor.description is not None else []


def role_exists(postgres: Postgres, name: str) -> bool:
    return bool(superuser_query(postgres, "SELECT 1 FROM pg_roles WHERE rolname = %s", name))
