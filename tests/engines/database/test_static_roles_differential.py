"""Static roles, differentially against OpenBao (both configured on the same PostgreSQL, each with users of
its own): the same bad writes get the same status and words, and reads show the same fields."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.engines.database.conftest import PLUGIN, templated_url
from tests.postgres import Postgres
from tests.servers import RunningServer


@pytest.fixture
def pair(
    server: RunningServer, bao: RunningServer, postgres: Postgres
) -> Iterator[list[tuple[httpx.Client, str]]]:
    """Each server with a `database` mount holding connection "pg" and a PostgreSQL user of its own."""
    mount = f"db-{uuid.uuid4().hex[:8]}"
    made: list[tuple[httpx.Client, str]] = []
    with server.client() as ours, bao.client() as theirs:
        for client in (ours, theirs):
            user = f"diff_{uuid.uuid4().hex[:8]}"
            postgres.query(f"CREATE ROLE {user} WITH LOGIN PASSWORD 'initial-pw'")
            client.post(f"/v1/sys/mounts/{mount}", json={"type": "database"}).raise_for_status()
            client.post(
                f"/v1/{mount}/config/pg",
                json={
                    "plugin_name": PLUGIN,
                    "connection_url": templated_url(postgres),
                    "username": "postgres",
                    "password": "unused",
                    "allowed_roles": "*",
                },
            ).raise_for_status()
            made.append((client, user))
        try:
            yield [(client, f"{mount}|{user}") for client, user in made]
        finally:
            for client, user in made:
                client.delete(f"/v1/sys/mounts/{mount}")
                postgres.query(f"DROP ROLE IF EXISTS {user}")


def answer(client: httpx.Client, method: str, path: str, body: object = None) -> tuple[int, object]:
    response = client.request(method, path, json=body)
    if response.status_code == 204:
        return 204, None
    payload = response.json()
    data = payload.get("data") or {}
    return response.status_code, payload.get("errors", [sorted(data), data.get("credential_config")])


def test_bad_static_role_writes_and_reads_answer_as_openbao(pair: list[tuple[httpx.Client, str]]) -> None:
    results = []
    for client, where in pair:
        mount, user = where.split("|")
        good = {"db_name": "pg", "username": user, "rotation_period": "1h", "rotation_statements": []}
        steps = [
            ("POST", "static-roles/r1", {}),
            ("POST", "static-roles/r1", {"db_name": "pg"}),
            ("POST", "static-roles/r1", {"db_name": "pg", "username": user, "rotation_period": 3}),
            ("POST", "static-roles/r1", {**good, "credential_type": "bogus"}),
            ("GET", "static-roles/nope", None),
            ("GET", "static-creds/nope", None),
            ("POST", "rotate-role/nope", None),
            ("POST", "roles/dyn", {"db_name": "pg", "creation_statements": ["SELECT 1"]}),
            ("POST", "static-roles/dyn", good),
            ("POST", "static-roles/r1", good),
            ("POST", "roles/r1", {"db_name": "pg", "creation_statements": ["SELECT 1"]}),
            ("POST", "static-roles/r1", {"username": user + "x"}),
            ("GET", "static-roles/r1", None),
            ("GET", "static-creds/r1", None),
            ("POST", "rotate-role/r1", None),
            ("LIST", "static-roles", None),
            ("DELETE", "static-roles/r1", None),
            ("GET", "static-roles/r1", None),
            ("POST", "roles/cc", {"db_name": "pg", "credential_config": {"password_policy": "p", "x": "y"}}),
            ("GET", "roles/cc", None),
        ]
        results.append([answer(client, method, f"/v1/{mount}/{path}", body) for method, path, body in steps])
    ours, theirs = results
    assert ours == theirs
