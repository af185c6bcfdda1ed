"""Security issue 18, case 1: a LIST must not walk past a deny, and a refused token must not learn which
mounts exist. Black-box over real HTTP, against strongroom and OpenBao alike (OpenBao holds: the reference).

Vault checks a list request on the path with its trailing slash, so `dir/*` and `dir/+` (whose "+" matches
the empty last segment) cover the folder's own listing, whatever a wider rule grants.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import RunningServer

DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


@pytest.fixture(params=["strongroom", "openbao"])
def target(request: pytest.FixtureRequest) -> RunningServer:
    """Each test runs against both servers."""
    server: RunningServer = request.getfixturevalue("server" if request.param == "strongroom" else "bao")
    return server


@pytest.fixture
def root(target: RunningServer) -> Iterator[httpx.Client]:
    with target.client() as client:
        yield client


def token_for(root: httpx.Client, policy: str) -> str:
    name = f"case1-{uuid.uuid4().hex[:8]}"
    assert root.put(f"/v1/sys/policies/acl/{name}", json={"policy": policy}).status_code == 204
    answer = root.post("/v1/auth/token/create", json={"policies": [name], "no_default_policy": True})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["auth"]["client_token"]
    return token


@pytest.fixture
def kv(root: httpx.Client) -> str:
    """A fresh KV v2 mount holding private/a and pub."""
    mount = f"kv-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "2"}}).is_success
    for key in ("private/a", "pub"):
        assert root.post(f"/v1/{mount}/data/{key}", json={"data": {"v": 1}}).status_code == 200
    return mount


@pytest.mark.parametrize("deny", ["private/*", "private/+"])
def test_list_of_a_denied_folder_is_refused(
    target: RunningServer, root: httpx.Client, kv: str, deny: str
) -> None:
    token = token_for(
        root,
        f'path "{kv}/metadata/*" {{ capabilities = ["list"] }}\n'
        f'path "{kv}/metadata/{deny}" {{ capabilities = ["deny"] }}\n'
        'path "sys/capabilities-self" { capabilities = ["update"] }\n',
    )
    with target.client(token) as client:
        for method, path in [
            ("LIST", f"/v1/{kv}/metadata/private"),
            ("LIST", f"/v1/{kv}/metadata/private/"),
            ("GET", f"/v1/{kv}/metadata/private?list=true"),
            ("GET", f"/v1/{kv}/metadata/private/?list=true"),
        ]:
            answer = client.request(method, path)
            assert (answer.status_code, answer.json()) == (403, DENIED), (method, path)
        # The grant still lists the mount's top level, which names the folder but not what is in it.
        listed = client.request("LIST", f"/v1/{kv}/metadata/")
        assert listed.status_code == 200
        assert sorted(listed.json()["data"]["keys"]) == ["private/", "pub"]
        answer = client.post(
            "/v1/sys/capabilities-self",
            json={"paths": [f"{kv}/metadata/private/", f"{kv}/metadata/private", f"{kv}/metadata/"]},
        )
        assert answer.status_code == 200
        assert answer.json()["data"] == {
            f"{kv}/metadata/private/": ["deny"],
            f"{kv}/metadata/private": ["list"],
            f"{kv}/metadata/": ["list"],
        }


def test_list_of_policy_names_is_refused_past_a_segment_deny(
    target: RunningServer, root: httpx.Client
) -> None:
    token = token_for(
        root,
        'path "sys/policies/*" { capabilities = ["list"] }\n'
        'path "sys/policies/acl/+" { capabilities = ["deny"] }\n',
    )
    with target.client(token) as client:
        for method, path in [
            ("LIST", "/v1/sys/policies/acl"),
            ("LIST", "/v1/sys/policies/acl/"),
            ("GET", "/v1/sys/policies/acl?list=true"),
        ]:
            answer = client.request(method, path)
            assert (answer.status_code, answer.json()) == (403, DENIED), (method, path)


@pytest.mark.parametrize("method", ["GET", "LIST", "POST", "DELETE"])
def test_a_path_no_mount_handles_is_refused_before_it_is_found_missing(
    target: RunningServer, root: httpx.Client, method: str
) -> None:
    token = token_for(root, 'path "elsewhere/*" { capabilities = ["read"] }\n')
    path = f"/v1/nothing-{uuid.uuid4().hex[:8]}/x"
    body = {"a": "b"} if method == "POST" else None
    with target.client(token) as client:
        answer = client.request(method, path, json=body)
        assert (answer.status_code, answer.json()) == (403, DENIED)
    # A token that may go there learns that nothing is there.
    assert root.request(method, path, json=body).status_code == 404
