"""`strongroom agent` against strongroom's own database engine on a real PostgreSQL: the credentials are
held and renewed (the same user across polls), replaced once their max TTL is used up, and the expired
user is dropped from PostgreSQL by the server's lease expiry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.agent.conftest import Agent, agent_world, read, wait_for
from tests.postgres import Postgres, postgres_server
from tests.servers import RunningServer

POLL_EVERY_SECOND = 'template_config {\n  static_secret_render_interval = "1s"\n}\n'
CREATE_ROLE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as running:
        yield running


def _role_exists(postgres: Postgres, name: str) -> bool:
    with psycopg.connect(postgres.url(), autocommit=True) as connection:
        return connection.execute(b"SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone() is not None


def test_database_credentials_are_renewed_then_replaced_at_max_ttl(
    server: RunningServer, postgres: Postgres, run_agent: Agent, tmp_path: Path
) -> None:
    mount = f"db-{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "database"}).raise_for_status()
        root.post(
            f"/v1/{mount}/config/pg",
            json={
                "plugin_name": "postgresql-database-plugin",
                "connection_url": postgres.url("{{username}}", "{{password}}"),
                "username": "postgres",
                "password": "unused",
                "allowed_roles": "*",
            },
        ).raise_for_status()
        root.post(
            f"/v1/{mount}/roles/app",
            json={
                "db_name": "pg",
                "creation_statements": [CREATE_ROLE],
                "default_ttl": "3s",
                "max_ttl": "8s",
            },
        ).raise_for_status()
        rules = (
            f'path "{mount}/creds/app" {{ capabilities = ["read"] }}\n'
            'path "sys/leases/renew" { capabilities = ["update"] }\n'
        )
        template = f'{{{{ with secret "{mount}/creds/app" }}}}{{{{ .Data.username }}}}{{{{ end }}}}'
        quoted = template.replace('"', '\\"')
        body = f'template {{\n  destination = "{tmp_path / "user"}"\n  contents = "{quoted}"\n}}\n'
        log = tmp_path / "agent.log"
        with agent_world(server, tmp_path, events=False, rules=rules) as world:
            run_agent(world.approle_config(body + POLL_EVERY_SECOND))
            wait_for(lambda: read(tmp_path / "user") != "", 15, "the first render", log)
            first = read(tmp_path / "user")
            leases = f"/v1/sys/leases/lookup/{mount}/creds/app/"
            (lease,) = root.request("LIST", leases).json()["data"]["keys"]
            time.sleep(4.5)
            # Past the 3 s TTL: still the same user, on the one lease, renewed by the agent.
            assert read(tmp_path / "user") == first
            assert root.request("LIST", leases).json()["data"]["keys"] == [lease]
            looked_up = root.put("/v1/sys/leases/lookup", json={"lease_id": f"{mount}/creds/app/{lease}"})
            assert looked_up.json()["data"]["last_renewal"] is not None
            assert _role_exists(postgres, first)
            # The 8 s max TTL cannot be renewed past: a new user replaces the old one, which expires.
            wait_for(lambda: read(tmp_path / "user") not in ("", first), 10, "new credentials", log)
            wait_for(lambda: not _role_exists(postgres, first), 10, "the expired user dropped", log)
        root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()
