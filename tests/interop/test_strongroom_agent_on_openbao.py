"""`strongroom agent` against a real OpenBao (`bao server -dev`): approle auto-auth, the token sink,
templates from a KV v2 mount, and re-rendering by polling alone (OpenBao has no event API)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent import conftest as agent_fixtures
from tests.agent.conftest import Agent, Setup, agent_world, read, wait_for
from tests.servers import RunningServer

run_agent = agent_fixtures.run_agent


@pytest.fixture
def world(bao: RunningServer, tmp_path: Path) -> Iterator[Setup]:
    with agent_world(bao, tmp_path, events=False) as running:
        yield running


def _template(destination: Path, contents: str, extra: str = "") -> str:
    return f'template {{\n  destination = "{destination}"\n  contents = <<EOT\n{contents}\nEOT\n{extra}}}\n'


def test_token_sink_and_templates_render_from_openbao_and_exit_after_auth(
    world: Setup, run_agent: Agent
) -> None:
    world.put("db", {"user": "app", "password": "s3cret"})
    world.put("api", {"key": "k-1"})
    config = world.approle_config(
        _template(
            world.dir / "db.txt",
            f'{{{{ with secret "{world.kv}/db" }}}}{{{{ .Data.data.user }}}}:{{{{ .Data.data.password }}}}'
            "{{ end }}",
            '  perms = "0600"\n',
        )
        + _template(
            world.dir / "keys.txt",
            f'{{{{ range secrets "{world.kv}/" }}}}{{{{ . }}}} {{{{ end }}}}'
            f'{{{{ with secret "{world.kv}/data/api" }}}}{{{{ .Data.data.key }}}}{{{{ end }}}}',
        )
        + "exit_after_auth = true\n",
        sink_mode="0600",
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 0, read(world.dir / "agent.log")
    token = read(world.dir / "token")
    assert stat.S_IMODE((world.dir / "token").stat().st_mode) == 0o600
    # The sink holds a token OpenBao issued to the role.
    lookup = httpx.get(f"{world.server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
    assert lookup.status_code == 200
    assert lookup.json()["data"]["meta"] == {"role_name": "app"}
    assert read(world.dir / "db.txt") == "app:s3cret\n"
    assert stat.S_IMODE((world.dir / "db.txt").stat().st_mode) == 0o600
    assert read(world.dir / "keys.txt") == "api db k-1\n"
    assert not (world.dir / "secret_id").exists()
    log = read(world.dir / "agent.log")
    assert token not in log
    assert "s3cret" not in log


def test_a_kv_update_reaches_the_file_by_polling_without_an_event_api(world: Setup, run_agent: Agent) -> None:
    world.put("db", {"password": "one"})
    destination = world.dir / "db.txt"
    config = world.approle_config(
        _template(
            destination, f'{{{{ with secret "{world.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}'
        )
        + 'template_config {\n  static_secret_render_interval = "1s"\n}\n'
    )
    process = run_agent(config)
    log = world.dir / "agent.log"
    wait_for(lambda: read(destination) == "one\n", 10, "the first render", log)
    # OpenBao has no event API (404 for root; 403 for a token, its ACL check comes first): the agent says
    # so and polls, without failing or retrying the subscription.
    wait_for(lambda: "polling every 1s" in read(log), 10, "the fallback to polling", log)
    assert "the server refused the event subscription with 403; polling every 1s" in read(log)
    world.put("db", {"password": "two"})
    wait_for(lambda: read(destination) == "two\n", 5, "the polled update", log)
    world.put("db", {"password": "three"})
    wait_for(lambda: read(destination) == "three\n", 5, "a second polled update", log)
    assert process.poll() is None
    assert "ERROR" not in read(log)
    assert "WARNING" not in read(log)
