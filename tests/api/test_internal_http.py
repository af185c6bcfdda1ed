"""Paths clients use to find their way: sys/internal/ui/mounts (with and without a token), ?help=1 and the
refusal of writes to paths ending in "/"."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import RunningServer


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def reader(server: RunningServer, root: httpx.Client) -> Iterator[httpx.Client]:
    """A token that may read one folder of secret/ and nothing else."""
    policy = _name("reader")
    rules = f'path "secret/data/{policy}/*" {{ capabilities = ["read"] }}'
    assert root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": rules}).status_code == 204
    token = root.post("/v1/auth/token/create", json={"policies": [policy]}).json()["auth"]["client_token"]
    with server.client(token) as client:
        yield client


def test_a_limited_token_finds_the_mount_it_has_access_under(reader: httpx.Client) -> None:
    # The ACL does not cover sys/internal/ui/mounts/...: the handler's own visibility check decides.
    response = reader.get("/v1/sys/internal/ui/mounts/secret/anything/at/all")
    assert response.status_code == 200
    data = response.json()["data"]
    assert (data["path"], data["type"], data["options"]) == ("secret/", "kv", {"version": "2"})


def test_a_limited_token_lists_only_the_mounts_it_can_reach(reader: httpx.Client) -> None:
    listed = reader.get("/v1/sys/internal/ui/mounts").json()["data"]
    assert "secret/" in listed["secret"]
    assert not any(path.startswith("reader-") for path in listed["secret"])


def test_a_mount_the_token_cannot_reach_fails_the_preflight_check(
    reader: httpx.Client, root: httpx.Client
) -> None:
    mount = _name("hidden")
    assert root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv"}).status_code == 204
    try:
        response = reader.get(f"/v1/sys/internal/ui/mounts/{mount}/x")
        assert response.status_code == 403
        assert response.json() == {
            "errors": [
                "preflight capability check returned 403, please ensure client's policies grant access to "
                f'path "{mount}/x/"'
            ]
        }
    finally:
        root.delete(f"/v1/sys/mounts/{mount}")


def test_without_a_token_no_mount_is_visible(server: RunningServer) -> None:
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        assert anonymous.get("/v1/sys/internal/ui/mounts").json()["data"] == {"auth": {}, "secret": {}}
        assert anonymous.get("/v1/sys/internal/ui/mounts/secret/x").status_code == 403


def test_help_is_answered_outside_the_envelope(reader: httpx.Client) -> None:
    body = reader.get("/v1/secret/data/x", params={"help": "1"}).json()
    assert set(body) == {"help", "openapi", "see_also"}
    assert body["help"].startswith("Request:        data/x\nMatching Route: ^data/(?P<path>.*)$\n")
    assert "/data/{path}" in body["openapi"]["paths"]


def test_help_at_a_mount_root_describes_the_backend(root: httpx.Client) -> None:
    body = root.get("/v1/cubbyhole/", params={"help": "1"}).json()
    assert body["help"].startswith(
        "## DESCRIPTION\n\nThe cubbyhole backend reads and writes arbitrary secrets"
    )
    assert "\n## PATHS\n" in body["help"]
    assert "/{path}" in body["openapi"]["paths"]


@pytest.mark.parametrize(
    "path", ["cubbyhole/", "cubbyhole/folder/", "secret/data/x/", "sys/mounts/x/", "auth/token/create/"]
)
def test_writes_to_a_path_ending_in_a_slash_are_refused(root: httpx.Client, path: str) -> None:
    response = root.post(f"/v1/{path}", json={"type": "kv", "data": {"a": "b"}})
    assert response.status_code == 400
    assert response.json() == {"errors": ["cannot write to a path ending in '/'"]}
    merge = root.patch(f"/v1/{path}", json={}, headers={"Content-Type": "application/merge-patch+json"})
    assert merge.status_code == 400
