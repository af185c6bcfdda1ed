"""Fixtures for the database engine tests: one real PostgreSQL for the package, and a fresh `database`
mount on the shared strongroom server per test (disabled afterwards, which revokes its leases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

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
