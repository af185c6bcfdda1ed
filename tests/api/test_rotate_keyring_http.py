"""OpenBao's key-rotation paths beside Vault's sys/rotate: sys/rotate/keyring and the automatic-rotation
config at sys/rotate/keyring/config (alias sys/rotate/config), over real HTTP.

Every test runs against strongroom and a real OpenBao with the same assertions, and puts the shared
server's rotation config back as it found it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import RunningServer

DEFAULT = {"enabled": True, "interval": 0, "max_operations": 3865470566}


@pytest.fixture(params=["server", "bao"])
def root(request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    running: RunningServer = request.getfixturevalue(request.param)
    with running.client() as client:
        before = client.get("/v1/sys/rotate/keyring/config").json()["data"]
        yield client
        restore = {**before, "interval": before["interval"] or 0}
        assert client.post("/v1/sys/rotate/keyring/config", json=restore).status_code == 204


def term(client: httpx.Client) -> int:
    value: int = client.get("/v1/sys/key-status").json()["data"]["term"]
    return value


def config(client: httpx.Client, path: str = "sys/rotate/keyring/config") -> dict[str, Any]:
    answer = client.get(f"/v1/{path}")
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()["data"]
    return data


def test_rotate_keyring_adds_a_term_like_sys_rotate(root: httpx.Client) -> None:
    first = term(root)
    assert root.post("/v1/sys/rotate/keyring").status_code == 204
    assert term(root) == first + 1
    assert root.put("/v1/sys/rotate").status_code == 204
    assert term(root) == first + 2
    answer = root.get("/v1/sys/rotate/keyring")
    assert (answer.status_code, answer.json()["errors"]) == (
        405,
        ["1 error occurred:\n\t* unsupported operation\n\n"],
    )


def test_rotate_keyring_needs_sudo_and_its_config_does_not(root: httpx.Client) -> None:
    policy = 'path "sys/rotate*" { capabilities = ["read", "create", "update"] }'
    assert root.put("/v1/sys/policies/acl/rotate-no-sudo", json={"policy": policy}).status_code == 204
    created = root.post("/v1/auth/token/create", json={"policies": ["rotate-no-sudo"], "ttl": "5m"})
    token = created.json()["auth"]["client_token"]
    try:
        headers = {"X-Vault-Token": token}
        first = term(root)
        assert root.post("/v1/sys/rotate/keyring", headers=headers).status_code == 403
        assert term(root) == first
        assert root.get("/v1/sys/rotate/keyring/config", headers=headers).status_code == 200
        assert root.post("/v1/sys/rotate/keyring/config", headers=headers, json={}).status_code == 204
    finally:
        root.post("/v1/auth/token/revoke", json={"token": token})
        root.delete("/v1/sys/policies/acl/rotate-no-sudo")


def test_the_rotation_config_is_read_and_written_at_both_paths(root: httpx.Client) -> None:
    assert root.post("/v1/sys/rotate/keyring/config", json=DEFAULT).status_code == 204
    assert config(root) == DEFAULT

    body = {"interval": "48h", "max_operations": 1000000}
    assert root.post("/v1/sys/rotate/keyring/config", json=body).status_code == 204
    expected = {"enabled": True, "interval": "48h0m0s", "max_operations": 1000000}
    assert config(root) == expected
    assert config(root, "sys/rotate/config") == expected

    assert root.post("/v1/sys/rotate/config", json={"enabled": False}).status_code == 204
    assert config(root) == {**expected, "enabled": False}


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"interval": "1h"}, "interval must be greater or equal to 24h0m0s"),
        ({"max_operations": 999999}, "max_operations must be in the range [1000000,3865470566]"),
        ({"max_operations": 3865470567}, "max_operations must be in the range [1000000,3865470566]"),
    ],
)
def test_out_of_range_settings_are_refused_and_change_nothing(
    root: httpx.Client, body: dict[str, Any], error: str
) -> None:
    assert root.post("/v1/sys/rotate/keyring/config", json=DEFAULT).status_code == 204
    answer = root.post("/v1/sys/rotate/keyring/config", json=body)
    assert (answer.status_code, answer.json()["errors"]) == (400, [error])
    assert config(root) == DEFAULT
