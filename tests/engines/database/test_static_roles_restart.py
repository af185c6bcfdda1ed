"""Static role rotations survive a SIGKILL of the server: a rotation that fell due while the server was
down runs at unseal, and a rotation that had written its new password ahead but could not reach the
database is finished at unseal with that password, so the database and the role agree again."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import httpx

from tests.engines.database.conftest import PLUGIN, logs_in, templated_url
from tests.postgres import Postgres
from tests.servers import free_port, init_and_unseal, sqlite_config, strongroom_config_server


def creds(root: httpx.Client, name: str) -> dict[str, str]:
    data: dict[str, str] = root.get(f"/v1/db/static-creds/{name}").json()["data"]
    return data


def test_rotations_due_or_pending_at_a_crash_run_at_unseal(
    tmp_path: Path, postgres: Postgres, user: str
) -> None:
    other = f"{user}_b"
    postgres.query(f"CREATE ROLE {other} WITH LOGIN PASSWORD 'initial-pw' IN ROLE password_checked")
    database = f"off_{uuid.uuid4().hex[:8]}"
    port = free_port()
    config = sqlite_config(tmp_path, port)
    try:
        with postgres.database(database, password="{{password}}") as off_url:
            with strongroom_config_server(tmp_path, config, port) as server:
                unseal_key, token = init_and_unseal(server.address)
                root = httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=30)
                root.post("/v1/sys/mounts/db", json={"type": "database"}).raise_for_status()
                connection = {"plugin_name": PLUGIN, "allowed_roles": "*", "username": "postgres"}
                root.post(
                    "/v1/db/config/pg", json={**connection, "connection_url": templated_url(postgres)}
                ).raise_for_status()
                off = off_url.replace("postgres:{{password}}@", "{{username}}:{{password}}@")
                root.post("/v1/db/config/off", json={**connection, "connection_url": off}).raise_for_status()
                due = {"db_name": "pg", "username": user, "rotation_period": 5}
                root.post("/v1/db/static-roles/due", json=due).raise_for_status()
                pending = {"db_name": "off", "username": other, "rotation_period": "1h"}
                root.post("/v1/db/static-roles/pending", json=pending).raise_for_status()
                due_before, pending_before = creds(root, "due"), creds(root, "pending")
                postgres.query(f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
                postgres.query(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", database
                )
                refused = root.post("/v1/db/rotate-role/pending")
                assert refused.status_code == 400
                assert "last_rotation_error" in root.get("/v1/db/static-roles/pending").json()["data"]
                root.close()
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
            postgres.query(f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
            time.sleep(6)  # "due" is now overdue
            assert logs_in(postgres, user, due_before["password"])
            with strongroom_config_server(tmp_path, config, port) as server:
                unsealed_at = time.time()
                httpx.put(f"{server.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
                root = httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=30)
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline:
                    due_now, pending_now = creds(root, "due"), creds(root, "pending")
                    if due_now["password"] != due_before["password"] and (
                        pending_now["password"] != pending_before["password"]
                    ):
                        break
                    time.sleep(0.2)
                assert due_now["password"] != due_before["password"]
                assert due_now["last_vault_rotation"] >= time.strftime(
                    "%Y-%m-%dT%H:%M:%S", time.gmtime(unsealed_at - 1)
                )
                assert logs_in(postgres, user, due_now["password"])
                assert not logs_in(postgres, user, due_before["password"])
                assert pending_now["password"] != pending_before["password"]
                assert logs_in(postgres, other, pending_now["password"])
                assert not logs_in(postgres, other, pending_before["password"])
                assert "last_rotation_error" not in root.get("/v1/db/static-roles/pending").json()["data"]
                root.close()
    finally:
        postgres.query(f"DROP ROLE IF EXISTS {other}")
