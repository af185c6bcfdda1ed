"""Storage snapshots on real servers: sys/storage/raft/snapshot(-force) and sys/storage/snapshot(-force).

A snapshot taken while a writer keeps writing opens entry by entry with the cluster's unseal key and holds
kv metadata and versions that agree; it round-trips between servers (SQLite to SQLite, SQLite to
PostgreSQL) and is unsealed there with the original keys; a damaged or foreign one is refused and the
server keeps its data; hvac's raft snapshot calls work unchanged.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import hvac
import hvac.exceptions
import psycopg
import pytest

from strongroom.barrier import AESGCMBarrier
from strongroom.barrier.aes_gcm import RESERVED_PATHS
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.snapshot import read_snapshot
from strongroom.seal import SealManager
from tests.postgres import Postgres
from tests.servers import free_port, init_and_unseal, sqlite_config, strongroom_config_server

CANARY = "snapshot-canary-93b1f"
SAVE = "/v1/sys/storage/raft/snapshot"
FORCE = "/v1/sys/storage/raft/snapshot-force"


@dataclass(frozen=True)
class Cluster:
    address: str
    unseal_key: str
    root: str

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.address, headers={"X-Vault-Token": token or self.root}, timeout=30)


@contextmanager
def sqlite_cluster(workdir: Path, listener: str = "", extra: str = "") -> Iterator[Cluster]:
    workdir.mkdir()
    port = free_port()
    config = sqlite_config(workdir, port, extra, listener=listener)
    with strongroom_config_server(workdir, config, port) as server:
        key, root = init_and_unseal(server.address)
        yield Cluster(server.address, key, root)


@contextmanager
def postgresql_cluster(workdir: Path, url: str, *, ha: bool = False) -> Iterator[Cluster]:
    workdir.mkdir()
    port = free_port()
    config = (
        f'storage "postgresql" {{\n  connection_url = "{url}"\n  ha_enabled = "{str(ha).lower()}"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
        f'api_addr = "http://127.0.0.1:{port}"\n'
    )
    with strongroom_config_server(workdir, config, port) as server:
        key, root = init_and_unseal(server.address)
        yield Cluster(server.address, key, root)


def _with_secret(cluster: Cluster) -> None:
    with cluster.client() as client:
        client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).raise_for_status()
        client.post("/v1/secret/data/app", json={"data": {"password": CANARY}}).raise_for_status()


def _secret(cluster: Cluster, token: str | None = None) -> object:
    with cluster.client(token) as client:
        response = client.get("/v1/secret/data/app")
        return response.json()["data"]["data"]["password"] if response.status_code == 200 else None


def _sealed(cluster: Cluster) -> bool:
    return bool(httpx.get(f"{cluster.address}/v1/sys/seal-status").json()["sealed"])


def _unseal(cluster: Cluster, key: str) -> httpx.Response:
    return httpx.put(f"{cluster.address}/v1/sys/unseal", json={"key": key})


def _open_every_entry(snapshot: bytes, unseal_key: str) -> dict[str, bytes]:
    """Every entry of `snapshot` decrypted with the unseal key, by our own barrier over an in-memory copy."""

    async def run() -> dict[str, bytes]:
        physical = InmemBackend()
        await physical.replace_all(list(read_snapshot(snapshot).entries))
        barrier = AESGCMBarrier(physical)
        await SealManager(physical, barrier).unseal(bytes.fromhex(unseal_key))
        assert not barrier.sealed
        opened = {}
        for key, _ in await physical.snapshot_entries():
            if key not in RESERVED_PATHS:
                value = await barrier.get(key)
                assert value is not None
                opened[key] = value
        return opened

    return asyncio.run(run())


def test_a_snapshot_taken_while_writes_continue_is_consistent(tmp_path: Path) -> None:
    with ExitStack() as stack:
        source = stack.enter_context(sqlite_cluster(tmp_path / "a"))
        target = stack.enter_context(sqlite_cluster(tmp_path / "b"))
        _with_secret(source)
        stop, written = threading.Event(), [0]

        def writer() -> None:
            with source.client() as client:
                while not stop.is_set():
                    n = written[0]
                    client.post(f"/v1/secret/data/w{n % 5}", json={"data": {"n": n}}).raise_for_status()
                    written[0] += 1

        thread = threading.Thread(target=writer)
        thread.start()
        try:
            snapshots = []
            with source.client() as client:
                for _ in range(3):
                    while written[0] < 20 * (len(snapshots) + 1):
                        threading.Event().wait(0.01)
                    response = client.get(SAVE)
                    assert response.status_code == 200
                    snapshots.append(response.content)
        finally:
            stop.set()
            thread.join()
        assert written[0] >= 60
        for snapshot in snapshots:
            assert CANARY.encode() not in gzip.decompress(snapshot)
            opened = _open_every_entry(snapshot, source.unseal_key)
            assert any(CANARY.encode() in value for value in opened.values())
        # The last one, restored elsewhere and unsealed with the source's key: metadata and versions agree.
        with target.client() as client:
            assert client.post(FORCE, content=snapshots[-1]).status_code == 204
        assert _sealed(target)
        assert _unseal(target, source.unseal_key).json()["sealed"] is False
        with target.client(source.root) as client:
            for name in client.request("LIST", "/v1/secret/metadata").json()["data"]["keys"]:
                metadata = client.get(f"/v1/secret/metadata/{name}").json()["data"]
                current = metadata["current_version"]
                # Versions beyond max_versions (10) are pruned; those kept run up to the current one.
                versions = sorted(int(v) for v in metadata["versions"])
                assert versions == list(range(max(1, current - 9), current + 1)), name
                for version in versions:
                    read = client.get(f"/v1/secret/data/{name}", params={"version": version})
                    assert read.status_code == 200, (name, version)
                    assert read.json()["data"]["metadata"]["version"] == version


def test_a_snapshot_of_the_same_cluster_restores_at_once_and_stays_unsealed(tmp_path: Path) -> None:
    # Over max_request_size, as OpenBao allows a snapshot to be; other requests stay bounded.
    limit = "  max_request_size = 2048\n"
    with sqlite_cluster(tmp_path / "a", limit) as cluster, cluster.client() as client:
        _with_secret(cluster)
        snapshot = client.get("/v1/sys/storage/snapshot").content
        assert len(snapshot) > 2048
        big = client.post("/v1/secret/data/big", json={"data": {"x": "y" * 4096}})
        assert big.status_code == 413
        client.post("/v1/secret/data/app", json={"data": {"password": "later"}}).raise_for_status()
        client.post(
            "/v1/sys/policies/acl/later", json={"policy": 'path "x" { capabilities = ["read"] }'}
        ).raise_for_status()
        assert client.post("/v1/sys/storage/snapshot", content=snapshot).status_code == 204
        assert not _sealed(cluster)
        assert _secret(cluster) == CANARY
        assert client.get("/v1/sys/policies/acl/later").status_code == 404


def test_a_snapshot_round_trips_into_a_fresh_server_unsealed_with_the_original_keys(
    tmp_path: Path,
) -> None:
    with sqlite_cluster(tmp_path / "a") as source, sqlite_cluster(tmp_path / "b") as target:
        _with_secret(source)
        snapshot = hvac.Client(url=source.address, token=source.root).sys.take_raft_snapshot()
        assert snapshot.status_code == 200
        fresh = hvac.Client(url=target.address, token=target.root)
        with pytest.raises(hvac.exceptions.InvalidRequest, match="different set of unseal keys"):
            fresh.sys.restore_raft_snapshot(snapshot.content)
        assert _secret(target) is None
        assert fresh.sys.force_restore_raft_snapshot(snapshot.content).status_code == 204
        assert _sealed(target)
        # The target's own key no longer opens its storage; the source's does, and its root token works.
        assert _unseal(target, target.unseal_key).status_code == 400
        assert _unseal(target, source.unseal_key).json()["sealed"] is False
        assert _secret(target, source.root) == CANARY
        with target.client() as client:
            assert client.get("/v1/sys/mounts").status_code == 403


def test_a_sqlite_snapshot_restores_into_postgresql(tmp_path: Path, postgres: Postgres) -> None:
    with (
        postgres.database("snapshots") as url,
        sqlite_cluster(tmp_path / "a") as source,
        postgresql_cluster(tmp_path / "b", url) as target,
    ):
        _with_secret(source)
        with source.client() as client:
            snapshot = client.get(SAVE).content
        with target.client() as client:
            assert client.post(FORCE, content=snapshot).status_code == 204
        assert _unseal(target, source.unseal_key).json()["sealed"] is False
        assert _secret(target, source.root) == CANARY
        # Back again: PostgreSQL's snapshot holds every entry, the mounts' data unchanged (unsealing
        # rewrote some of the server's own records).
        with target.client(source.root) as client:
            again = client.get(SAVE).content
        before, after = dict(read_snapshot(snapshot).entries), dict(read_snapshot(again).entries)
        assert set(before) <= set(after)
        logical = {key for key in before if key.startswith("logical/")}
        assert logical
        assert {key: after[key] for key in logical} == {key: before[key] for key in logical}
        assert read_snapshot(again).header["storage_type"] == "postgresql"
        with psycopg.connect(url) as connection:
            values = [bytes(row[0]) for row in connection.execute("SELECT value FROM openbao_kv_store")]
        assert len(values) == len(after)
        assert not any(CANARY.encode() in value for value in values)


def _damaged(snapshot: bytes) -> dict[str, bytes]:
    flipped = bytearray(snapshot)
    flipped[len(flipped) // 2] ^= 0x01
    # A consistent SHA-256 over a changed entry count still fails: the file is checked whole.
    return {
        "bit flip": bytes(flipped),
        "truncated": snapshot[: len(snapshot) // 2],
        "no digest": snapshot[:-32],
        "not a snapshot": b"garbage",
        "empty": b"",
        "re-hashed garbage": snapshot[:40] + hashlib.sha256(snapshot[:40]).digest(),
    }


def test_a_damaged_or_foreign_snapshot_is_refused_and_the_server_is_unchanged(tmp_path: Path) -> None:
    with sqlite_cluster(tmp_path / "a") as target, sqlite_cluster(tmp_path / "b") as other:
        _with_secret(target)
        _with_secret(other)
        with target.client() as client:
            own = client.get(SAVE).content
            before = read_snapshot(own).entries
        with other.client() as client:
            foreign = client.get(SAVE).content
        with target.client() as client:
            for name, bad in _damaged(own).items():
                for path in (SAVE, FORCE):
                    response = client.post(path, content=bad)
                    assert response.status_code == 400, (name, path, response.text)
                    assert response.json()["errors"], name
            response = client.post(SAVE, content=foreign)
            assert response.status_code == 400
            assert "snapshot-force" in response.json()["errors"][0]
            assert not _sealed(target)
            assert read_snapshot(client.get(SAVE).content).entries == before
        assert _secret(target) == CANARY


def test_snapshots_need_sudo_and_an_unsealed_server(tmp_path: Path) -> None:
    with sqlite_cluster(tmp_path / "a") as cluster, cluster.client() as client:
        token = client.post("/v1/auth/token/create", json={"policies": ["default"]}).json()["auth"]
        with cluster.client(token["client_token"]) as user:
            assert user.get(SAVE).status_code == 403
            assert user.post(FORCE, content=b"x").status_code == 403
        assert httpx.get(f"{cluster.address}{SAVE}").status_code == 403
        assert client.delete(SAVE).status_code == 405
        assert client.get(FORCE).status_code == 405
        client.put("/v1/sys/seal").raise_for_status()
        assert client.get(SAVE).status_code == 503


def test_a_swap_the_database_refuses_leaves_the_server_as_it_was(tmp_path: Path, postgres: Postgres) -> None:
    with postgres.database("snapshots_refused") as url, postgresql_cluster(tmp_path / "a", url) as cluster:
        _with_secret(cluster)
        with cluster.client() as client:
            snapshot = client.get(SAVE).content
            client.post("/v1/secret/data/app", json={"data": {"password": "later"}}).raise_for_status()
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(
                    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'restores refused'; END $$"
                )
                admin.execute(
                    "CREATE TRIGGER refuse BEFORE DELETE ON openbao_kv_store "
                    "FOR EACH STATEMENT EXECUTE FUNCTION refuse()"
                )
            response = client.post(SAVE, content=snapshot)
            assert response.status_code == 500
            assert "restores refused" not in response.text
            assert not _sealed(cluster)
            assert _secret(cluster) == "later"
            client.post("/v1/secret/data/app", json={"data": {"password": "after"}}).raise_for_status()
            assert _secret(cluster) == "after"


def test_snapshot_requests_are_audited(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    device = f'audit "file" "log" {{\n  options = {{ file_path = "{log}" }}\n}}\n'
    with sqlite_cluster(tmp_path / "a", extra=device) as cluster, cluster.client() as client:
        snapshot = client.get(SAVE).content
        assert client.post(SAVE, content=snapshot).status_code == 204
        assert client.post(SAVE, content=b"garbage").status_code == 400
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    ours = [e for e in entries if e["request"]["path"] == "sys/storage/raft/snapshot"]
    assert [(e["type"], e["request"]["operation"]) for e in ours] == [
        ("request", "read"), ("response", "read"),
        ("request", "update"), ("response", "update"),
        ("request", "update"), ("response", "update"),
    ]  # fmt: skip
    for entry in ours:
        assert entry["auth"]["policies"] == ["root"]
        assert entry["request"]["remote_address"] == "127.0.0.1"
        assert entry["request"]["mount_type"] == "system"
        assert entry["request"]["client_token"].startswith("hmac-sha256:")
    assert "not a strongroom snapshot" in ours[-1]["error"]
    assert cluster.root not in log.read_text()


def _wait_active(cluster: Cluster) -> None:
    deadline = time.monotonic() + 30
    while httpx.get(f"{cluster.address}/v1/sys/health").status_code != 200:
        assert time.monotonic() < deadline, "the server did not become active"
        time.sleep(0.1)


def test_on_an_ha_backend_a_restore_seals_and_the_keys_unseal_the_restored_storage(
    tmp_path: Path, postgres: Postgres
) -> None:
    with (
        postgres.database("snapshots_ha") as url,
        postgresql_cluster(tmp_path / "a", url, ha=True) as cluster,
    ):
        _wait_active(cluster)
        _with_secret(cluster)
        with cluster.client() as client:
            snapshot = client.get(SAVE).content
            client.post("/v1/secret/data/app", json={"data": {"password": "later"}}).raise_for_status()
            assert client.post(SAVE, content=snapshot).status_code == 204
        assert _sealed(cluster)
        assert _unseal(cluster, cluster.unseal_key).json()["sealed"] is False
        _wait_active(cluster)
        assert _secret(cluster) == CANARY
