"""`strongroom operator snapshot save|restore` and `operator raft snapshot ...` against real servers; bao's
own `operator raft snapshot` commands work against strongroom as well."""

from __future__ import annotations

import gzip
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from strongroom.physical.snapshot import MAGIC, read_snapshot
from tests.cli.dual import Run, run_bao, run_strongroom
from tests.servers import ConfigServer, free_port, init_and_unseal, sqlite_config, strongroom_config_server

CANARY = "cli-snapshot-canary-51d0"


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[ConfigServer, ConfigServer]]:
    """Two initialized, unsealed strongroom servers of their own clusters."""
    running = []
    ports = free_port(), free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with (
        strongroom_config_server(tmp_path / "a", sqlite_config(tmp_path / "a", ports[0]), ports[0]) as a,
        strongroom_config_server(tmp_path / "b", sqlite_config(tmp_path / "b", ports[1]), ports[1]) as b,
    ):
        running = [a, b]
        yield running[0], running[1]


def _put(address: str, token: str, password: str) -> None:
    with httpx.Client(base_url=address, headers={"X-Vault-Token": token}) as client:
        if client.get("/v1/sys/mounts/secret").status_code != 200:
            client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).raise_for_status()
        client.post("/v1/secret/data/app", json={"data": {"password": password}}).raise_for_status()


def _get(address: str, token: str) -> object:
    response = httpx.get(f"{address}/v1/secret/data/app", headers={"X-Vault-Token": token})
    return (
        response.json()["data"]["data"]["password"] if response.status_code == 200 else response.status_code
    )


def test_save_and_restore_with_our_cli_and_bao(
    servers: tuple[ConfigServer, ConfigServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = servers
    key_a, root_a = init_and_unseal(a.address)
    key_b, root_b = init_and_unseal(b.address)
    ours: Run = run_strongroom(a.address, monkeypatch, capsys, tmp_path)
    bao: Run = run_bao(a.address, tmp_path / "bao-home")
    _put(a.address, root_a, CANARY)
    saved, theirs = tmp_path / "ours.snap", tmp_path / "bao.snap"
    assert ours("operator", "snapshot", "save", str(saved), token=root_a).code == 0
    assert bao("operator", "raft", "snapshot", "save", str(theirs), token=root_a).code == 0
    for path in (saved, theirs):
        data = path.read_bytes()
        assert MAGIC in gzip.decompress(data)
        assert CANARY.encode() not in gzip.decompress(data)
        assert read_snapshot(data).header["storage_type"] == "sqlite"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    # Same cluster: a restore rolls back a later write, and the server keeps serving.
    _put(a.address, root_a, "later")
    done = ours("operator", "raft", "snapshot", "restore", str(saved), token=root_a)
    assert (done.code, done.out, done.err) == (0, "", "")
    assert _get(a.address, root_a) == CANARY
    _put(a.address, root_a, "later again")
    assert bao("operator", "raft", "snapshot", "restore", str(theirs), token=root_a).code == 0
    assert _get(a.address, root_a) == CANARY

    # Another cluster: refused without -force, by both CLIs, and nothing changes.
    ours_b: Run = run_strongroom(b.address, monkeypatch, capsys, tmp_path)
    bao_b: Run = run_bao(b.address, tmp_path / "bao-home")
    _put(b.address, root_b, "b's own")
    for run, command in ((ours_b, ("operator", "snapshot")), (bao_b, ("operator", "raft", "snapshot"))):
        refused = run(*command, "restore", str(saved), token=root_b)
        assert refused.code == 2
        assert refused.err.startswith("Error installing the snapshot: ")
        assert "use the snapshot-force API" in refused.err
    assert _get(b.address, root_b) == "b's own"
    forced = ours_b("operator", "snapshot", "restore", "-force", str(saved), token=root_b)
    assert forced.code == 0, forced.err
    assert httpx.put(f"{b.address}/v1/sys/unseal", json={"key": key_b}).status_code == 400
    assert httpx.put(f"{b.address}/v1/sys/unseal", json={"key": key_a}).json()["sealed"] is False
    assert _get(b.address, root_a) == CANARY


def test_usage_and_file_errors(
    servers: tuple[ConfigServer, ConfigServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, _ = servers
    _, root = init_and_unseal(a.address)
    ours: Run = run_strongroom(a.address, monkeypatch, capsys, tmp_path)
    bao: Run = run_bao(a.address, tmp_path / "bao-home")
    for run, command in ((ours, ("operator", "snapshot")), (bao, ("operator", "raft", "snapshot"))):
        for verb in ("save", "restore"):
            wrong = run(*command, verb, token=root)
            assert wrong.code == 1
            assert wrong.err.startswith("Incorrect arguments (expected 1, got 0)")
    damaged = tmp_path / "damaged.snap"
    assert ours("operator", "snapshot", "save", str(damaged), token=root).code == 0
    damaged.write_bytes(damaged.read_bytes()[:-1])
    for run, command in ((ours, ("operator", "snapshot")), (bao, ("operator", "raft", "snapshot"))):
        refused = run(*command, "restore", str(damaged), token=root)
        assert refused.code == 2
        assert "the snapshot is damaged" in refused.err
    missing = ours("operator", "snapshot", "restore", str(tmp_path / "none.snap"), token=root)
    assert missing.code == 2
    denied = ours("operator", "snapshot", "save", str(tmp_path / "denied.snap"), token="not-a-token")
    assert denied.code == 2
    assert denied.err.startswith("Error taking the snapshot: ")
    assert not (tmp_path / "denied.snap").exists()
