"""examples/sidecar as written, with podman-compose: the app sees its secret, and a `kv put` on the host
reaches the app's file within a second. Measures the time from `compose up` to the app holding its secret."""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import time
from pathlib import Path

import httpx
import hvac
import pytest

from tests.containers.podman import MEASURED, Project, compose_project, podman, seconds, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.containers


def with_unseal_key(directory: Path) -> None:
    """The README's first step: a random static key, readable by the server's uid only."""
    key = directory / "unseal_key"
    key.write_bytes(secrets.token_bytes(32))
    os.chown(key, 1000, 1000)
    key.chmod(0o400)


def digests(project: Project) -> list[str]:
    return re.findall(r"app: db_password sha256=([0-9a-f]{64})", project.logs("app"))


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_sidecar_example_delivers_the_secret_and_its_changes(image: str, tmp_path: Path) -> None:
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    began = time.monotonic()
    with compose_project("sidecar", image, tmp_path, {"STRONGROOM_PORT": str(port)}, with_unseal_key) as (
        project,
        up,
    ):
        wait_for(lambda: bool(digests(project)), 60, "the app's first secret", project.all_logs)
        MEASURED["sidecar: podman-compose up -d"] = seconds(up)
        MEASURED["sidecar: compose up to the app holding its secret"] = seconds(time.monotonic() - began)

        init = json.loads((project.directory / "init" / "init.json").read_text())
        assert (project.directory / "init" / "init.json").stat().st_mode & 0o077 == 0
        client = hvac.Client(url=address, token=init["root_token"])
        password = client.secrets.kv.v2.read_secret_version(path="db", raise_on_deleted_version=True)
        assert digests(project) == [sha256(password["data"]["data"]["password"])]

        agent = project.container("agent")
        assert podman("exec", agent, "stat", "-c", "%a %u", "/mnt/secrets/db_password").stdout == "400 1000\n"
        mounts = podman("exec", agent, "cat", "/proc/mounts").stdout
        assert any(line.split()[1:3] == ["/mnt/secrets", "tmpfs"] for line in mounts.splitlines())

        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        env |= {"VAULT_ADDR": address, "VAULT_TOKEN": init["root_token"]}
        put = subprocess.run(
            [sys.executable, "-m", "strongroom", "kv", "put", "secret/db", "password=rotated-on-the-host"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert put.returncode == 0, put.stderr
        seen = wait_for(
            lambda: sha256("rotated-on-the-host") in digests(project), 10, "the change", project.all_logs
        )
        MEASURED["sidecar: kv put on the host to the app seeing the change"] = seconds(seen)
        assert seen < 1.0

        audit = podman("exec", project.container("server"), "cat", "/strongroom/logs/audit.log").stdout
        assert '"secret/data/db"' in audit
        assert "rotated-on-the-host" not in audit

        # The static seal: a restarted server is back unsealed with nobody's help.
        podman("restart", project.container("server"))

        def unsealed() -> bool:
            try:
                return httpx.get(f"{address}/v1/sys/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(unsealed, 60, "the restarted server", project.all_logs)
        # A second bootstrap (the next `compose up`) finds the server set up and hands out a new secret ID.
        again = podman("start", "--attach", project.container("bootstrap"), check=False, timeout=120)
        assert again.returncode == 0, again.stdout + again.stderr
        assert again.stdout.endswith("bootstrap: done\n")
