"""A KV v2 write is one storage transaction: when storage refuses any part of it, nothing of it is stored.

The refusal is SQLite's own: a trigger the test adds to the server's database file aborts the insert of the
secret's metadata record, the last of the records a write stores.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.servers import free_port, init_and_unseal, sqlite_config, strongroom_config_server

REFUSE_METADATA = """
CREATE TRIGGER refuse_app_metadata BEFORE INSERT ON entries
WHEN NEW.key LIKE 'logical/%/metadata/app'
BEGIN SELECT RAISE(ABORT, 'refused by the test'); END
"""
VERSIONS = "SELECT count(*) FROM entries WHERE key LIKE 'logical/%/versions/%'"


def test_a_refused_kv_write_stores_nothing_and_costs_no_version(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "strongroom.db"
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        _, root = init_and_unseal(server.address)
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": root}, timeout=10) as client:
            client.post("/v1/sys/mounts/secret", json={"type": "kv-v2"}).raise_for_status()
            first = client.post("/v1/secret/data/app", json={"data": {"value": "one"}})
            assert first.json()["data"]["version"] == 1
            with sqlite3.connect(database) as db:
                db.execute(REFUSE_METADATA)
                assert db.execute(VERSIONS).fetchone() == (1,)

            refused = client.post("/v1/secret/data/app", json={"data": {"value": "two"}})
            assert refused.status_code == 500
            assert refused.json()["errors"]
            with sqlite3.connect(database) as db:
                # The version record was refused together with the metadata: no orphan record is left.
                assert db.execute(VERSIONS).fetchone() == (1,)
                db.execute("DROP TRIGGER refuse_app_metadata")

            current = client.get("/v1/secret/data/app").json()["data"]
            assert current["data"] == {"value": "one"}
            assert current["metadata"]["version"] == 1
            again = client.post("/v1/secret/data/app", json={"data": {"value": "two"}})
            assert again.json()["data"]["version"] == 2
            assert client.get("/v1/secret/data/app").json()["data"]["data"] == {"value": "two"}
