"""A real agent renders a database static role's credentials and re-renders them as soon as the role
rotates (the server's database/rotate event), on demand and on schedule, long before its 300 s poll; on
PostgreSQL and on MariaDB (which checks passwords here: the rendered one logs in, the old one no longer)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agent.conftest import Agent, agent_world, read, wait_for
from tests.mariadb import ROOT_PASSWORD, MariaDB
from tests.postgres import Postgres
from tests.servers import RunningServer


@dataclass(frozen=True)
class Target:
    """A database with a user for the static role, and how the engine connects to it."""

    config: dict[str, str]
    user: str
    # None where the database does not check passwords (the session's PostgreSQL trusts loopback).
    logs_in: Callable[[str, str], bool] | None


@pytest.fixture(params=["postgresql", "mariadb"])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    name = f"agent_{uuid.uuid4().hex[:8]}"
    if request.param == "postgresql":
        postgres: Postgres = request.getfixturevalue("postgres")
        postgres.query(f"CREATE ROLE {name} WITH LOGIN PASSWORD 'initial-pw'")
        config = {
            "plugin_name": "postgresql-database-plugin",
            "connection_url": postgres.url("{{username}}", "{{password}}"),
            "username": "postgres",
            "password": "unused",
        }
        yield Target(config, name, None)
        postgres.query(f"DROP ROLE IF EXISTS {name}")
        return
    mariadb: MariaDB = request.getfixturevalue("mariadb")
    mariadb.query(f"CREATE USER '{name}'@'%' IDENTIFIED BY 'initial-pw'")
    config = {
        "plugin_name": "mysql-database-plugin",
        "connection_url": mariadb.dsn(),
        "username": "root",
        "password": ROOT_PASSWORD,
    }
    yield Target(config, name, mariadb.logs_in)
    mariadb.query(f"DROP USER IF EXISTS '{name}'@'%'")


def test_a_rotation_is_rendered_at_once(
    server: RunningServer, target: Target, tmp_path: Path, run_agent: Agent
) -> None:
    mount = f"db-{uuid.uuid4().hex[:8]}"
    rules = f'path "{mount}/static-creds/*" {{ capabilities = ["read"] }}\n'
    with agent_world(server, tmp_path, rules=rules) as setup:
        root = setup.root
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "database"}).raise_for_status()
        try:
            config = {**target.config, "allowed_roles": "*"}
            root.post(f"/v1/{mount}/config/pg", json=config).raise_for_status()
            role = {"db_name": "pg", "username": target.user, "rotation_period": "1h"}
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
            if target.logs_in is not None:
                assert target.logs_in(target.user, second.split(":")[1].strip())
                assert not target.logs_in(target.user, first.split(":")[1].strip())
            root.post(f"/v1/{mount}/static-roles/app", json={"rotation_period": 5}).raise_for_status()
            wait_for(lambda: current() != second, 15, "a scheduled rotation")
            wait_for(lambda: read(out) == current(), 5, "the scheduled password", log)
            assert second.split(":")[1].strip() not in read(log)
        finally:
            root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()
