"""Issue 18, files at rest: whatever the umask, the files a server writes that hold storage, keys or
tokens are owner-only (0600, directories it makes 0700), as OpenBao's raft storage makes its own; a
database found readable by others is reported at start.

Each server runs in a subprocess started under the umask given (022, the usual one, and 000, the worst),
against strongroom on SQLite and OpenBao on raft, the same requests to both.
"""

from __future__ import annotations

import base64
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import bao_server, free_port, strongroom_config_server, strongroom_dev_server

POLICY = {"policy": 'path "secret/*" { capabilities = ["read"] }'}


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """The umask the servers started in this test inherit."""
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def exposed(directory: Path) -> dict[str, str]:
    """Every file and folder under `directory` that users other than the owner may use, with its mode."""
    return {str(p.relative_to(directory)): oct(mode(p)) for p in directory.rglob("*") if mode(p) & 0o077}


def init_unseal_and_write(address: str) -> None:
    """Initialize with one key share, unseal, and write a policy, so the storage files are all there."""
    # OpenBao's raft takes seconds to initialize.
    init = httpx.put(
        f"{address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, timeout=60
    ).json()
    key = init.get("keys_base64", [base64.b64encode(bytes.fromhex(init["keys"][0])).decode()])[0]
    assert httpx.put(f"{address}/v1/sys/unseal", json={"key": key}, timeout=60).json()["sealed"] is False
    headers = {"X-Vault-Token": init["root_token"]}
    for _ in range(50):
        answer = httpx.put(f"{address}/v1/sys/policies/acl/reader", json=POLICY, headers=headers, timeout=30)
        if answer.status_code == 204:
            return
        # OpenBao's raft answers 503 until its single node has elected itself.
        time.sleep(0.2)
    raise AssertionError(f"could not write after unseal: {answer.status_code} {answer.text}")


def strongroom_config(data: Path, port: int) -> str:
    return (
        f'storage "sqlite" {{\n  path = "{data / "strongroom.db"}"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        f'pid_file = "{data / "server.pid"}"\n'
    )


def test_strongroom_storage_files_are_owner_only(umask: int, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    port = free_port()
    with strongroom_config_server(tmp_path, strongroom_config(data, port), port) as server:
        init_unseal_and_write(server.address)
        files = {p.name for p in data.iterdir()}
        assert {"strongroom.db", "strongroom.db-wal", "strongroom.db-shm", "server.pid"} <= files
        assert exposed(data) == {}
        assert "other users may read" not in server.log.read_text()


def test_openbao_raft_files_are_owner_only(umask: int, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    storage = (
        f'storage "raft" {{\n  path = "{data}"\n  node_id = "n1"\n}}\n'
        f'cluster_addr = "http://127.0.0.1:{free_port()}"\n'
        # Raft wants an API address; a single node never sends anyone to it.
        'api_addr = "http://127.0.0.1:8200"\n'
    )
    with bao_server(tmp_path, storage=storage) as server:
        init_unseal_and_write(server.address)
        assert {"vault.db", "raft"} <= {p.name for p in data.iterdir()}
        assert exposed(data) == {}


def test_a_database_readable_by_others_is_reported_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    port = free_port()
    with strongroom_config_server(tmp_path, strongroom_config(data, port), port) as server:
        init_unseal_and_write(server.address)
    database = data / "strongroom.db"
    database.chmod(0o644)
    port = free_port()
    with strongroom_config_server(tmp_path, strongroom_config(data, port), port) as server:
        assert httpx.get(f"{server.address}/v1/sys/seal-status").json()["initialized"] is True
        log = server.log.read_text()
    assert f"storage file {database} has mode 0644: other users may read" in log
    # Left as the operator set it: the server reports, it does not change the operator's choice.
    assert mode(database) == 0o644


def test_persistent_dev_mode_keeps_its_key_database_and_token_owner_only(umask: int, tmp_path: Path) -> None:
    data = tmp_path / "dev-data"
    with strongroom_dev_server(tmp_path, f"-dev-data-dir={data}") as server, server.client() as client:
        client.post("/v1/secret/data/x", json={"data": {"a": "1"}}).raise_for_status()
        assert mode(data) == 0o700
        assert {"unseal.key", "strongroom.db", "strongroom.db-wal", "strongroom.db-shm"} <= {
            p.name for p in data.iterdir()
        }
        assert exposed(data) == {}
    assert mode(tmp_path / ".strongroom-token") == 0o600
