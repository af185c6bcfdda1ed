"""`strongroom agent` with leased secrets, from OpenBao (strongroom has no dynamic engine yet): database
credentials on a real PostgreSQL are held and renewed, not minted anew at every render, and replaced once
their max TTL is used up; a non-renewable leased certificate is replaced at 85-95% of its lease."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import Agent, read, wait_for
from tests.postgres import Postgres, postgres_server
from tests.servers import RunningServer

CREATE_ROLE = "CREATE ROLE \"{{name}}\" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';"


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    with postgres_server() as running:
        yield running


def _approle_agent(bao: RunningServer, root: httpx.Client, directory: Path, rules: str, body: str) -> Path:
    """An AppRole on OpenBao whose token has `rules`, and an agent.hcl logging in with it, plus `body`."""
    name = uuid.uuid4().hex[:8]
    root.put(f"/v1/sys/policies/acl/leases-{name}", json={"policy": rules}).raise_for_status()
    root.post(f"/v1/sys/auth/approle-{name}", json={"type": "approle"}).raise_for_status()
    role = f"/v1/auth/approle-{name}/role/app"
    root.post(role, json={"token_policies": [f"leases-{name}"], "token_ttl": "1h"}).raise_for_status()
    (directory / "role_id").write_text(root.get(f"{role}/role-id").json()["data"]["role_id"])
    (directory / "secret_id").write_text(root.post(f"{role}/secret-id").json()["data"]["secret_id"])
    config = directory / "agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{bao.address}"\n}}\n'
        f'auto_auth {{\n  method "approle" {{\n    mount_path = "auth/approle-{name}"\n'
        f'    config = {{\n      role_id_file_path = "{directory}/role_id"\n'
        f'      secret_id_file_path = "{directory}/secret_id"\n    }}\n  }}\n}}\n'
        'template_config {\n  static_secret_render_interval = "1s"\n}\n' + body
    )
    return config


def _template(destination: Path, contents: str) -> str:
    quoted = contents.replace('"', '\\"')
    return f'template {{\n  destination = "{destination}"\n  contents = "{quoted}"\n}}\n'


def test_database_credentials_are_renewed_then_replaced_at_max_ttl(
    bao: RunningServer, postgres: Postgres, run_agent: Agent, tmp_path: Path
) -> None:
    mount = f"db-{uuid.uuid4().hex[:8]}"
    with bao.client() as root:
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
        # Polled every second: without holding the lease, each poll would mint a new user.
        template = f'{{{{ with secret "{mount}/creds/app" }}}}{{{{ .Data.username }}}}{{{{ end }}}}'
        body = _template(tmp_path / "user", template)
        run_agent(_approle_agent(bao, root, tmp_path, rules, body))
        wait_for(lambda: read(tmp_path / "user") != "", 15, "the first render", tmp_path / "agent.log")
        first = read(tmp_path / "user")
        began = time.monotonic()
        leases = f"/v1/sys/leases/lookup/{mount}/creds/app/"
        (lease,) = root.request("LIST", leases).json()["data"]["keys"]
        time.sleep(max(4.5 - (time.monotonic() - began), 0))
        # Past the 3 s TTL: still the same user, on the one lease, renewed by the agent.
        assert read(tmp_path / "user") == first
        assert root.request("LIST", leases).json()["data"]["keys"] == [lease]
        looked_up = root.put("/v1/sys/leases/lookup", json={"lease_id": f"{mount}/creds/app/{lease}"})
        assert looked_up.json()["data"]["last_renewal"] is not None
        # The 8 s max TTL cannot be renewed past: a new user replaces the old one before it expires.
        wait_for(
            lambda: read(tmp_path / "user") not in ("", first), 10, "new credentials", tmp_path / "agent.log"
        )
        root.delete(f"/v1/sys/mounts/{mount}")


def test_a_non_renewable_leased_certificate_is_replaced_before_it_expires(
    bao: RunningServer, run_agent: Agent, tmp_path: Path
) -> None:
    mount = f"pki-{uuid.uuid4().hex[:8]}"
    with bao.client() as root:
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "pki"}).raise_for_status()
        root.post(f"/v1/{mount}/root/generate/internal", json={"common_name": "test CA"}).raise_for_status()
        root.post(
            f"/v1/{mount}/roles/web",
            json={"allow_any_name": True, "generate_lease": True, "ttl": "4s", "max_ttl": "1h"},
        ).raise_for_status()
        rules = f'path "{mount}/issue/web" {{ capabilities = ["update"] }}\n'
        template = (
            f'{{{{ with secret "{mount}/issue/web" "common_name=a.example.com" }}}}'
            "{{ .Data.serial_number }}{{ end }}"
        )
        body = _template(tmp_path / "serial", template)
        run_agent(_approle_agent(bao, root, tmp_path, rules, body))
        wait_for(lambda: read(tmp_path / "serial") != "", 15, "the first certificate", tmp_path / "agent.log")
        first = read(tmp_path / "serial")
        time.sleep(2.5)
        # Polled every second, yet the certificate is not issued again while its lease has time left.
        assert read(tmp_path / "serial") == first
        wait_for(lambda: read(tmp_path / "serial") != first, 5, "a new certificate", tmp_path / "agent.log")
        root.delete(f"/v1/sys/mounts/{mount}")
