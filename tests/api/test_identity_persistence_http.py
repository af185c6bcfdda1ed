"""Identity data is behind the barrier and survives a SIGKILL: entities, aliases, groups and the entity a
login finds are all there after a restart, and none of their names is readable in the storage file."""

from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.servers import free_port, init_and_unseal, sqlite_config, strongroom_config_server

# The alias name is left out of the plaintext check: userpass keys its user record by that name, and
# storage keys (unlike values) are not encrypted, in Vault either. Identity keys its records by ID.
NAMES = ("persist-entity-name", "persist-user-alias", "persist-group-name")


def test_identity_survives_sigkill_encrypted(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, config, port) as server:
        unseal_key, token = init_and_unseal(server.address)
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as root:
            root.post("/v1/sys/auth/userpass", json={"type": "userpass"}).raise_for_status()
            root.post(
                "/v1/auth/userpass/users/persist-user-alias", json={"password": "pw"}
            ).raise_for_status()
            login = httpx.post(
                f"{server.address}/v1/auth/userpass/login/persist-user-alias", json={"password": "pw"}
            ).json()["auth"]
            entity_id = login["entity_id"]
            root.post(f"/v1/identity/entity/id/{entity_id}", json={"name": NAMES[0]}).raise_for_status()
            group = root.post("/v1/identity/group", json={"name": NAMES[2], "member_entity_ids": [entity_id]})
            group_id = group.json()["data"]["id"]
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("strongroom.db*"))
    assert stored
    assert [name for name in (NAMES[0], NAMES[2]) if name.encode() in stored] == []
    with strongroom_config_server(tmp_path, config, port) as server:
        httpx.put(f"{server.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as root:
            entity = root.get(f"/v1/identity/entity/name/{NAMES[0]}").json()["data"]
            assert (entity["id"], entity["direct_group_ids"]) == (entity_id, [group_id])
            assert [a["name"] for a in entity["aliases"]] == ["persist-user-alias"]
            again = httpx.post(
                f"{server.address}/v1/auth/userpass/login/persist-user-alias", json={"password": "pw"}
            ).json()["auth"]
            assert again["entity_id"] == entity_id
            assert root.get(f"/v1/identity/group/id/{group_id}").json()["data"]["member_entity_ids"] == [
                entity_id
            ]
            mounts = root.get("/v1/sys/mounts").json()["data"]
            assert [path for path, mount in mounts.items() if mount["type"] == "identity"] == ["identity/"]
