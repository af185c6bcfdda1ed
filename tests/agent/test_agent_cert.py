"""Certificate login from outside the server, over real mutual TLS: `strongroom login -method=cert`, the
bao CLI's, the agent's `method "cert"` auto-auth writing its token to a sink, and `strongroom proxy` serving
requests with the token its cert auto-auth obtained."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import read, wait_for
from tests.api.test_cert_auth import TLSServer, issue, tls_server, trust
from tests.servers import bao_binary, free_port
from tests.tls import Issued, ScratchCA


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TLSServer, Issued]]:
    """A TLS server with auth/cert trusting a client CA for policy "reader", and a client certificate."""
    directory = tmp_path_factory.mktemp("cert-world")
    with tls_server(directory, "strongroom") as server:
        with server.admin() as admin:
            admin.post("/v1/sys/auth/cert", json={"type": "cert"}).raise_for_status()
            admin.post("/v1/sys/mounts/kv", json={"type": "kv"}).raise_for_status()
            admin.put("/v1/kv/app", json={"v": "from-server"}).raise_for_status()
            policy = 'path "kv/*" { capabilities = ["read"] }'
            admin.put("/v1/sys/policies/acl/reader", json={"policy": policy}).raise_for_status()
        clients = ScratchCA(directory, "agent clients CA")
        trust(server, "agent", clients.path, token_policies="reader", token_ttl="1h")
        trust(server, "short", clients.path, token_policies="reader", token_ttl="3s", token_max_ttl="1h")
        yield server, issue(clients, "agent.example")


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    return env | {"HOME": str(home)}


def _policies(server: TLSServer, token: str) -> list[str]:
    with server.client() as client:
        client.headers["X-Vault-Token"] = token
        answer = client.get("/v1/auth/token/lookup-self")
        assert answer.status_code == 200, answer.text
        data = answer.json()["data"]
        assert data["meta"]["common_name"] == "agent.example"
        return sorted(data["policies"])


@pytest.mark.parametrize("cli", ["strongroom", "bao"])
def test_the_cli_logs_in_with_its_client_certificate(
    world: tuple[TLSServer, Issued], tmp_path: Path, cli: str
) -> None:
    server, issued = world
    command = [sys.executable, "-m", "strongroom"] if cli == "strongroom" else [bao_binary()]
    done = subprocess.run(
        [*command, "login", "-method=cert", f"-address={server.address}", f"-ca-cert={server.ca.path}",
         f"-client-cert={issued.cert}", f"-client-key={issued.key}", "-token-only", "name=agent"],
        capture_output=True, text=True, env=_environment(tmp_path), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _policies(server, done.stdout.strip()) == ["default", "reader"]


def test_the_cli_reports_a_refused_certificate(world: tuple[TLSServer, Issued], tmp_path: Path) -> None:
    server, _ = world
    stranger = ScratchCA(tmp_path, "stranger").issue("nobody", server=False)
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "login", "-method=cert", f"-address={server.address}",
         f"-ca-cert={server.ca.path}", f"-client-cert={stranger.cert}", f"-client-key={stranger.key}"],
        capture_output=True, text=True, env=_environment(tmp_path), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "invalid certificate or no client certificate supplied" in done.stderr


def _auto_auth(server: TLSServer, issued: Issued, sink: str = "", name: str = "agent") -> str:
    return (
        f'vault {{\n  address = "{server.address}"\n  ca_cert = "{server.ca.path}"\n}}\n'
        f'auto_auth {{\n  method "cert" {{\n    config = {{\n      name = "{name}"\n'
        f'      ca_cert = "{server.ca.path}"\n      client_cert = "{issued.cert}"\n'
        f'      client_key = "{issued.key}"\n    }}\n  }}\n{sink}}}\n'
    )


@pytest.mark.parametrize("name", ["agent", "short"])
def test_the_agent_obtains_a_token_with_cert_auto_auth(
    world: tuple[TLSServer, Issued], tmp_path: Path, name: str
) -> None:
    """With a 3 s TTL ("short") the agent renews its token over the same certificate, as the server
    binds renewals to it: the sink keeps the first token and no renewal fails."""
    server, issued = world
    token_file = tmp_path / "token"
    sink = f'  sink "file" {{\n    config = {{\n      path = "{token_file}"\n    }}\n  }}\n'
    config = tmp_path / "agent.hcl"
    config.write_text(_auto_auth(server, issued, sink, name))
    log = tmp_path / "agent.log"
    with log.open("w") as err:
        agent = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "agent", f"-config={config}"],
            env=_environment(tmp_path), stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    try:
        wait_for(lambda: bool(read(token_file).strip()), 30, "the agent's cert login", log)
        first = read(token_file).strip()
        assert _policies(server, first) == ["default", "reader"]
        if name == "short":
            time.sleep(5)  # past two renewals
            assert read(token_file).strip() == first
            assert "renewal failed" not in log.read_text()
            assert _policies(server, first) == ["default", "reader"]
    finally:
        agent.terminate()
        agent.wait(timeout=10)


def test_the_proxy_serves_with_its_cert_auto_auth_token(
    world: tuple[TLSServer, Issued], tmp_path: Path
) -> None:
    server, issued = world
    port = free_port()
    config = tmp_path / "proxy.hcl"
    config.write_text(
        _auto_auth(server, issued)
        + 'api_proxy {\n  use_auto_auth_token = "force"\n}\n'
        + f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    log = tmp_path / "proxy.log"
    with log.open("w") as err:
        proxy = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "proxy", f"-config={config}"],
            env=_environment(tmp_path), stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip

    def served() -> bool:
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/v1/kv/app", timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.json()["data"] == {"v": "from-server"}

    try:
        wait_for(served, 30, "the proxy to read with its cert auto-auth token", log)
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
