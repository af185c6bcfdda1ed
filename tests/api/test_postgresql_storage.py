"""A production server on `storage "postgresql"`: data survives a restart, only ciphertext reaches the
table, a lost database fails requests until it is back, and an unreachable one stops startup in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.postgres import Postgres
from tests.servers import free_port, strongroom_config_server

PASSWORD = "pg-Pass-90210"
CANARY = "plaintext-canary-6c1f"
_ENV = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}


@pytest.fixture(scope="module", autouse=True)
def vault_database(postgres: Postgres) -> Iterator[None]:
    """The database `vault` these tests switch off and on, apart from the one other suites use."""
    with postgres.database("vault"):
        yield


def _config(url: str, port: int) -> str:
    return (
        f'storage "postgresql" {{\n  connection_url = "{url}"\n  table = "strongroom_kv"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )


def _vault_url(postgres: Postgres) -> str:
    return postgres.url(password=PASSWORD).replace("/postgres?", "/vault?")


def _admin(postgres: Postgres, statement: str) -> None:
    with psycopg.connect(postgres.url(), autocommit=True) as admin:
        admin.execute(statement)


def test_kv_survives_a_restart_and_the_table_holds_only_ciphertext(
    postgres: Postgres, tmp_path: Path
) -> None:
    port = free_port()
    config = _config(_vault_url(postgres), port)
    with strongroom_config_server(tmp_path, config, port) as server:
        keys = httpx.put(f"{server.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        unseal_key, root = keys.json()["keys"][0], keys.json()["root_token"]
        httpx.put(f"{server.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}, timeout=10) as client:
            client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).raise_for_status()
            client.post("/v1/secret/data/app", json={"data": {"password": CANARY}}).raise_for_status()
            status = httpx.get(f"{server.address}/v1/sys/seal-status").json()
            assert status["storage_type"] == "postgresql"

    with strongroom_config_server(tmp_path, config, port) as server:
        assert httpx.get(f"{server.address}/v1/sys/seal-status").json()["sealed"] is True
        httpx.put(f"{server.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}, timeout=10) as client:
            answer = client.get("/v1/secret/data/app")
            assert answer.status_code == 200
            assert answer.json()["data"]["data"] == {"password": CANARY}
            assert client.get("/v1/secret/metadata", params={"list": "true"}).json()["data"]["keys"] == [
                "app"
            ]

            # The database goes away: writes fail in Vault's error shape (reads it has cached still answer);
            # it comes back: writes succeed again.
            _admin(postgres, "ALTER DATABASE vault ALLOW_CONNECTIONS false")
            _admin(postgres, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'vault'")
            lost = client.post("/v1/secret/data/app", json={"data": {"password": "lost"}})
            assert (lost.status_code, lost.json()) == (500, {"errors": ["internal error"]})
            assert client.get("/v1/secret/data/app").json()["data"]["data"] == {"password": CANARY}
            _admin(postgres, "ALTER DATABASE vault ALLOW_CONNECTIONS true")
            client.post("/v1/secret/data/app", json={"data": {"password": "back"}}).raise_for_status()
            assert client.get("/v1/secret/data/app").json()["data"]["data"] == {"password": "back"}
        log = server.log.read_text()
    assert "postgresql: " in log
    assert PASSWORD not in log

    with psycopg.connect(_vault_url(postgres)) as connection:
        rows = connection.execute("SELECT path, key, value FROM strongroom_kv").fetchall()
    paths = {path for path, _, _ in rows}
    assert "/core/" in paths
    assert len(rows) > 5
    for _, key, value in rows:
        assert CANARY.encode() not in bytes(value), key


def test_an_unreachable_database_stops_startup_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:{free_port()}/vault?sslmode=disable"
    config = tmp_path / "server.hcl"
    config.write_text(_config(url, port))
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "server", f"-config={config}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=_ENV,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error initializing storage: postgresql: connection failed: ")
    assert "Connection refused" in lines[0]
    assert PASSWORD not in done.stderr


def test_ha_enabled_without_api_addr_is_refused_before_connecting(tmp_path: Path) -> None:
    config = tmp_path / "server.hcl"
    text = _config(f"postgresql://bob:{PASSWORD}@127.0.0.1:1/vault", free_port())
    config.write_text(text.replace('table = "strongroom_kv"', 'ha_enabled = "true"'))
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "server", f"-config={config}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=_ENV,
    )
    assert done.returncode == 1
    assert done.stderr.strip() == (
        'Error loading configuration: storage "postgresql": ha_enabled needs api_addr, the address other '
        'servers forward requests to (such as api_addr = "http://10.0.0.5:8200")'
    )
