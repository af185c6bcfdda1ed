"""Tuning a KV mount's version over real HTTP: upgrade keeps the secrets; no downgrade, no unknown version."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import RunningServer


@pytest.fixture
def kv1(root: httpx.Client) -> Iterator[str]:
    mount = f"kv1-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv"}).status_code == 204
    yield mount
    root.delete(f"/v1/sys/mounts/{mount}")


def _tune(root: httpx.Client, mount: str, version: str) -> httpx.Response:
    return root.post(f"/v1/sys/mounts/{mount}/tune", json={"options": {"version": version}})


def test_upgrading_a_kv_mount_to_version_2_keeps_its_secrets(root: httpx.Client, kv1: str) -> None:
    assert root.post(f"/v1/{kv1}/db", json={"password": "p"}).status_code == 204
    assert root.post(f"/v1/{kv1}/app/key", json={"a": "b"}).status_code == 204

    upgraded = _tune(root, kv1, "2")
    assert upgraded.status_code == 200
    # OpenBao's text names the versions wrongly ("from version 0 to version 0"); strongroom's are right.
    [warning] = upgraded.json()["warnings"]
    assert warning.startswith("Upgrading mount from version ")
    assert warning.endswith(
        "This mount will be unavailable for a brief period and will resume service shortly."
    )
    assert root.get(f"/v1/sys/mounts/{kv1}").json()["data"]["options"] == {"version": "2"}

    read = root.get(f"/v1/{kv1}/data/db").json()["data"]
    assert read["data"] == {"password": "p"}
    assert read["metadata"]["version"] == 1
    assert root.request("LIST", f"/v1/{kv1}/metadata/").json()["data"]["keys"] == ["app/", "db"]
    assert root.post(f"/v1/{kv1}/data/db", json={"data": {"password": "q"}}).json()["data"]["version"] == 2

    assert _tune(root, kv1, "2").status_code == 204
    refused = _tune(root, kv1, "1")
    assert refused.status_code == 400
    assert refused.json() == {"errors": ["cannot downgrade mount from version 2"]}


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("3", "invalid version provided: 3"),
        ("", "invalid version provided: 0"),
        ("x", 'unable to parse options: strconv.ParseInt: parsing "x": invalid syntax'),
    ],
)
def test_unknown_kv_versions_are_refused(root: httpx.Client, kv1: str, version: str, error: str) -> None:
    response = _tune(root, kv1, version)
    assert response.status_code == 400
    assert response.json() == {"errors": [error]}
    assert root.get(f"/v1/sys/mounts/{kv1}").json()["data"]["options"] == {}


def test_auth_methods_tune_through_the_legacy_mounts_path(server: RunningServer) -> None:
    with server.client() as client:
        client.post("/v1/sys/auth/tune-legacy", json={"type": "userpass"}).raise_for_status()
        tuned = client.post("/v1/sys/mounts/auth/tune-legacy/tune", json={"default_lease_ttl": "45m"})
        assert tuned.status_code == 204
        assert client.get("/v1/sys/auth/tune-legacy/tune").json()["data"]["default_lease_ttl"] == 2700
        assert client.get("/v1/sys/mounts/auth/tune-legacy/tune").json()["data"]["default_lease_ttl"] == 2700
        client.delete("/v1/sys/auth/tune-legacy").raise_for_status()
