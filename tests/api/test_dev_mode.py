"""Dev mode: in memory by default; with -dev-data-dir, persistent and self-unsealing (development only);
-config files add listeners, declared audit devices and options, as OpenBao's dev mode reads them."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, bao_dev_server, free_port, strongroom_dev_server


def test_plain_dev_mode_forgets_everything(tmp_path: Path) -> None:
    with strongroom_dev_server(tmp_path) as server, server.client() as client:
        client.post("/v1/secret/data/x", json={"data": {"a": "1"}}).raise_for_status()
        assert "Storage: inmem" in server.log.read_text()
    with strongroom_dev_server(tmp_path) as server, server.client() as client:
        assert client.get("/v1/secret/data/x").status_code == 404


def test_dev_data_dir_keeps_data_and_unseals_itself(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with strongroom_dev_server(tmp_path, f"-dev-data-dir={data}") as server, server.client() as client:
        client.post("/v1/secret/data/x", json={"data": {"a": "1"}}).raise_for_status()
        banner = server.log.read_text()
        assert "persistent dev mode" in banner
        assert "Root Token: root" in banner
    key_file = data / "unseal.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    with strongroom_dev_server(tmp_path, f"-dev-data-dir={data}") as server, server.client() as client:
        assert httpx.get(f"{server.address}/v1/sys/seal-status").json()["sealed"] is False
        assert client.get("/v1/secret/data/x").json()["data"]["data"] == {"a": "1"}
        assert "Root Token: (made on first start)" in server.log.read_text()


@pytest.mark.parametrize("prefix", ["STRONGROOM", "VAULT", "BAO"])
def test_dev_settings_from_the_environment(tmp_path: Path, prefix: str) -> None:
    env = {f"{prefix}_DEV_ROOT_TOKEN_ID": "from-env", f"{prefix}_DEV_LISTEN_ADDRESS": "127.0.0.1:{port}"}
    with strongroom_dev_server(tmp_path, env_extra=env, flags=False) as server:
        looked = httpx.get(
            f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": "from-env"}
        )
        assert looked.json()["data"]["policies"] == ["root"]
    token_file = tmp_path / ".strongroom-token"
    assert token_file.read_text().strip() == "from-env"
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("start", [strongroom_dev_server, bao_dev_server], ids=["strongroom", "openbao"])
def test_dev_config_adds_listeners_and_declared_audit_devices(
    tmp_path: Path, start: Callable[..., AbstractContextManager[RunningServer]]
) -> None:
    log, port = tmp_path / "audit.log", free_port()
    config = (
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        f'audit "file" "declared" {{\n  options = {{ file_path = "{log}" }}\n}}\n'
    )
    with start(tmp_path, config=config) as server, server.client() as client:
        listed = client.get("/v1/sys/audit").json()["data"]
        assert listed["declared/"]["options"] == {"file_path": str(log)}
        # The config's own listener serves the same server.
        second = httpx.get(f"http://127.0.0.1:{port}/v1/sys/audit", headers={"X-Vault-Token": "root"})
        assert second.json()["data"] == listed
        refused = client.delete("/v1/sys/audit/declared")
        assert refused.json() == {"errors": ["cannot disable configuration-managed audit device"]}
        # Neither allows a device through the API without unsafe_allow_api_audit_creation.
        answer = client.put("/v1/sys/audit/more", json={"type": "file", "options": {"file_path": str(log)}})
        assert answer.status_code == 400
    assert b'"path":"sys/audit"' in log.read_bytes()


def test_dev_config_refuses_persistent_storage(tmp_path: Path) -> None:
    config = f'storage "sqlite" {{\n  path = "{tmp_path / "db"}"\n}}\n'
    refused = r'storage "sqlite" is for `server -config` without -dev'
    with pytest.raises(RuntimeError, match=refused), strongroom_dev_server(tmp_path, config=config):
        pass
