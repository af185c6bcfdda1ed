"""`strongroom agent` with leased secrets: database credentials on a real PostgreSQL, from strongroom and from
OpenBao, are held and renewed (not minted anew at every render), and replaced once their max TTL is used
up, the expired user then dropped by the server; a non-renewable leased certificate (OpenBao's PKI; strongroom
has none yet) is replaced at 85-95% of its lease."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.agent.conftest import Agent, agent_world, read, wait_for
from tests.postgres import Postgres
from tests.servers import RunningServer

POLL_EVERY_SECOND = 'template_config {\n  static_secret_render_interval = "1s"\n}\n'


def _template(destination: Path, contents: str) -> str:
    quoted = contents.replace('"', '\\"')
    return f'template {{\n  destination = "{destination}"\n  contents = "{quoted}"\n}}\n'


@pytest.mark.parametrize("target", ["server", "bao"])
def test_database_credentials_are_renewed_then_replaced_at_max_ttl(
    target: str, request: pytest.FixtureRequest, postgres: Postgres, run_agent: Agent, tmp_path: Path
) -> None:
    server: RunningServer = request.getfixturevalue(target)
    mount = f"db-{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        postgres.enable_database(root, mount, default_ttl="3s", max_ttl="8s")
        rules = (
            f'path "{mount}/creds/app" {{ capabilities = ["read"] }}\n'
            'path "sys/leases/renew" { capabilities = ["update"] }\n'
        )
        # Polled every second: without holding the lease, each poll would mint a new user.
        template = f'{{{{ with secret "{mount}/creds/app" }}}}{{{{ .Data.username }}}}{{{{ end }}}}'
        body = _template(tmp_path / "user", template)
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
            assert postgres.role_exists(first)
            # The 8 s max TTL cannot be renewed past: a new user replaces the old one, which expires.
            wait_for(lambda: read(tmp_path / "user") not in ("", first), 10, "new credentials", log)
            wait_for(lambda: not postgres.role_exists(first), 10, "the expired user dropped", log)
        root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()


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
        with agent_world(bao, tmp_path, events=False, rules=rules) as world:
            run_agent(world.approle_config(body + POLL_EVERY_SECOND))
            log = tmp_path / "agent.log"
            wait_for(lambda: read(tmp_path / "serial") != "", 15, "the first certificate", log)
            first = read(tmp_path / "serial")
            time.sleep(2.5)
            # Polled every second, yet the certificate is not issued again while its lease has time left.
            assert read(tmp_path / "serial") == first
            wait_for(lambda: read(tmp_path / "serial") != first, 5, "a new certificate", log)
        root.delete(f"/v1/sys/mounts/{mount}")
