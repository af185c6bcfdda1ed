"""`strongroom proxy` (a Vault Proxy) run as a subprocess: approle auto-auth with no sink, serving hvac and
the bao CLI through its listener with `api_proxy { use_auto_auth_token }`, KV reads answered from its
static-secret cache (server reads counted in a file audit device's log), and a template refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import hvac
import pytest

from tests.agent.conftest import Setup, agent_world, wait_for
from tests.agent.test_agent_static_cache import _audited, _server_reads
from tests.servers import API_AUDIT, RunningServer, bao_binary, free_port, strongroom_dev_server


@pytest.fixture(scope="module")
def audited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with strongroom_dev_server(tmp_path_factory.mktemp("proxy-audited"), config=API_AUDIT) as server:
        yield server


@pytest.fixture
def setup(audited_server: RunningServer, tmp_path: Path) -> Iterator[Setup]:
    with agent_world(audited_server, tmp_path) as world:
        yield world


def _environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    return env | {"HOME": str(home)}


@pytest.fixture
def proxy(setup: Setup) -> Iterator[tuple[Setup, str, subprocess.Popen[bytes]]]:
    """A proxy with approle auto-auth (no sink: the api_proxy is what the token is for), `cache {}`,
    `use_auto_auth_token = "force"` and a TCP listener with `proxy_api { enable_quit }`; its URL and
    process. Stopped (and its exit code checked) after."""
    port = free_port()
    role_id = setup.root.get(f"/v1/auth/{setup.approle}/role/{setup.role}/role-id").json()["data"]["role_id"]
    (setup.dir / "role_id").write_text(role_id)
    (setup.dir / "secret_id").write_text(setup.new_secret_id())
    config = setup.dir / "proxy.hcl"
    config.write_text(
        f'vault {{\n  address = "{setup.server.address}"\n}}\n'
        f'auto_auth {{\n  method "approle" {{\n    mount_path = "auth/{setup.approle}"\n'
        f'    config = {{\n      role_id_file_path = "{setup.dir}/role_id"\n'
        f'      secret_id_file_path = "{setup.dir}/secret_id"\n    }}\n  }}\n}}\n'
        'api_proxy {\n  use_auto_auth_token = "force"\n}\ncache {\n}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n'
        "  proxy_api {\n    enable_quit = true\n  }\n}\n"
    )
    log = setup.dir / "proxy.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "proxy", f"-config={config}"],
            env=_environment(setup.dir), stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    setup.put("db", {"v": "1"})

    def serving() -> bool:
        try:
            return httpx.get(f"{url}/v1/{setup.kv}/data/db", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_for(serving, 15, "the proxy to serve with its auto-auth token", log)
        yield setup, url, process
    finally:
        process.terminate()
        code = process.wait(timeout=10)
    assert code == 0, log.read_text()


def test_hvac_and_the_bao_cli_read_through_the_proxy_with_its_token(
    proxy: tuple[Setup, str, subprocess.Popen[bytes]],
) -> None:
    setup, url, _ = proxy
    # hvac with no token of its own, and with a token that may read nothing: "force" replaces it.
    tokenless = hvac.Client(url=url, timeout=10)
    tokenless.token = ""
    weak = setup.root.post("/v1/auth/token/create", json={"policies": ["default"], "ttl": "10m"})
    weak.raise_for_status()
    forced = hvac.Client(url=url, token=weak.json()["auth"]["client_token"], timeout=10)
    for client in (tokenless, forced):
        secret = client.secrets.kv.v2.read_secret_version(
            path="db", mount_point=setup.kv, raise_on_deleted_version=True
        )
        assert secret["data"]["data"] == {"v": "1"}
    bao = subprocess.run(
        [bao_binary(), "kv", "get", f"-mount={setup.kv}", "-field=v", "db"],
        capture_output=True, text=True, timeout=30, check=False,
        env=_environment(setup.dir) | {"BAO_ADDR": url},
    )  # fmt: skip
    assert (bao.returncode, bao.stdout, bao.stderr) == (0, "1", "")


def test_reads_are_served_from_the_static_cache(proxy: tuple[Setup, str, subprocess.Popen[bytes]]) -> None:
    setup, url, _ = proxy
    path = f"{setup.kv}/data/db"
    with _audited(setup) as audit, httpx.Client(base_url=url, timeout=5) as http:
        # The first answers may still come from the server while the cache's event subscription opens.
        wait_for(lambda: "age" in http.get(f"/v1/{path}").headers, 10, "a cached answer")
        before = _server_reads(audit, path)
        assert all(http.get(f"/v1/{path}").json()["data"]["data"] == {"v": "1"} for _ in range(100))
        assert _server_reads(audit, path) == before
        setup.put("db", {"v": "2"})
        wait_for(lambda: http.get(f"/v1/{path}").json()["data"]["data"] == {"v": "2"}, 5, "the new version")
        assert _server_reads(audit, path) > before


def test_the_proxy_api_is_under_proxy_v1(proxy: tuple[Setup, str, subprocess.Popen[bytes]]) -> None:
    setup, url, process = proxy
    with httpx.Client(base_url=url, timeout=5) as http:
        assert http.get(f"/v1/{setup.kv}/data/db").status_code == 200
        metrics = http.get("/proxy/v1/metrics")
        assert metrics.status_code == 200
        assert "vault_agent_proxy_success " in metrics.text
        # The agent's paths are not the proxy's: forwarded to the server, which has no such route.
        assert http.post("/agent/v1/quit").status_code == 404
        assert http.get("/proxy/v1/quit").status_code == 405
        assert http.post("/proxy/v1/quit").status_code == 200
    assert process.wait(timeout=10) == 0


def test_a_template_block_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "proxy.hcl"
    config.write_text(
        'vault {\n  address = "http://127.0.0.1:1"\n}\n'
        'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n'
        'template {\n  contents = "x"\n  destination = "out"\n}\n'
    )
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "proxy", f"-config={config}"],
        capture_output=True, text=True, env=_environment(tmp_path), timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert (
        done.stderr
        == f"{config}:8: 'template' is not supported by the proxy; run `strongroom agent` for it\n"
    )
    assert not (tmp_path / "out").exists()
