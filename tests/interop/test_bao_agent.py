"""The real OpenBao Agent (`bao agent`) against a strongroom dev server: approle, token_file and jwt
auto-auth, plain and wrapped file sinks, templates over KV v1 and v2 (re-rendered on change, listings, old
versions, secrets created later), token renewal and re-login at the role's max TTL, exit_after_auth, and the
API proxy with the auto-auth token.

Each test writes an agent config into its tmp_path, runs `bao agent` as a subprocess with HOME there and no
VAULT_/BAO_ variables inherited, and judges what the agent leaves on disk, what it logs and what the server
says about the tokens it got.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.jwks import rsa_key
from tests.servers import RunningServer, bao_binary, free_port, stop

_POLICY = """
path "secret/data/*" {{ capabilities = ["read"] }}
path "secret/metadata/*" {{ capabilities = ["list"] }}
path "{kv1}/*" {{ capabilities = ["read"] }}
"""


@dataclass(frozen=True)
class AppRole:
    """An approle mount with role "web" whose tokens may read KV v2 `secret/` and the KV v1 mount `kv1`."""

    mount: str
    kv1: str
    policy: str
    role_id: str


def _json(response: httpx.Response) -> dict[str, object]:
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else {}


def _data(response: httpx.Response) -> dict[str, object]:
    data = _json(response)["data"]
    assert isinstance(data, dict)
    return data


@pytest.fixture
def admin(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@contextmanager
def _approle(admin: httpx.Client) -> Iterator[AppRole]:
    suffix = uuid.uuid4().hex[:8]
    mount, kv1, policy = f"approle-{suffix}", f"kv1-{suffix}", f"agent-{suffix}"
    _json(admin.post(f"/v1/sys/auth/{mount}", json={"type": "approle"}))
    _json(admin.post(f"/v1/sys/mounts/{kv1}", json={"type": "kv"}))
    _json(admin.put(f"/v1/sys/policies/acl/{policy}", json={"policy": _POLICY.format(kv1=kv1)}))
    _json(admin.post(f"/v1/auth/{mount}/role/web", json={"token_policies": [policy], "token_ttl": "5m"}))
    role_id = _data(admin.get(f"/v1/auth/{mount}/role/web/role-id"))["role_id"]
    assert isinstance(role_id, str)
    yield AppRole(mount=mount, kv1=kv1, policy=policy, role_id=role_id)
    _json(admin.delete(f"/v1/sys/auth/{mount}"))
    _json(admin.delete(f"/v1/sys/mounts/{kv1}"))
    _json(admin.delete(f"/v1/sys/policies/acl/{policy}"))


@pytest.fixture
def approle(admin: httpx.Client) -> Iterator[AppRole]:
    with _approle(admin) as role:
        yield role


def _secret_id(admin: httpx.Client, role: AppRole) -> str:
    secret_id = _data(admin.post(f"/v1/auth/{role.mount}/role/web/secret-id"))["secret_id"]
    assert isinstance(secret_id, str)
    return secret_id


def _approle_method(
    tmp_path: Path,
    admin: httpx.Client,
    role: AppRole,
    *,
    remove: bool = False,
    exit_on_err: bool = False,
    config: str = "",
) -> str:
    (tmp_path / "role_id").write_text(role.role_id)
    (tmp_path / "secret_id").write_text(_secret_id(admin, role))
    return f"""
  method "approle" {{
    mount_path = "auth/{role.mount}"
    exit_on_err = {str(exit_on_err).lower()}
    config = {{
      role_id_file_path = "{tmp_path / "role_id"}"
      secret_id_file_path = "{tmp_path / "secret_id"}"
      remove_secret_id_file_after_reading = {str(remove).lower()}{config}
    }}
  }}"""


def _config(server: RunningServer, tmp_path: Path, method: str, templates: str = "", extra: str = "") -> Path:
    config = tmp_path / "agent.hcl"
    config.write_text(
        f"""
vault {{ address = "{server.address}" }}
auto_auth {{{method}
  sink "file" {{
    config = {{
      path = "{tmp_path / "token"}"
      mode = 0600
    }}
  }}
}}
template_config {{ static_secret_render_interval = "1s" }}
{templates}
{extra}
"""
    )
    return config


def _agent_argv(config: Path, tmp_path: Path) -> list[str]:
    log = tmp_path / "agent.log"
    return [bao_binary(), "agent", f"-config={config}", "-log-level=debug", f"-log-file={log}"]


def _agent_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env["HOME"] = str(tmp_path)
    return env


def _run_agent(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """`bao agent` in the foreground, for configs that make it exit (exit_after_auth)."""
    return subprocess.run(
        _agent_argv(config, tmp_path),
        env=_agent_env(tmp_path), capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip


@contextmanager
def _agent(config: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`bao agent` running in the background until the block ends."""
    with (tmp_path / "agent.out").open("wb") as out:
        process = subprocess.Popen(
            _agent_argv(config, tmp_path), stdout=out, stderr=subprocess.STDOUT, env=_agent_env(tmp_path)
        )
    try:
        yield process
    finally:
        stop(process)


def _wait_for(what: str, tmp_path: Path, ready: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            log = (tmp_path / "agent.out").read_text() if (tmp_path / "agent.out").exists() else ""
            pytest.fail(f"bao agent never produced {what}; its output:\n{log[-6000:]}")
        time.sleep(0.05)


def _file_is(path: Path, content: str) -> Callable[[], bool]:
    return lambda: path.exists() and path.read_text() == content


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _kv_templates(tmp_path: Path, secret: str, kv1: str) -> str:
    pairs = "{{ range $k, $v := .Data }}{{ $k }}={{ $v }};{{ end }}"
    return f"""
template {{
  contents = "{{{{ with secret \\"secret/data/{secret}\\" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "{tmp_path / "password.txt"}"
  perms = "0400"
}}
template {{
  contents = "{{{{ with secret \\"{kv1}/cfg\\" }}}}{pairs}{{{{ end }}}}"
  destination = "{tmp_path / "cfg.txt"}"
  perms = "0640"
}}
"""


@pytest.fixture
def secret(admin: httpx.Client, approle: AppRole) -> Iterator[str]:
    """A KV v2 secret under secret/ with password "hunter2", and {a: 1, b: 2} at the KV v1 path cfg."""
    name = f"agent-{uuid.uuid4().hex[:8]}"
    _json(admin.post(f"/v1/secret/data/{name}", json={"data": {"password": "hunter2"}}))
    _json(admin.post(f"/v1/{approle.kv1}/cfg", json={"a": "1", "b": "2"}))
    yield name
    _json(admin.delete(f"/v1/secret/metadata/{name}"))


def test_approle_auto_auth_writes_sink_and_renders_templates(
    server: RunningServer, admin: httpx.Client, approle: AppRole, secret: str, tmp_path: Path
) -> None:
    method = _approle_method(tmp_path, admin, approle)
    config = _config(server, tmp_path, method, _kv_templates(tmp_path, secret, approle.kv1))
    with _agent(config, tmp_path):
        _wait_for("the KV v2 template", tmp_path, _file_is(tmp_path / "password.txt", "hunter2"))
        _wait_for("the KV v1 template", tmp_path, _file_is(tmp_path / "cfg.txt", "a=1;b=2;"))
        assert _mode(tmp_path / "password.txt") == 0o400
        assert _mode(tmp_path / "cfg.txt") == 0o640
        token = (tmp_path / "token").read_text()
        assert _mode(tmp_path / "token") == 0o600
        assert (tmp_path / "secret_id").exists()

        with server.client(token) as agent_client:
            own = _data(agent_client.get("/v1/auth/token/lookup-self"))
        assert (own["path"], own["policies"], own["meta"]) == (
            f"auth/{approle.mount}/login",
            sorted(["default", approle.policy]),
            {"role_name": "web"},
        )

        _json(admin.post(f"/v1/secret/data/{secret}", json={"data": {"password": "correct-horse"}}))
        _wait_for("the changed secret", tmp_path, _file_is(tmp_path / "password.txt", "correct-horse"))
        assert _mode(tmp_path / "password.txt") == 0o400


def test_approle_secret_id_file_removed_after_reading(
    server: RunningServer, admin: httpx.Client, approle: AppRole, tmp_path: Path
) -> None:
    method = _approle_method(tmp_path, admin, approle, remove=True)
    with _agent(_config(server, tmp_path, method), tmp_path):
        _wait_for("a token in the sink", tmp_path, (tmp_path / "token").exists)
        assert not (tmp_path / "secret_id").exists()
        assert (tmp_path / "role_id").read_text() == approle.role_id
        with server.client((tmp_path / "token").read_text()) as agent_client:
            assert _data(agent_client.get("/v1/auth/token/lookup-self"))["meta"] == {"role_name": "web"}


def test_agent_renews_a_short_lived_token(
    server: RunningServer, admin: httpx.Client, approle: AppRole, tmp_path: Path
) -> None:
    _json(admin.post(f"/v1/auth/{approle.mount}/role/web", json={"token_ttl": "2s", "token_max_ttl": "1m"}))
    with _agent(_config(server, tmp_path, _approle_method(tmp_path, admin, approle)), tmp_path):
        _wait_for("a token in the sink", tmp_path, (tmp_path / "token").exists)
        token = (tmp_path / "token").read_text()
        time.sleep(4)
        with server.client(token) as agent_client:
            own = _data(agent_client.get("/v1/auth/token/lookup-self"))
        assert (tmp_path / "token").read_text() == token
        assert own["creation_ttl"] == 2
        assert isinstance(own["last_renewal_time"], int)
        assert own["last_renewal_time"] > own["creation_time"]  # type: ignore[operator]
    assert "renewed auth token" in (tmp_path / "agent.out").read_text()


def test_agent_logs_in_again_when_the_token_reaches_its_max_ttl(
    server: RunningServer, admin: httpx.Client, approle: AppRole, tmp_path: Path
) -> None:
    _json(admin.post(f"/v1/auth/{approle.mount}/role/web", json={"token_ttl": "1s", "token_max_ttl": "3s"}))
    with _agent(_config(server, tmp_path, _approle_method(tmp_path, admin, approle)), tmp_path):
        _wait_for("a token in the sink", tmp_path, (tmp_path / "token").exists)
        first = (tmp_path / "token").read_text()
        _wait_for("a second token", tmp_path, lambda: (tmp_path / "token").read_text() not in ("", first))
        second = (tmp_path / "token").read_text()
        with server.client(second) as agent_client:
            own = _data(agent_client.get("/v1/auth/token/lookup-self"))
        assert (own["creation_ttl"], own["explicit_max_ttl"], own["meta"]) == (1, 0, {"role_name": "web"})
    assert (tmp_path / "agent.out").read_text().count("authentication successful") >= 2


def test_exit_after_auth_renders_once_and_exits(
    server: RunningServer, admin: httpx.Client, approle: AppRole, secret: str, tmp_path: Path
) -> None:
    method = _approle_method(tmp_path, admin, approle)
    templates = _kv_templates(tmp_path, secret, approle.kv1)
    config = _config(server, tmp_path, method, templates, extra="exit_after_auth = true")
    done = _run_agent(config, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "password.txt").read_text() == "hunter2"
    assert (tmp_path / "cfg.txt").read_text() == "a=1;b=2;"
    assert _mode(tmp_path / "token") == 0o600
    with server.client((tmp_path / "token").read_text()) as agent_client:
        assert _data(agent_client.get(f"/v1/secret/data/{secret}"))["data"] == {"password": "hunter2"}


def test_token_file_auto_auth_passes_the_token_through(
    server: RunningServer, admin: httpx.Client, approle: AppRole, secret: str, tmp_path: Path
) -> None:
    created = _json(admin.post("/v1/auth/token/create", json={"policies": [approle.policy], "ttl": "10m"}))
    auth = created["auth"]
    assert isinstance(auth, dict)
    (tmp_path / "given").write_text(auth["client_token"])
    method = f"""
  method "token_file" {{
    config = {{ token_file_path = "{tmp_path / "given"}" }}
  }}"""
    config = _config(server, tmp_path, method, _kv_templates(tmp_path, secret, approle.kv1))
    with _agent(config, tmp_path):
        _wait_for("the KV v2 template", tmp_path, _file_is(tmp_path / "password.txt", "hunter2"))
        assert (tmp_path / "token").read_text() == auth["client_token"]
        assert _mode(tmp_path / "token") == 0o600


def test_bad_secret_id_with_exit_on_err_fails(
    server: RunningServer, admin: httpx.Client, approle: AppRole, tmp_path: Path
) -> None:
    method = _approle_method(tmp_path, admin, approle, exit_on_err=True)
    (tmp_path / "secret_id").write_text(str(uuid.uuid4()))
    config = _config(server, tmp_path, method, extra="exit_after_auth = true")
    done = _run_agent(config, tmp_path)
    assert done.returncode != 0
    assert "invalid role or secret ID" in done.stdout + done.stderr
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize("target", ["server", "bao"])
def test_login_token_renewal_keeps_the_roles_ttl_and_max_ttl(
    target: str, request: pytest.FixtureRequest
) -> None:
    """What bao agent's renewal loop relies on to log in again: renewals stop at the role's token_max_ttl
    (OpenBao's approle renew callback), and a renewal without increment grants the role's token_ttl again.
    Run against OpenBao too, the reference."""
    running: RunningServer = request.getfixturevalue(target)
    with running.client() as admin, _approle(admin) as approle:
        _json(
            admin.post(
                f"/v1/auth/{approle.mount}/role/web", json={"token_ttl": "60s", "token_max_ttl": "90s"}
            )
        )
        login = {"role_id": approle.role_id, "secret_id": _secret_id(admin, approle)}
        with httpx.Client(base_url=running.address, timeout=10) as anonymous:
            auth = _json(anonymous.post(f"/v1/auth/{approle.mount}/login", json=login))["auth"]
        assert isinstance(auth, dict)
        assert auth["lease_duration"] == 60
        with running.client(auth["client_token"]) as client:
            capped = _json(client.post("/v1/auth/token/renew-self", json={"increment": "1h"}))
            again = _json(client.post("/v1/auth/token/renew-self", json={}))
    assert capped["auth"]["lease_duration"] in (89, 90)  # type: ignore[index]
    assert isinstance(capped["warnings"], list)
    assert len(capped["warnings"]) == 1
    assert capped["warnings"][0].startswith('TTL of "1h" exceeded the effective max_ttl of "1m')
    assert (again["auth"]["lease_duration"], again["warnings"]) == (60, None)  # type: ignore[index]


def test_wrapped_sink_and_api_proxy_with_the_auto_auth_token(
    server: RunningServer, admin: httpx.Client, approle: AppRole, secret: str, tmp_path: Path
) -> None:
    port = free_port()
    listener = f"""
api_proxy {{ use_auto_auth_token = true }}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
}}
"""
    config = _config(server, tmp_path, _approle_method(tmp_path, admin, approle), extra=listener)
    config.write_text(config.read_text().replace('sink "file" {', 'sink "file" {\n    wrap_ttl = "5m"'))
    with _agent(config, tmp_path):
        _wait_for("a wrapped token in the sink", tmp_path, (tmp_path / "token").exists)
        wrapped = json.loads((tmp_path / "token").read_text())
        assert (wrapped["ttl"], wrapped["creation_path"]) == (300, "sys/wrapping/wrap")
        with server.client(wrapped["token"]) as unwrapper:
            token = _data(unwrapper.post("/v1/sys/wrapping/unwrap"))["token"]
        assert isinstance(token, str)
        with server.client(token) as agent_client:
            assert _data(agent_client.get("/v1/auth/token/lookup-self"))["meta"] == {"role_name": "web"}
        _wait_for("the agent's listener", tmp_path, lambda: _answers(port))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as proxy:
            read = _data(proxy.get(f"/v1/secret/data/{secret}"))
        assert read["data"] == {"password": "hunter2"}


def _answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/v1/sys/health", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_wrapped_secret_id_a_listing_and_an_old_version(
    server: RunningServer, admin: httpx.Client, approle: AppRole, tmp_path: Path
) -> None:
    """The agent unwraps a response-wrapped secret ID (checking its creation path with sys/wrapping/lookup),
    lists with `secrets` and reads a KV v2 version with ?version=."""
    folder = f"agent-{uuid.uuid4().hex[:8]}"
    for name, value in (("one", "first"), ("one", "second"), ("two", "other")):
        _json(admin.post(f"/v1/secret/data/{folder}/{name}", json={"data": {"value": value}}))
    wrapping_path = f'\n      secret_id_response_wrapping_path = "auth/{approle.mount}/role/web/secret-id"'
    method = _approle_method(tmp_path, admin, approle, config=wrapping_path)
    wrapped = admin.post(f"/v1/auth/{approle.mount}/role/web/secret-id", headers={"X-Vault-Wrap-TTL": "5m"})
    (tmp_path / "secret_id").write_text(_json(wrapped)["wrap_info"]["token"])  # type: ignore[index]
    listing = '{{ range secrets \\"secret/metadata/FOLDER/\\" }}{{ . }},{{ end }}'
    version = '{{ with secret \\"secret/data/FOLDER/one?version=1\\" }}{{ .Data.data.value }}{{ end }}'
    contents = f"{listing}|{version}".replace("FOLDER", folder)
    templates = f'template {{\n  contents = "{contents}"\n  destination = "{tmp_path / "out.txt"}"\n}}\n'
    try:
        with _agent(_config(server, tmp_path, method, templates), tmp_path):
            _wait_for("the listing template", tmp_path, _file_is(tmp_path / "out.txt", "one,two,|first"))
            with server.client((tmp_path / "token").read_text()) as agent_client:
                assert _data(agent_client.get("/v1/auth/token/lookup-self"))["meta"] == {"role_name": "web"}
    finally:
        for name in ("one", "two"):
            _json(admin.delete(f"/v1/secret/metadata/{folder}/{name}"))


def test_jwt_auto_auth(server: RunningServer, admin: httpx.Client, tmp_path: Path) -> None:
    key = rsa_key()
    mount = f"jwt-{uuid.uuid4().hex[:8]}"
    _json(admin.post(f"/v1/sys/auth/{mount}", json={"type": "jwt"}))
    try:
        _json(admin.post(f"/v1/auth/{mount}/config", json={"jwt_validation_pubkeys": [key.public_pem()]}))
        role = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["agent"], "token_ttl": "5m"}
        _json(admin.post(f"/v1/auth/{mount}/role/app", json=role))
        now = int(time.time())
        claims = {"sub": "builder", "aud": "agent", "iat": now, "nbf": now, "exp": now + 300}
        (tmp_path / "jwt").write_text(key.sign(claims))
        method = f"""
  method "jwt" {{
    mount_path = "auth/{mount}"
    config = {{
      path = "{tmp_path / "jwt"}"
      role = "app"
      remove_jwt_after_reading = false
    }}
  }}"""
        with _agent(_config(server, tmp_path, method), tmp_path):
            _wait_for("a token in the sink", tmp_path, (tmp_path / "token").exists)
            with server.client((tmp_path / "token").read_text()) as agent_client:
                own = _data(agent_client.get("/v1/auth/token/lookup-self"))
        assert (own["path"], own["meta"], own["creation_ttl"]) == (
            f"auth/{mount}/login",
            {"role": "app"},
            300,
        )
        assert (tmp_path / "jwt").exists()
    finally:
        _json(admin.delete(f"/v1/sys/auth/{mount}"))


def test_template_waits_for_a_secret_created_later(
    server: RunningServer, admin: httpx.Client, approle: AppRole, tmp_path: Path
) -> None:
    """A 404 from KV v2 is "no secret exists" to the agent, which retries until the secret appears."""
    name = f"agent-later-{uuid.uuid4().hex[:8]}"
    template = f"""
template {{
  contents = "{{{{ with secret \\"secret/data/{name}\\" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "{tmp_path / "later.txt"}"
}}
"""
    config = _config(server, tmp_path, _approle_method(tmp_path, admin, approle), template)
    try:
        with _agent(config, tmp_path):
            log = tmp_path / "agent.out"
            _wait_for(
                "a retry", tmp_path, lambda: f"no secret exists at secret/data/{name}" in log.read_text()
            )
            assert not (tmp_path / "later.txt").exists()
            _json(admin.post(f"/v1/secret/data/{name}", json={"data": {"password": "late"}}))
            _wait_for("the late secret", tmp_path, _file_is(tmp_path / "later.txt", "late"))
    finally:
        _json(admin.delete(f"/v1/secret/metadata/{name}"))
