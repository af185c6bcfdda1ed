"""Security issue 18, case 2: a deny must not be dodged by spelling a name in another case (or with
surrounding spaces) where the backend folds it. Black-box over real HTTP, against strongroom and OpenBao alike
(OpenBao holds: the reference).

The core folds the names a backend declares it folds before the ACL check, so the rule written for "admin"
governs "ADMIN", "Admin" and " admin" alike; and a refused write leaves the target as it was.
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


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def token_for(root: httpx.Client, policy: str) -> str:
    name = unique("case2")
    assert root.put(f"/v1/sys/policies/acl/{name}", json={"policy": policy}).status_code == 204
    answer = root.post("/v1/auth/token/create", json={"policies": [name], "no_default_policy": True})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["auth"]["client_token"]
    return token


def assert_denied(answer: httpx.Response) -> None:
    assert (answer.status_code, answer.json()) == (403, DENIED), (answer.request.url, answer.text)


def test_userpass_user_deny_holds_in_any_case(target: RunningServer, root: httpx.Client) -> None:
    mount = unique("up")
    assert root.post(f"/v1/sys/auth/{mount}", json={"type": "userpass"}).status_code == 204
    assert root.post(f"/v1/auth/{mount}/users/admin", json={"password": "original"}).status_code == 204
    token = token_for(
        root,
        f'path "auth/{mount}/users/*" {{ capabilities = ["create", "update", "read", "delete"] }}\n'
        f'path "auth/{mount}/users/admin" {{ capabilities = ["deny"] }}\n',
    )
    with target.client(token) as client:
        for name in ("ADMIN", "Admin", "aDmIn"):
            assert_denied(client.post(f"/v1/auth/{mount}/users/{name}", json={"password": "stolen"}))
            assert_denied(client.get(f"/v1/auth/{mount}/users/{name}"))
            assert_denied(client.delete(f"/v1/auth/{mount}/users/{name}"))
        # The grant still works on other users, in any case, and they are one user.
        assert client.post(f"/v1/auth/{mount}/users/BOB", json={"password": "pw"}).status_code == 204
        assert client.get(f"/v1/auth/{mount}/users/bob").status_code == 200
    # Nothing was half-applied: admin keeps its password.
    login = httpx.post(f"{target.address}/v1/auth/{mount}/login/admin", json={"password": "original"})
    assert login.status_code == 200, login.text
    stolen = httpx.post(f"{target.address}/v1/auth/{mount}/login/admin", json={"password": "stolen"})
    assert stolen.status_code == 400


def test_approle_role_deny_holds_in_any_case(target: RunningServer, root: httpx.Client) -> None:
    mount = unique("ar")
    assert root.post(f"/v1/sys/auth/{mount}", json={"type": "approle"}).status_code == 204
    assert root.post(f"/v1/auth/{mount}/role/admin", json={"token_ttl": "1h"}).status_code == 204
    token = token_for(
        root,
        f'path "auth/{mount}/role/*" {{ capabilities = ["create", "update", "read"] }}\n'
        f'path "auth/{mount}/role/admin" {{ capabilities = ["deny"] }}\n'
        f'path "auth/{mount}/role/admin/*" {{ capabilities = ["deny"] }}\n',
    )
    with target.client(token) as client:
        for name in ("ADMIN", "Admin"):
            assert_denied(client.post(f"/v1/auth/{mount}/role/{name}", json={"token_ttl": "24h"}))
            assert_denied(client.get(f"/v1/auth/{mount}/role/{name}"))
            assert_denied(client.get(f"/v1/auth/{mount}/role/{name}/role-id"))
            assert_denied(client.post(f"/v1/auth/{mount}/role/{name}/secret-id"))
            assert_denied(client.post(f"/v1/auth/{mount}/role/{name}/policies", json={"token_policies": "x"}))
        assert client.post(f"/v1/auth/{mount}/role/OTHER", json={"token_ttl": "1h"}).status_code == 204
        assert client.get(f"/v1/auth/{mount}/role/other").status_code == 200
    assert root.get(f"/v1/auth/{mount}/role/admin").json()["data"]["token_ttl"] == 3600


def test_policy_deny_holds_in_any_case_and_with_spaces(target: RunningServer, root: httpx.Client) -> None:
    name = unique("guarded")
    assert root.put(f"/v1/sys/policies/acl/{name}", json={"policy": 'path "a" { capabilities = ["read"] }'})
    token = token_for(
        root,
        'path "sys/policies/acl/*" { capabilities = ["create", "update", "read", "delete"] }\n'
        f'path "sys/policies/acl/{name}" {{ capabilities = ["deny"] }}\n'
        'path "sys/policy/*" { capabilities = ["create", "update", "read", "delete"] }\n'
        f'path "sys/policy/{name}" {{ capabilities = ["deny"] }}\n',
    )
    replacement = {"policy": 'path "*" { capabilities = ["sudo", "read"] }'}
    with target.client(token) as client:
        for spelled in (name.upper(), name.capitalize(), f"%20{name}", f"{name}%20", f"%20{name.upper()}%20"):
            assert_denied(client.put(f"/v1/sys/policies/acl/{spelled}", json=replacement))
            assert_denied(client.get(f"/v1/sys/policies/acl/{spelled}"))
            assert_denied(client.delete(f"/v1/sys/policies/acl/{spelled}"))
            assert_denied(client.put(f"/v1/sys/policy/{spelled}", json=replacement))
    kept = root.get(f"/v1/sys/policies/acl/{name}").json()["data"]["policy"]
    assert kept == 'path "a" { capabilities = ["read"] }'
