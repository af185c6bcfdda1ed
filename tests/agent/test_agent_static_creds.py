"""A real agent renders a database static role's credentials and re-renders them as soon as the role
rotates (the server's database/rotate event), on demand and on schedule, long before its 300 s poll."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import Agent, agent_world, read, wait_for
from tests.postgres import Postgres
from tests.servers import RunningServer


@pytest.fixture
def db_user(postgres: Postgres) -> Iterator[str]:
    name = f"agent_{uuid.uuid4().hex[:8]}"
    postgres.query(f"CREATE ROLE {name} WITH LOGIN PASSWORD 'initial-pw'")
    yield name
    postgres.query(f"DROP ROLE IF EXISTS {name}")


def test_a_rotation_is_rendered_at_once(
    server: RunningServer, postgres: Postgres, db_user: str, tmp_path: Path, run_agent: Agent
) -> None:
    mount = f"db-{uuid.uuid4().hex[:8]}"
    rules = f'path "{mount}/static-creds/*" {{ capabilities = ["read"] }}\n'
    with agent_world(server, tmp_path, rules=rules) as setup:
        root = setup.root
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "database"}).raise_for_status()
        try:
            config = {
                "plugin_name": "postgresql-database-plugin",
                "connection_url": postgres.url("{{username}}", "{{password}}"),
                "username": "postgres",
                "password": "unused",
                "allowed_roles": "*",
            }
            root.post(f"/v1/{mount}/config/pg", json=config).raise_for_status()
            role = {"db_name": "pg", "username": db_user, "rotation_period": "1h"}
            root.post(f"/v1/{mount}/static-roles/app", json=role).raise_for_status()

            def current() -> str:
                creds = root.get(f"/v1/{mount}/static-creds/app").json()["data"]
                return f"{creds['username']}:{creds['password']}\n"

            out, log = setup.dir / "db.txt", setup.dir / "agent.log"
            contents = (
                f'{{{{ with secret "{mount}/static-creds/app" }}}}'
                "{{ .Data.username }}:{{ .Data.password }}{{ end }}"
            )
            run_agent(
                setup.approle_config(
                    f'template {{\n  destination = "{out}"\n  contents = <<EOT\n{contents}\nEOT\n}}\n'
                )
            )
            first = current()
            wait_for(lambda: read(out) == first, 10, "the first render", log)
            wait_for(lambda: "subscribed to the server's events" in read(log), 5, "the events", log)
            root.post(f"/v1/{mount}/rotate-role/app").raise_for_status()
            second = current()
            assert second != first
            wait_for(lambda: read(out) == second, 5, "the rotated password", log)
            root.post(f"/v1/{mount}/static-roles/app", json={"rotation_period": 5}).raise_for_status()
            wait_for(lambda: current() != second, 15, "a scheduled rotation")
            wait_for(lambda: read(out) == current(), 5, "the scheduled password", log)
            assert second.split(":")[1].strip() not in read(log)
        finally:
            root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()
