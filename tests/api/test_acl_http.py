"""The ACL over real HTTP on strongroom alone: what we decide on purpose unlike OpenBao (numbers match in
parameter rules; every path a backend folds is checked folded), the three capability endpoints answering
alike, and a missing route answered only to a token that may go there. The cases OpenBao shares are in
tests/security/ and tests/security/test_acl_differential.py."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.servers import RunningServer

DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def token_with(root: httpx.Client, policy: str) -> dict[str, str]:
    """A token holding `policy` alone: its ID and accessor."""
    name = unique("acl")
    assert root.put(f"/v1/sys/policies/acl/{name}", json={"policy": policy}).status_code == 204
    auth = root.post("/v1/auth/token/create", json={"policies": [name], "no_default_policy": True})
    assert auth.status_code == 200, auth.text
    return {"token": auth.json()["auth"]["client_token"], "accessor": auth.json()["auth"]["accessor"]}


def test_a_json_number_matches_the_same_number_in_parameter_rules(
    server: RunningServer, root: httpx.Client
) -> None:
    """Kept on purpose: OpenBao decodes request numbers as json.Number, which matches no policy value, so
    its denied_parameters = {"n" = [5]} does not stop {"n": 5}. Here it does, for 5 and 5.0 alike."""
    mount = unique("kv1")
    assert root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv"}).status_code == 204
    token = token_with(
        root,
        f'path "{mount}/*" {{\n  capabilities = ["create", "update"]\n'
        '  denied_parameters = { "n" = [5] }\n  allowed_parameters = { "*" = [], "level" = [1, 2] }\n}\n',
    )["token"]
    with server.client(token) as client:
        for body in ({"n": 5}, {"n": 5.0}, {"level": 3}, {"level": 1.5}):
            answer = client.post(f"/v1/{mount}/x", json=body)
            assert (answer.status_code, answer.json()) == (403, DENIED), body
        for body in ({"n": 6}, {"n": "5"}, {"level": 2}, {"level": 1.0}):
            assert client.post(f"/v1/{mount}/x", json=body).status_code == 204, body


def test_every_userpass_path_naming_a_user_is_checked_folded(
    server: RunningServer, root: httpx.Client
) -> None:
    """OpenBao folds users/<name> but not users/<name>/password nor /policies, so there a deny on
    users/admin/* is dodged by "ADMIN"; here the backend folds the name on every path, and so does the
    check."""
    mount = unique("up")
    assert root.post(f"/v1/sys/auth/{mount}", json={"type": "userpass"}).status_code == 204
    assert root.post(f"/v1/auth/{mount}/users/admin", json={"password": "original"}).status_code == 204
    token = token_with(
        root,
        f'path "auth/{mount}/users/*" {{ capabilities = ["create", "update"] }}\n'
        f'path "auth/{mount}/users/admin/*" {{ capabilities = ["deny"] }}\n',
    )["token"]
    with server.client(token) as client:
        for suffix, body in (("password", {"password": "stolen"}), ("policies", {"token_policies": "x"})):
            answer = client.post(f"/v1/auth/{mount}/users/ADMIN/{suffix}", json=body)
            assert (answer.status_code, answer.json()) == (403, DENIED)
    assert httpx.post(
        f"{server.address}/v1/auth/{mount}/login/admin", json={"password": "original"}
    ).is_success


def test_jwt_role_names_are_checked_folded(server: RunningServer, root: httpx.Client) -> None:
    """OpenBao's JWT method lower-cases role names but checks the ACL on the name as written; here the
    declared lower-case capture is folded before the check."""
    mount = unique("jwt")
    assert root.post(f"/v1/sys/auth/{mount}", json={"type": "jwt"}).status_code == 204
    role = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["x"]}
    assert root.post(f"/v1/auth/{mount}/role/admin", json=role).status_code == 204
    token = token_with(
        root,
        f'path "auth/{mount}/role/*" {{ capabilities = ["read", "update"] }}\n'
        f'path "auth/{mount}/role/admin" {{ capabilities = ["deny"] }}\n',
    )["token"]
    with server.client(token) as client:
        for name in ("ADMIN", "Admin"):
            answer = client.get(f"/v1/auth/{mount}/role/{name}")
            assert (answer.status_code, answer.json()) == (403, DENIED)


POLICY = """
path "shape/*" { capabilities = ["list"] }
path "shape/a/*" { capabilities = ["read"] }
path "shape/a/+" { capabilities = ["update"] }
path "shape/b" { capabilities = ["create", "sudo"] }
path "shape/c/" { capabilities = ["delete"] }
path "shape/d/+/e" { capabilities = ["deny"] }
path "sys/capabilities-self" { capabilities = ["update"] }
"""
SHAPES = [
    "shape", "shape/", "/shape/x", "shape/a", "shape/a/", "shape/a/x", "shape/a/x/", "shape/a/x/y",
    "shape/b", "shape/b/", "shape/c", "shape/c/", "shape/d/x/e", "shape/d/x/e/", "shape/d//e", "other",
]  # fmt: skip


def test_the_three_capability_endpoints_answer_alike(server: RunningServer, root: httpx.Client) -> None:
    holder = token_with(root, POLICY)
    by_token = root.post("/v1/sys/capabilities", json={"token": holder["token"], "paths": SHAPES})
    by_accessor = root.post(
        "/v1/sys/capabilities-accessor", json={"accessor": holder["accessor"], "paths": SHAPES}
    )
    with server.client(holder["token"]) as client:
        by_self = client.post("/v1/sys/capabilities-self", json={"paths": SHAPES})
    answers = [answer.json()["data"] for answer in (by_token, by_accessor, by_self)]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["shape/a/"] == ["update"]
    assert answers[0]["shape/a/x/"] == ["read"]
    assert answers[0]["shape/b/"] == ["create", "sudo"]
    assert answers[0]["/shape/x"] == ["list"]
    assert answers[0]["other"] == ["deny"]


@pytest.mark.parametrize("method", ["GET", "LIST", "PUT", "DELETE"])
def test_a_missing_route_is_answered_only_to_a_token_that_may_go_there(
    server: RunningServer, root: httpx.Client, method: str
) -> None:
    mount = unique("nowhere")
    granted = token_with(
        root, f'path "{mount}/*" {{ capabilities = ["create", "read", "update", "delete", "list"] }}'
    )
    body = {"a": 1} if method == "PUT" else None
    with server.client(granted["token"]) as client:
        answer = client.request(method, f"/v1/{mount}/x", json=body)
    assert answer.status_code == 404
    assert "route entry not found" in answer.json()["errors"][0]
