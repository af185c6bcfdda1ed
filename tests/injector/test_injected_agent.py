"""The injected pod's agents, run for real: the init container's and the sidecar's command lines from the
webhook's patch are run on this machine (paths under /vault, /home/vault and the service-account mount
redirected to a temp dir), log in to a strongroom dev server through its kubernetes auth method, which asks
the stand-in API server (tests/kubeapi.py; no cluster here) to review the pod's token, and render the
annotated secrets."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.agent.conftest import read, wait_for
from tests.injector.conftest import Injector
from tests.injector.test_injector_webhook import A, container, mutated, pod
from tests.kubeapi import Account, KubeAPI, kube_api_server
from tests.servers import RunningServer, bao_binary, free_port

POD = Account("apps", "billing")


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAPI]:
    with kube_api_server(tmp_path_factory.mktemp("kubeapi")) as api:
        yield api


@pytest.fixture
def world(server: RunningServer, kube: KubeAPI) -> Iterator[dict[str, str]]:
    """A KV v2 mount with secret "db", a policy reading it, and a kubernetes mount whose role "billing"
    binds apps/billing to that policy."""
    name = uuid.uuid4().hex[:8]
    kv, auth, policy = f"secret-{name}", f"k8s-{name}", f"billing-{name}"
    with server.client() as root:
        root.post(f"/v1/sys/mounts/{kv}", json={"type": "kv", "options": {"version": "2"}}).raise_for_status()
        root.put(f"/v1/{kv}/data/db", json={"data": {"password": "s3cr3t-1"}}).raise_for_status()
        rules = f'path "{kv}/*" {{ capabilities = ["read"] }}\n'
        rules += 'path "sys/events/subscribe/*" { capabilities = ["read", "subscribe"] }\n'
        root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": rules}).raise_for_status()
        root.post(f"/v1/sys/auth/{auth}", json={"type": "kubernetes"}).raise_for_status()
        root.post(
            f"/v1/auth/{auth}/config",
            json={"kubernetes_host": kube.address, "kubernetes_ca_cert": kube.ca_pem},
        ).raise_for_status()
        root.post(
            f"/v1/auth/{auth}/role/billing",
            json={"bound_service_account_names": "billing", "bound_service_account_namespaces": "apps",
                  "token_policies": policy, "token_ttl": "1h"},
        ).raise_for_status()  # fmt: skip
        yield {"kv": kv, "auth": auth}
        root.delete(f"/v1/sys/auth/{auth}").raise_for_status()
        root.delete(f"/v1/sys/mounts/{kv}").raise_for_status()
        root.delete(f"/v1/sys/policies/acl/{policy}").raise_for_status()


def _localize(agent: dict[str, Any], root: Path) -> tuple[list[str], dict[str, str]]:
    """The container's argv and environment with the pod's paths moved under `root`."""
    moves = {
        "/var/run/secrets/kubernetes.io/serviceaccount": str(root / "sa"),
        "/vault/secrets": str(root / "secrets"),
        "/home/vault": str(root / agent["name"]),
    }

    def move(text: str) -> str:
        for old, new in moves.items():
            text = text.replace(old, new)
        return text

    for new in moves.values():
        Path(new).mkdir(parents=True, exist_ok=True)
    env = {e["name"]: e["value"] for e in agent["env"]}
    config = move(base64.b64decode(env["VAULT_CONFIG"]).decode())
    env["VAULT_CONFIG"] = base64.b64encode(config.encode()).decode()
    bin_dir = str(Path(sys.executable).parent)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env |= {"PATH": f"{bin_dir}:{clean.get('PATH', '')}", "HOME": str(root / agent["name"])}
    return [move(part) for part in agent["command"] + agent["args"]], clean | env


def test_the_injected_agents_log_in_and_render(
    server: RunningServer, kube: KubeAPI, injector: Injector, world: dict[str, str], tmp_path: Path
) -> None:
    proxy_port = free_port()
    annotations = {
        A + "agent-inject": "true",
        A + "role": "billing",
        A + "service": server.address,
        A + "auth-path": f"auth/{world['auth']}",
        A + "agent-inject-secret-db-password": f"{world['kv']}/data/db",
        A + "agent-inject-template-db-password":
            f'{{{{ with secret "{world["kv"]}/data/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
        A + "agent-inject-file-db-password": "db_password",
        A + "agent-inject-perms-db-password": "0400",
        A + "agent-inject-secret-db": f"{world['kv']}/data/db",
        A + "agent-cache-enable": "true",
        A + "agent-cache-listener-port": str(proxy_port),
    }  # fmt: skip
    result, _ = mutated(injector, pod(annotations))
    (tmp_path / "sa").mkdir()
    (tmp_path / "sa" / "token").write_text(kube.issue(POD))
    init_argv, init_env = _localize(container(result["spec"], "vault-agent-init", "initContainers"), tmp_path)
    done = subprocess.run(init_argv, env=init_env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    secret = tmp_path / "secrets" / "db_password"
    assert secret.read_text() == "s3cr3t-1"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o400
    default = (tmp_path / "secrets" / "db").read_text()
    assert default.startswith("data: map[password:s3cr3t-1]\nmetadata: map["), default
    assert kube.reviews[-1]["token"] == (tmp_path / "sa" / "token").read_text()

    argv, env = _localize(container(result["spec"], "vault-agent"), tmp_path)
    log = tmp_path / "sidecar.log"
    with log.open("w") as sink:
        sidecar = subprocess.Popen(argv, env=env, stdout=sink, stderr=sink, text=True)
    try:
        with server.client() as root:
            root.put(f"/v1/{world['kv']}/data/db", json={"data": {"password": "s3cr3t-2"}}).raise_for_status()
        wait_for(lambda: read(secret) == "s3cr3t-2", 30, "the sidecar to render the new password", log)
        # agent-cache-enable: the app may also ask the sidecar's API proxy, without a token of its own.
        proxied = httpx.get(f"http://127.0.0.1:{proxy_port}/v1/{world['kv']}/data/db", timeout=10)
        assert proxied.json()["data"]["data"] == {"password": "s3cr3t-2"}
        assert sidecar.poll() is None, read(log)
        assert "s3cr3t" not in read(log)
    finally:
        sidecar.terminate()
        sidecar.wait(timeout=10)


def test_the_generated_config_also_runs_bao_agent(
    server: RunningServer, kube: KubeAPI, injector: Injector, world: dict[str, str], tmp_path: Path
) -> None:
    """The config is Vault Agent's JSON form: OpenBao's agent runs it unchanged against strongroom."""
    annotations = {
        A + "agent-inject": "true",
        A + "role": "billing",
        A + "service": server.address,
        A + "auth-path": f"auth/{world['auth']}",
        A + "agent-inject-secret-db": f"{world['kv']}/data/db",
        A + "agent-inject-perms-db": "0440",
    }
    result, _ = mutated(injector, pod(annotations))
    (tmp_path / "sa").mkdir()
    (tmp_path / "sa" / "token").write_text(kube.issue(POD))
    _, env = _localize(container(result["spec"], "vault-agent-init", "initContainers"), tmp_path)
    config = tmp_path / "config.json"
    config.write_bytes(base64.b64decode(env["VAULT_CONFIG"]))
    done = subprocess.run(
        [bao_binary(), "agent", f"-config={config}"],
        env={k: v for k, v in env.items() if k != "VAULT_CONFIG"}, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    rendered = tmp_path / "secrets" / "db"
    assert rendered.read_text().startswith("data: map[password:s3cr3t-1]\nmetadata: map[")
    assert stat.S_IMODE(rendered.stat().st_mode) == 0o440
