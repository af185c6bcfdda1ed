"""The agent's API proxy (`api_proxy` + `listener`), run as a subprocess against the shared server.

Clients (hvac, httpx) talk to the agent's listener and the agent forwards to the server, adding its
auto-auth token as `use_auto_auth_token` says.
"""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess

import httpx
import hvac
import pytest
from hvac.exceptions import Forbidden

from tests.agent.conftest import Agent, Setup, read, wait_for
from tests.servers import free_port
from tests.tls import ScratchCA


def _listening(
    url: str, transport: httpx.BaseTransport | None = None, verify: ssl.SSLContext | bool = True
) -> bool:
    try:
        with httpx.Client(base_url=url, timeout=1, transport=transport, verify=verify) as http:
            return http.get("/v1/sys/health").status_code == 200
    except httpx.HTTPError:
        return False


def _proxy_agent(setup: Setup, run_agent: Agent, use: str) -> tuple[str, subprocess.Popen[str]]:
    """An agent with approle auto-auth, `api_proxy { use_auto_auth_token = use }` and a TCP listener."""
    port = free_port()
    config = setup.approle_config(
        f"api_proxy {{\n  use_auto_auth_token = {use}\n}}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    process = run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "token") != "", 10, "the agent's login", log)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _listening(url), 10, "the agent's listener", log)
    return url, process


def _hvac(url: str, token: str = "") -> hvac.Client:
    client = hvac.Client(url=url, timeout=10)
    # hvac falls back to VAULT_TOKEN and ~/.vault-token; these tests choose exactly what is sent.
    client.token = token
    return client


def _policy_less_token(setup: Setup) -> str:
    body = setup.root.post("/v1/auth/token/create", json={"policies": ["default"], "ttl": "10m"})
    body.raise_for_status()
    return str(body.json()["auth"]["client_token"])


def test_a_tokenless_client_reads_and_lists_with_the_agent_token(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "s3cret"})
    setup.put("app/one", {"x": "1"})
    url, _ = _proxy_agent(setup, run_agent, "true")
    client = _hvac(url)
    secret = client.secrets.kv.v2.read_secret_version(
        path="db", mount_point=setup.kv, raise_on_deleted_version=True
    )
    assert secret["data"]["data"] == {"password": "s3cret"}
    listed = client.secrets.kv.v2.list_secrets(path="", mount_point=setup.kv)
    assert listed["data"]["keys"] == ["app/", "db"]
    # The agent's own token never comes back: lookup-self answers without its id and accessor.
    looked_up = client.auth.token.lookup_self()["data"]
    assert "id" not in looked_up
    assert "accessor" not in looked_up
    assert looked_up["policies"] == [f"agent-{setup.kv.removeprefix('kv-')}", "default"]
    agent_token = read(setup.dir / "token")
    assert agent_token not in str(looked_up)
    with httpx.Client(base_url=url, timeout=10) as http:
        # Nor by name, through a client's own token, nor wrapped (unwrapping would reveal it).
        root = {"X-Vault-Token": setup.server.root_token}
        named = http.post("/v1/auth/token/lookup", json={"token": agent_token}, headers=root)
        assert named.status_code == 200
        assert sorted(named.json()["data"]) == sorted(looked_up)
        wrapped = http.get("/v1/auth/token/lookup-self", headers={"X-Vault-Wrap-TTL": "60s"})
    assert (wrapped.status_code, wrapped.json()) == (
        400,
        {"errors": ["the agent's token cannot be looked up or renewed wrapped"]},
    )


def test_a_client_token_is_kept_unless_forced(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "s3cret"})
    weak = _policy_less_token(setup)
    url, process = _proxy_agent(setup, run_agent, "true")
    with pytest.raises(Forbidden):
        _hvac(url, weak).secrets.kv.v2.read_secret_version(
            path="db", mount_point=setup.kv, raise_on_deleted_version=True
        )
    # Authorization: Bearer is the client's token too.
    with httpx.Client(base_url=url, timeout=10) as http:
        refused = http.get(f"/v1/{setup.kv}/data/db", headers={"Authorization": f"Bearer {weak}"})
    denied = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}
    assert (refused.status_code, refused.json()) == (403, denied)
    process.terminate()
    process.wait(timeout=10)

    (setup.dir / "token").unlink()
    url, _ = _proxy_agent(setup, run_agent, '"force"')
    forced = _hvac(url, weak).secrets.kv.v2.read_secret_version(
        path="db", mount_point=setup.kv, raise_on_deleted_version=True
    )
    assert forced["data"]["data"] == {"password": "s3cret"}
    with httpx.Client(base_url=url, timeout=10) as http:
        bearer = http.get(f"/v1/{setup.kv}/data/db", headers={"Authorization": f"Bearer {weak}"})
    assert (bearer.status_code, bearer.json()["data"]["data"]) == (200, {"password": "s3cret"})


def test_without_auto_auth_requests_pass_as_they_are(setup: Setup, run_agent: Agent) -> None:
    port = free_port()
    config = setup.dir / "agent.hcl"
    # No auto_auth at all: Vault Agent accepts a listener alone, and forwards.
    config.write_text(
        f'vault {{\n  address = "{setup.server.address}"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    run_agent(config)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _listening(url), 10, "the agent's listener", setup.dir / "agent.log")
    with httpx.Client(base_url=url, timeout=10) as http:
        refused = http.get(f"/v1/{setup.kv}/data/db")
        assert (refused.status_code, refused.json()) == (403, {"errors": ["permission denied"]})
        # A write with a body, and the query string of a read, pass through unchanged.
        headers = {"X-Vault-Token": setup.server.root_token}
        wrote = http.post(f"/v1/{setup.kv}/data/new", json={"data": {"k": "v1"}}, headers=headers)
        assert (wrote.status_code, wrote.json()["data"]["version"]) == (200, 1)
        http.post(f"/v1/{setup.kv}/data/new", json={"data": {"k": "v2"}}, headers=headers).raise_for_status()
        first = http.get(f"/v1/{setup.kv}/data/new", params={"version": "1"}, headers=headers)
        assert first.json()["data"]["data"] == {"k": "v1"}
        listed = http.request("LIST", f"/v1/{setup.kv}/metadata/", headers=headers)
        assert (listed.status_code, listed.json()["data"]["keys"]) == (200, ["new"])
    direct = setup.root.get(f"/v1/{setup.kv}/data/new").json()["data"]
    assert (direct["data"], direct["metadata"]["version"]) == ({"k": "v2"}, 2)


def test_a_unix_socket_listener_with_its_mode(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "s3cret"})
    path = setup.dir / "agent.sock"
    config = setup.approle_config(
        "api_proxy {\n  use_auto_auth_token = true\n}\n"
        f'listener "unix" {{\n  address = "{path}"\n  tls_disable = true\n  socket_mode = "0660"\n}}\n'
    )
    process = run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "token") != "", 10, "the agent's login", log)
    wait_for(lambda: _listening("http://agent", httpx.HTTPTransport(uds=str(path))), 10, "the socket", log)
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660
    with httpx.Client(base_url="http://agent", transport=httpx.HTTPTransport(uds=str(path))) as http:
        response = http.get(f"/v1/{setup.kv}/data/db")
    assert (response.status_code, response.json()["data"]["data"]) == (200, {"password": "s3cret"})
    process.terminate()
    assert process.wait(timeout=10) == 0
    assert not path.exists()


def test_a_tls_listener(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "s3cret"})
    ca = ScratchCA(setup.dir)
    issued = ca.issue("agent")
    port = free_port()
    config = setup.approle_config(
        "api_proxy {\n  use_auto_auth_token = true\n}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n'
        f'  tls_cert_file = "{issued.cert}"\n  tls_key_file = "{issued.key}"\n}}\n'
    )
    run_agent(config)
    url = f"https://127.0.0.1:{port}"
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "token") != "", 10, "the agent's login", log)
    trust = ssl.create_default_context(cafile=str(ca.path))
    wait_for(lambda: _listening(url, verify=trust), 10, "the agent's TLS listener", log)
    client = hvac.Client(url=url, verify=str(ca.path), timeout=10)
    client.token = ""
    secret = client.secrets.kv.v2.read_secret_version(
        path="db", mount_point=setup.kv, raise_on_deleted_version=True
    )
    assert secret["data"]["data"] == {"password": "s3cret"}


def test_a_taken_address_stops_the_agent_with_a_clear_error(setup: Setup, run_agent: Agent) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = setup.approle_config(
            "api_proxy {\n  use_auto_auth_token = true\n}\n"
            f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        )
        process = run_agent(config)
        assert process.wait(timeout=10) == 1
    log = read(setup.dir / "agent.log")
    assert f'listener "tcp" (127.0.0.1:{port}): cannot listen: Address already in use' in log
    # It stopped before logging in: no token was written.
    assert not (setup.dir / "token").exists()
