"""`strongroom agent` with kubernetes auto-auth against the dev server, whose kubernetes mount asks the
stand-in API server (tests/kubeapi.py; no cluster here) to review the pod's service-account token: login and
render, the token file read again at each login (kubelet rotates it), and the default token path."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strongroom.config.agent import KubernetesLogin, load_agent_config
from tests.agent.conftest import Agent, Setup, read, wait_for
from tests.kubeapi import Account, KubeAPI, kube_api_server

POD = Account("apps", "billing")


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KubeAPI]:
    with kube_api_server(tmp_path_factory.mktemp("kubeapi")) as api:
        yield api


@pytest.fixture
def k8s_mount(setup: Setup, kube: KubeAPI) -> Iterator[str]:
    """A kubernetes mount on the stand-in, role "app" for apps/billing with the test's policy, 3s tokens."""
    mount = f"k8s-{uuid.uuid4().hex[:8]}"
    root = setup.root
    root.post(f"/v1/sys/auth/{mount}", json={"type": "kubernetes"}).raise_for_status()
    root.post(
        f"/v1/auth/{mount}/config", json={"kubernetes_host": kube.address, "kubernetes_ca_cert": kube.ca_pem}
    ).raise_for_status()
    role = {
        "bound_service_account_names": POD.name,
        "bound_service_account_namespaces": POD.namespace,
        "token_policies": [f"agent-{setup.kv[3:]}"],
        "token_ttl": "3s",
    }
    root.post(f"/v1/auth/{mount}/role/app", json=role).raise_for_status()
    yield mount
    root.delete(f"/v1/sys/auth/{mount}").raise_for_status()


def _config(setup: Setup, mount: str, token_path: Path | None, *, exit_after_auth: bool) -> Path:
    path_line = f'      token_path = "{token_path}"\n' if token_path else ""
    config = setup.dir / "agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{setup.server.address}"\n}}\n'
        f'auto_auth {{\n  method "kubernetes" {{\n    mount_path = "auth/{mount}"\n'
        f'    config = {{\n      role = "app"\n{path_line}    }}\n  }}\n'
        f'  sink "file" {{\n    config = {{\n      path = "{setup.dir}/token"\n    }}\n  }}\n}}\n'
        f'template {{\n  destination = "{setup.dir}/db.txt"\n'
        f'  contents = "{{{{ with secret \\"{setup.kv}/db\\" }}}}'
        '{{ .Data.data.password }}{{ end }}"\n}\n'
        f"exit_after_auth = {'true' if exit_after_auth else 'false'}\n"
    )
    return config


def test_the_token_path_defaults_to_the_service_account_mount(setup: Setup) -> None:
    config = load_agent_config([_config(setup, "kubernetes", None, exit_after_auth=True)])
    assert config.auto_auth is not None
    login = config.auto_auth.method.login
    assert login == KubernetesLogin(
        role="app", token_path="/var/run/secrets/kubernetes.io/serviceaccount/token"
    )


def test_kubernetes_login_renders(setup: Setup, kube: KubeAPI, k8s_mount: str, run_agent: Agent) -> None:
    setup.put("db", {"password": "from-k8s"})
    token_file = setup.dir / "sa-token"
    jwt = kube.issue(POD)
    token_file.write_text(jwt)
    process = run_agent(_config(setup, k8s_mount, token_file, exit_after_auth=True))
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert read(setup.dir / "db.txt") == "from-k8s"
    token = read(setup.dir / "token")
    lookup = httpx.get(f"{setup.server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
    assert lookup.json()["data"]["meta"]["service_account_name"] == "billing"
    assert token_file.exists(), "the service-account token is never removed"
    log = read(setup.dir / "agent.log")
    assert jwt not in log
    assert token not in log


def test_a_rotated_token_file_is_read_at_the_next_login(
    setup: Setup, kube: KubeAPI, k8s_mount: str, run_agent: Agent
) -> None:
    setup.put("db", {"password": "v1"})
    token_file = setup.dir / "sa-token"
    first = kube.issue(POD)
    token_file.write_text(first)
    run_agent(_config(setup, k8s_mount, token_file, exit_after_auth=False))
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "db.txt") == "v1", 20, "the first render", log)
    agent_token = read(setup.dir / "token")
    # kubelet swaps the projected token in with a rename; the old one stops being valid.
    second = kube.issue(POD)
    staged = setup.dir / "sa-token.new"
    staged.write_text(second)
    os.replace(staged, token_file)
    kube.revoke(first)
    setup.root.post("/v1/auth/token/revoke", json={"token": agent_token}).raise_for_status()
    wait_for(lambda: read(setup.dir / "token") not in ("", agent_token), 20, "a new login", log)
    assert kube.reviews[-1]["token"] == second
    setup.put("db", {"password": "v2"})
    wait_for(lambda: read(setup.dir / "db.txt") == "v2", 20, "a render with the new token", log)
