"""The image as people run Vault's: the seed-style `docker run` of a dev server, used with hvac and our CLI,
and the entrypoint's other shapes (production `server`, a subcommand, a program)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import hvac
import pytest

from tests.containers.podman import MEASURED, logs, podman, seconds, wait_for
from tests.servers import free_port

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def dev_container(image: str) -> Iterator[tuple[str, str]]:
    """The README's `docker run` with podman; yields the container's name and the address the host uses."""
    name, port = f"srtest-dev-{uuid.uuid4().hex[:8]}", free_port()
    podman(
        "run", "-d", "--name", name, "--cap-add=IPC_LOCK",
        "-e", "VAULT_DEV_ROOT_TOKEN_ID=myroot", "-e", "VAULT_DEV_LISTEN_ADDRESS=0.0.0.0:8200",
        "-p", f"127.0.0.1:{port}:8200", image,
    )  # fmt: skip
    address = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return httpx.get(f"{address}/v1/sys/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        took = wait_for(up, 60, "the dev server", lambda: logs(name))
        MEASURED["dev container: run to healthy"] = seconds(took)
        yield name, address
    finally:
        podman("rm", "-f", "-v", name, check=False)


def test_the_seed_style_dev_container_serves_hvac(dev_container: tuple[str, str]) -> None:
    _, address = dev_container
    client = hvac.Client(url=address, token="myroot")
    assert client.is_authenticated()
    assert client.sys.read_health_status(method="GET")["sealed"] is False
    client.secrets.kv.v2.create_or_update_secret(path="app", secret={"password": "from-hvac"})
    read = client.secrets.kv.v2.read_secret_version(path="app", raise_on_deleted_version=True)
    assert read["data"]["data"] == {"password": "from-hvac"}


def test_the_seed_style_dev_container_serves_our_cli(dev_container: tuple[str, str]) -> None:
    _, address = dev_container
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env |= {"VAULT_ADDR": address, "VAULT_TOKEN": "myroot"}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "strongroom", *args], env=env, capture_output=True,
                              text=True, timeout=60, check=False)  # fmt: skip

    put = cli("kv", "put", "secret/cli", "password=from-cli")
    assert put.returncode == 0, put.stderr
    got = cli("kv", "get", "-format=json", "secret/cli")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["data"]["data"] == {"password": "from-cli"}
    status = cli("status")
    assert status.returncode == 0
    assert "Sealed" in status.stdout


def test_the_server_runs_as_a_non_root_user_and_is_healthy(dev_container: tuple[str, str]) -> None:
    name, _ = dev_container
    assert podman("exec", name, "id", "-u").stdout.strip() == "1000"
    # The image's HEALTHCHECK, run on demand (podman schedules it through systemd, absent here); a stopped
    # server fails it.
    assert podman("healthcheck", "run", name, check=False).returncode == 0
    podman("kill", "--signal", "STOP", name)
    try:
        assert podman("healthcheck", "run", name, check=False).returncode != 0
    finally:
        podman("kill", "--signal", "CONT", name)


def test_the_image_declares_its_volumes_user_and_healthcheck(image: str) -> None:
    inspected = json.loads(podman("image", "inspect", image).stdout)[0]
    config = inspected["Config"]
    assert set(config["Volumes"]) == {"/strongroom/config", "/strongroom/data", "/strongroom/logs"}
    assert config["User"] == "strongroom"
    assert "sys/health" in " ".join(inspected["Healthcheck"]["Test"])
    MEASURED["image size"] = f"{int(inspected['Size']) / 1e6:.0f} MB"


def test_the_entrypoint_passes_subcommands_and_programs_through(image: str) -> None:
    # A first argument that is a flag goes to the server, as with Vault's image.
    flags = podman("run", "--rm", image, "--help", check=False)
    assert "Start a strongroom server." in flags.stdout
    agent = podman("run", "--rm", image, "agent", "-config=/nonexistent.hcl", check=False)
    assert agent.returncode != 0
    assert "/nonexistent.hcl" in agent.stdout + agent.stderr
    assert podman("run", "--rm", image, "sh", "-c", "echo program").stdout == "program\n"


def test_server_without_dev_is_production_mode_on_the_config_directory(image: str) -> None:
    empty = podman("run", "--rm", image, "server", check=False)
    assert empty.returncode != 0
    assert "no configuration files found" in empty.stdout + empty.stderr


def test_vault_local_config_is_the_servers_config(image: str) -> None:
    name, port = f"srtest-local-{uuid.uuid4().hex[:8]}", free_port()
    config = {"storage": {"inmem": {}}, "listener": {"tcp": {"address": "0.0.0.0:8200", "tls_disable": True}}}
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8200",
           "-e", f"VAULT_LOCAL_CONFIG={json.dumps(config)}", image, "server")  # fmt: skip
    try:

        def answers() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v1/sys/health", timeout=1).status_code == 501
            except httpx.HTTPError:
                return False

        # 501: a production server on that config, not yet initialized.
        wait_for(answers, 60, "the server on VAULT_LOCAL_CONFIG", lambda: logs(name))
    finally:
        podman("rm", "-f", "-v", name, check=False)


def test_no_arguments_is_a_dev_server_reachable_from_the_host(image: str) -> None:
    """No VAULT_DEV_LISTEN_ADDRESS: the entrypoint still listens beyond the container's loopback; the root
    token comes from the STRONGROOM_ spelling."""
    name, port = f"srtest-plain-{uuid.uuid4().hex[:8]}", free_port()
    podman("run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8200",
           "-e", "STRONGROOM_DEV_ROOT_TOKEN_ID=plain-root", image)  # fmt: skip
    try:
        client = hvac.Client(url=f"http://127.0.0.1:{port}", token="plain-root")

        def authenticated() -> bool:
            try:
                return bool(client.is_authenticated())
            except Exception:
                return False

        wait_for(authenticated, 60, "the dev server with plain-root", lambda: logs(name))
    finally:
        podman("rm", "-f", "-v", name, check=False)
