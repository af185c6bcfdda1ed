"""`cache { serve_during_outage = true }`: a KV secret and a database lease cached by the agent keep being
served while the server is stopped, the outage and the recovery are each logged once, and an agent
without the option answers the outage with an error. A real server on SQLite (stopped and started again
on the same port), real agent processes and the tests' real PostgreSQL.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import Setup, read, wait_for
from tests.postgres import CREATE_ROLE, Postgres
from tests.servers import RunningServer, free_port, init_and_unseal, sqlite_config, strongroom_config_server

_DOWN = "the server is unreachable"
_BACK = "the server answers again"


@pytest.fixture
def agents() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def _start(setup: Setup, cache: str, agents: list[subprocess.Popen[bytes]]) -> tuple[str, Path]:
    """An agent with `cache` settings in `setup.dir`; its URL and log."""
    port = free_port()
    config = setup.approle_config(
        f"cache {{\n{cache}}}\napi_proxy {{\n  use_auto_auth_token = true\n}}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    log = setup.dir / "agent.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "agent", f"-config={config}"],
            env=env | {"HOME": str(setup.dir)}, stdout=subprocess.DEVNULL, stderr=out,
        )  # fmt: skip
    agents.append(process)
    wait_for(lambda: read(setup.dir / "token") != "", 15, "the agent's login", log)
    return f"http://127.0.0.1:{port}", log


def _lines(log: Path, text: str) -> int:
    return sum(text in line for line in log.read_text().splitlines())


def test_cached_answers_are_served_while_the_server_is_stopped(
    tmp_path: Path, postgres: Postgres, agents: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    server_dir = tmp_path / "server"
    server_dir.mkdir()
    config = sqlite_config(server_dir, port)
    with strongroom_config_server(server_dir, config, port) as first:
        unseal_key, root_token = init_and_unseal(first.address)
        root = httpx.Client(base_url=first.address, headers={"X-Vault-Token": root_token}, timeout=10)
        root.post("/v1/sys/mounts/kv", json={"type": "kv", "options": {"version": "2"}}).raise_for_status()
        root.post("/v1/sys/auth/approle", json={"type": "approle"}).raise_for_status()
        rules = (
            'path "kv/*" { capabilities = ["read"] }\npath "db/creds/*" { capabilities = ["read"] }\n'
            'path "sys/events/subscribe/*" { capabilities = ["read", "subscribe"] }\n'
        )
        root.put("/v1/sys/policies/acl/agent", json={"policy": rules}).raise_for_status()
        root.post(
            "/v1/auth/approle/role/app", json={"token_policies": ["agent"], "token_ttl": "1h"}
        ).raise_for_status()
        postgres.enable_database(root, "db")
        root.put("/v1/kv/data/db", json={"data": {"v": "1"}}).raise_for_status()
        running = RunningServer(first.address, root_token, first.process, first.log)
        worlds = []
        for name in ("serving", "failing"):
            (tmp_path / name).mkdir()
            worlds.append(Setup(running, root, "kv", "approle", "app", tmp_path / name))
        serving, serving_log = _start(worlds[0], "  serve_during_outage = true\n", agents)
        failing, _ = _start(worlds[1], "", agents)
        clients = [httpx.Client(base_url=url, timeout=10) for url in (serving, failing)]
        for http in clients:
            wait_for(lambda h=http: "age" in h.get("/v1/kv/data/db").headers, 15, "a cached KV answer")
        lease = clients[0].get("/v1/db/creds/app").json()["lease_id"]
        assert clients[0].get("/v1/db/creds/app").json()["lease_id"] == lease
        # A 10 s lease: its renewal (due at 6.7 s) fails while the server is away; it is served until 9 s.
        body = {"db_name": "pg", "creation_statements": [CREATE_ROLE], "default_ttl": "10s"}
        root.post("/v1/db/roles/short", json=body).raise_for_status()
        shorts = [http.get("/v1/db/creds/short").json()["lease_id"] for http in clients]
        leased_at = time.monotonic()
    # The server is stopped.
    served = [clients[0].get("/v1/kv/data/db") for _ in range(50)]
    assert {(a.status_code, a.json()["data"]["data"]["v"]) for a in served} == {(200, "1")}
    leases = {clients[0].get("/v1/db/creds/app").json()["lease_id"] for _ in range(50)}
    assert leases == {lease}
    refused = clients[1].get("/v1/kv/data/db")
    assert refused.status_code == 500
    assert refused.json()["errors"][0].startswith("failed to get the response")
    time.sleep(max(7.5 - (time.monotonic() - leased_at), 0))
    assert clients[0].get("/v1/db/creds/short").json()["lease_id"] == shorts[0]
    # Without serve_during_outage the failed renewal evicted it: the read goes to the absent server.
    assert clients[1].get("/v1/db/creds/short").status_code == 500
    assert _lines(serving_log, _DOWN) == 1
    assert _lines(serving_log, _BACK) == 0
    with strongroom_config_server(server_dir, config, port) as second:
        # Sealed, the server answers 503: still away, and the cached answers are still served.
        assert clients[0].get("/v1/kv/data/db").json()["data"]["data"]["v"] == "1"
        httpx.put(f"{second.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
        root.put("/v1/kv/data/db", json={"data": {"v": "2"}}).raise_for_status()
        took = wait_for(
            lambda: clients[0].get("/v1/kv/data/db").json()["data"]["data"]["v"] == "2", 15, "the new value"
        )
        assert took < 10
        assert clients[1].get("/v1/kv/data/db").json()["data"]["data"]["v"] == "2"
        assert (_lines(serving_log, _DOWN), _lines(serving_log, _BACK)) == (1, 1), serving_log.read_text()
        for http in clients:
            http.close()
        root.close()
