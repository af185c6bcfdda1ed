"""Token expiry by the lease manager, over real HTTP: when a parent token's lease runs out, the background
timer revokes it and every child, though nobody uses the parent again; a persistent server does the same
for leases that ran out while it was down (at unseal), and for those that run out after a restart."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.servers import RunningServer, free_port, sqlite_config, strongroom_config_server


def _create(address: str, token: str, ttl: str) -> tuple[str, str]:
    """A token created by `token` with `ttl`: (its ID, its lease ID, the one lease that appeared)."""
    before = set(_lease_keys(address, token))
    answer = httpx.post(
        f"{address}/v1/auth/token/create", json={"ttl": ttl}, headers={"X-Vault-Token": token}
    )
    assert answer.status_code == 200, answer.text
    (new,) = set(_lease_keys(address, token)) - before
    return answer.json()["auth"]["client_token"], f"auth/token/create/{new}"


def _lease_keys(address: str, token: str) -> list[str]:
    answer = httpx.request(
        "LIST", f"{address}/v1/sys/leases/lookup/auth/token/create/", headers={"X-Vault-Token": token}
    )
    return list(answer.json()["data"]["keys"]) if answer.status_code == 200 else []


def _usable(address: str, token: str) -> bool:
    answer = httpx.get(f"{address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
    assert answer.status_code in (200, 403), answer.text
    return answer.status_code == 200


def _wait_until(deadline: float) -> None:
    time.sleep(max(0.0, deadline - time.time()))


def test_an_expiring_parent_takes_its_children_with_it(server: RunningServer) -> None:
    parent, parent_lease = _create(server.address, server.root_token, "1s")
    created = time.time()
    child, child_lease = _create(server.address, parent, "1h")
    grandchild, _ = _create(server.address, child, "1h")
    assert _usable(server.address, child)
    _wait_until(created + 2.5)
    for token in (grandchild, child, parent):
        assert not _usable(server.address, token)
    for lease_id in (parent_lease, child_lease):
        gone = httpx.put(
            f"{server.address}/v1/sys/leases/lookup",
            json={"lease_id": lease_id},
            headers={"X-Vault-Token": server.root_token},
        )
        assert (gone.status_code, gone.json()) == (400, {"errors": ["invalid lease"]})


def _init(address: str) -> tuple[str, str]:
    keys = httpx.put(f"{address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}).json()
    _unseal(address, keys["keys"][0])
    return keys["keys"][0], keys["root_token"]


def _unseal(address: str, key: str) -> None:
    answer = httpx.put(f"{address}/v1/sys/unseal", json={"key": key})
    assert answer.status_code == 200
    assert answer.json()["sealed"] is False


def test_expiry_survives_a_restart(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, config, port) as first:
        key, root = _init(first.address)
        # Runs out while the server is down: revoked during unseal, before the first request.
        short_parent, _ = _create(first.address, root, "1s")
        short_child, _ = _create(first.address, short_parent, "1h")
        # Runs out after the restart: revoked by the timer restored from storage.
        # 12 s: room for a restart on a loaded machine (CI runs other suites beside this one).
        long_parent, _ = _create(first.address, root, "12s")
        created = time.time()
        long_child, _ = _create(first.address, long_parent, "1h")
        bystander, _ = _create(first.address, root, "1h")
    _wait_until(created + 1.5)
    with strongroom_config_server(tmp_path, config, port) as second:
        _unseal(second.address, key)
        assert not _usable(second.address, short_child)
        assert not _usable(second.address, short_parent)
        assert time.time() < created + 11, "the restart took too long for this test's timings"
        assert _usable(second.address, long_child)
        _wait_until(created + 13)
        assert not _usable(second.address, long_child)
        assert not _usable(second.address, long_parent)
        assert _usable(second.address, bystander)
