"""The persistent cache (`cache { persist "file" | "kubernetes" { ... } }`): a real agent process caches a
PostgreSQL lease and its auto-auth token, is stopped and started again, and serves the same lease with the
same token without logging in (its secret ID file is gone after the first login, as AppRole's default
says); the file is 0600 and holds neither in clear; keep_after_import, exit_on_err and a changed key.
"""

from __future__ import annotations

import stat
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import Agent, Setup, agent_world, read, wait_for
from tests.postgres import Postgres
from tests.servers import RunningServer, free_port

FILE = "strongroom-agent-cache.db"


@pytest.fixture
def world(server: RunningServer, postgres: Postgres, tmp_path: Path) -> Iterator[tuple[Setup, str]]:
    database = f"db-{uuid.uuid4().hex[:8]}"
    rules = f'path "{database}/creds/*" {{ capabilities = ["read"] }}\n'
    with agent_world(server, tmp_path, rules=rules) as setup:
        postgres.enable_database(setup.root, database, default_ttl="1h", max_ttl="2h")
        try:
            yield setup, database
        finally:
            setup.root.put(f"/v1/sys/leases/revoke-prefix/{database}").raise_for_status()
            setup.root.delete(f"/v1/sys/mounts/{database}").raise_for_status()


def _config(setup: Setup, persist: str) -> tuple[Path, str]:
    port = free_port()
    config = setup.approle_config(
        f"cache {{\n{persist}}}\napi_proxy {{\n  use_auto_auth_token = true\n}}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    return config, f"http://127.0.0.1:{port}"


def _serving(url: str, log: Path) -> None:
    def up() -> bool:
        try:
            return httpx.get(f"{url}/agent/v1/metrics", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 15, "the agent's listener", log)


def _lease(url: str, database: str) -> httpx.Response:
    answer = httpx.get(f"{url}/v1/{database}/creds/app", timeout=10)
    assert answer.status_code == 200, answer.text
    return answer


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_the_lease_and_the_token_survive_a_restart(world: tuple[Setup, str], run_agent: Agent) -> None:
    setup, database = world
    (setup.dir / "cache").mkdir()
    (setup.dir / "key").write_bytes(b"a key file of the operator's own choosing\n")
    persist = (
        f'  persist "file" {{\n    path = "{setup.dir}/cache"\n    key_file = "{setup.dir}/key"\n'
        "    keep_after_import = true\n  }\n"
    )
    config, url = _config(setup, persist)
    log = setup.dir / "agent.log"
    first = run_agent(config)
    wait_for(lambda: read(setup.dir / "token") != "", 15, "the agent's login", log)
    _serving(url, log)
    token = read(setup.dir / "token")
    assert not (setup.dir / "secret_id").exists()  # AppRole's default: read once, removed
    lease = _lease(url, database).json()
    stored = setup.dir / "cache" / FILE
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    raw = stored.read_bytes()
    for clear in (token, lease["lease_id"], lease["data"]["password"]):
        assert clear.encode() not in raw
    _stop(first)
    (setup.dir / "token").unlink()
    second = run_agent(config)
    # No secret ID to log in with: the sink can only be written with the persisted token.
    wait_for(lambda: read(setup.dir / "token") != "", 15, "the agent's token", log)
    assert read(setup.dir / "token") == token
    _serving(url, log)
    again = _lease(url, database)
    assert again.json()["lease_id"] == lease["lease_id"]
    assert "age" in again.headers
    assert stored.exists()  # keep_after_import
    _stop(second)


def test_without_keep_after_import_the_file_is_imported_once(
    world: tuple[Setup, str], run_agent: Agent
) -> None:
    setup, database = world
    (setup.dir / "cache").mkdir()
    (setup.dir / "sa-token").write_text("eyJhbGciOiJSUzI1NiJ9.a-service-account-token.sig")
    persist = (
        f'  persist "kubernetes" {{\n    path = "{setup.dir}/cache"\n'
        f'    service_account_token_file = "{setup.dir}/sa-token"\n  }}\n'
    )
    config, url = _config(setup, persist)
    log = setup.dir / "agent.log"
    first = run_agent(config)
    wait_for(lambda: read(setup.dir / "token") != "", 15, "the agent's login", log)
    _serving(url, log)
    lease = _lease(url, database).json()["lease_id"]
    _stop(first)
    second = run_agent(config)
    _serving(url, log)
    assert _lease(url, database).json()["lease_id"] == lease
    assert not (setup.dir / "cache" / FILE).exists()
    _stop(second)


def test_a_changed_key_stops_the_agent_with_exit_on_err(world: tuple[Setup, str], run_agent: Agent) -> None:
    setup, database = world
    (setup.dir / "cache").mkdir()
    (setup.dir / "sa-token").write_text("the first service-account token")
    persist = (
        f'  persist "kubernetes" {{\n    path = "{setup.dir}/cache"\n'
        f'    service_account_token_file = "{setup.dir}/sa-token"\n    exit_on_err = true\n  }}\n'
    )
    config, url = _config(setup, persist)
    log = setup.dir / "agent.log"
    first = run_agent(config)
    wait_for(lambda: read(setup.dir / "token") != "", 15, "the agent's login", log)
    _serving(url, log)
    _lease(url, database)
    _stop(first)
    (setup.dir / "sa-token").write_text("another pod's service-account token")
    second = run_agent(config)
    assert second.wait(timeout=15) == 1
    assert "written under another key; exiting as exit_on_err is set" in log.read_text()
    # Without exit_on_err the agent starts with an empty cache (and a new file) instead.
    config.write_text(config.read_text().replace("    exit_on_err = true\n", ""))
    (setup.dir / "secret_id").write_text(setup.new_secret_id())
    third = run_agent(config)
    _serving(url, log)
    wait_for(lambda: "written under another key" in log.read_text().split("exiting")[-1], 10, "the error")
    assert (setup.dir / "cache" / FILE).exists()
    _stop(third)


def test_an_unsupported_type_or_a_missing_key_file_stops_the_agent(
    world: tuple[Setup, str], run_agent: Agent
) -> None:
    setup, _ = world
    log = setup.dir / "agent.log"
    for persist, error in (
        (f'  persist "bolt" {{\n    path = "{setup.dir}"\n  }}\n', "type 'bolt' not supported"),
        (
            f'  persist "file" {{\n    path = "{setup.dir}"\n    key_file = "{setup.dir}/nothing"\n  }}\n',
            f"failed to read key file from {setup.dir}/nothing",
        ),
    ):
        config, _ = _config(setup, persist)
        assert run_agent(config).wait(timeout=15) == 1
        assert error in log.read_text()
