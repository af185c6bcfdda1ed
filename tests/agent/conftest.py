"""Fixtures for the agent tests: a KV v2 mount and an AppRole role per test, and the agent as a process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer


@dataclass(frozen=True)
class Setup:
    """One test's world on the shared server: a KV v2 mount, an AppRole mount and role, and a directory."""

    server: RunningServer
    root: httpx.Client
    kv: str
    approle: str
    role: str
    dir: Path

    def put(self, key: str, data: dict[str, str]) -> None:
        self.root.put(f"/v1/{self.kv}/data/{key}", json={"data": data}).raise_for_status()

    def new_secret_id(self, *, wrap: bool = False) -> str:
        headers = {"X-Vault-Wrap-TTL": "60s"} if wrap else {}
        response = self.root.post(f"/v1/auth/{self.approle}/role/{self.role}/secret-id", headers=headers)
        response.raise_for_status()
        body = response.json()
        return str(body["wrap_info"]["token"] if wrap else body["data"]["secret_id"])

    def approle_config(
        self, body: str, *, secret_id: str | None = None, extra_method: str = "", sink_mode: str = ""
    ) -> Path:
        """Write role_id/secret_id files and an agent.hcl with the approle method, a sink and `body`."""
        mode = f"      mode = {sink_mode}\n" if sink_mode else ""
        role_id = self.root.get(f"/v1/auth/{self.approle}/role/{self.role}/role-id").json()["data"]["role_id"]
        (self.dir / "role_id").write_text(role_id)
        (self.dir / "secret_id").write_text(secret_id if secret_id is not None else self.new_secret_id())
        config = self.dir / "agent.hcl"
        config.write_text(
            f'vault {{\n  address = "{self.server.address}"\n}}\n'
            f'auto_auth {{\n  method "approle" {{\n    mount_path = "auth/{self.approle}"\n'
            f'    config = {{\n      role_id_file_path = "{self.dir}/role_id"\n'
            f'      secret_id_file_path = "{self.dir}/secret_id"\n{extra_method}    }}\n  }}\n'
            f'  sink "file" {{\n    config = {{\n      path = "{self.dir}/token"\n{mode}    }}\n  }}\n}}\n'
            + body
        )
        return config


@contextmanager
def agent_world(
    server: RunningServer, directory: Path, *, events: bool = True, rules: str = ""
) -> Iterator[Setup]:
    """A KV v2 mount, an AppRole role and its policy (read and list on the mount, `rules`, and with
    `events` the right to subscribe: OpenBao refuses that capability) on `server`, removed afterwards."""
    name = uuid.uuid4().hex[:8]
    kv, approle, policy = f"kv-{name}", f"approle-{name}", f"agent-{name}"
    with server.client() as root:
        root.post(f"/v1/sys/mounts/{kv}", json={"type": "kv", "options": {"version": "2"}}).raise_for_status()
        root.post(f"/v1/sys/auth/{approle}", json={"type": "approle"}).raise_for_status()
        rules = f'path "{kv}/*" {{ capabilities = ["read", "list"] }}\n' + rules
        if events:
            rules += 'path "sys/events/subscribe/*" { capabilities = ["read", "subscribe"] }\n'
        root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": rules}).raise_for_status()
        root.post(
            f"/v1/auth/{approle}/role/app", json={"token_policies": [policy], "token_ttl": "1h"}
        ).raise_for_status()
        yield Setup(server, root, kv, approle, "app", directory)
        # The servers are shared: other suites compare their mount and auth tables.
        root.delete(f"/v1/sys/auth/{approle}").raise_for_status()
        root.delete(f"/v1/sys/mounts/{kv}").raise_for_status()
        root.delete(f"/v1/sys/policies/acl/{policy}").raise_for_status()


@pytest.fixture
def setup(server: RunningServer, tmp_path: Path) -> Iterator[Setup]:
    with agent_world(server, tmp_path) as world:
        yield world


Agent = Callable[[Path], subprocess.Popen[str]]


@pytest.fixture
def run_agent(tmp_path: Path) -> Iterator[Agent]:
    """Start `python -m strongroom agent -config=F`; every agent started is stopped at teardown."""
    started: list[subprocess.Popen[str]] = []
    log = (tmp_path / "agent.log").open("w")

    def start(config: Path) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        process = subprocess.Popen(
            [sys.executable, "-m", "strongroom", "agent", f"-config={config}"],
            env=env | {"HOME": str(tmp_path)},
            stdout=subprocess.DEVNULL,
            stderr=log,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
    log.close()


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, log: Path | None = None) -> float:
    """Poll `predicate` until true; the seconds it took. Fails the test after `timeout`."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if predicate():
            return time.monotonic() - began
        time.sleep(0.01)
    detail = log.read_text() if log is not None and log.exists() else ""
    pytest.fail(f"timed out waiting for {what}\n{detail}")


def read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
