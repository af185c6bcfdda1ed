"""Token lifetimes enforced over real HTTP: use counts, expiry, revocation trees and the cubbyhole's fate."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.servers import RunningServer

CREATOR = 'path "auth/token/create" { capabilities = ["update"] }'


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _create(client: httpx.Client, path: str = "auth/token/create", **body: object) -> dict[str, object]:
    response = client.post(f"/v1/{path}", json=body)
    assert response.status_code == 200, response.text
    auth: dict[str, object] = response.json()["auth"]
    return auth


def _as(server: RunningServer, token: object) -> httpx.Client:
    return server.client(str(token))


def _lookup(root: httpx.Client, token: object) -> httpx.Response:
    return root.post("/v1/auth/token/lookup", json={"token": token})


def test_a_token_with_two_uses_works_twice_then_is_refused(server: RunningServer, root: httpx.Client) -> None:
    token = _create(root, policies=["default"], num_uses=2)["client_token"]
    with _as(server, token) as client:
        first = client.get("/v1/auth/token/lookup-self")
        assert first.status_code == 200
        assert first.json()["data"]["num_uses"] == 1
        assert client.put("/v1/cubbyhole/x", json={"a": "b"}).status_code == 204
        third = client.get("/v1/auth/token/lookup-self")
    assert third.status_code == 403
    assert third.json() == {"errors": ["permission denied"]}
    gone = _lookup(root, token)
    assert gone.status_code == 403
    assert gone.json() == {"errors": ["bad token"]}


def test_a_refused_request_still_spends_a_use(server: RunningServer, root: httpx.Client) -> None:
    token = _create(root, policies=["default"], num_uses=2)["client_token"]
    with _as(server, token) as client:
        assert client.get("/v1/sys/mounts").status_code == 403
        assert client.get("/v1/auth/token/lookup-self").status_code == 200
        assert client.get("/v1/auth/token/lookup-self").status_code == 403


def test_a_token_is_refused_once_its_ttl_has_passed(server: RunningServer, root: httpx.Client) -> None:
    auth = _create(root, policies=["default"], ttl="1s")
    assert auth["lease_duration"] == 1
    with _as(server, auth["client_token"]) as client:
        assert client.get("/v1/auth/token/lookup-self").status_code == 200
        time.sleep(1.2)
        expired = client.get("/v1/auth/token/lookup-self")
    assert expired.status_code == 403
    assert expired.json() == {"errors": ["permission denied"]}
    assert _lookup(root, auth["client_token"]).status_code == 403


def test_renewal_cannot_pass_explicit_max_ttl(server: RunningServer, root: httpx.Client) -> None:
    token = _create(root, policies=["default"], ttl="10m", explicit_max_ttl="20m")["client_token"]
    with _as(server, token) as client:
        renewed = client.post("/v1/auth/token/renew-self", json={"increment": "1h"})
    assert renewed.status_code == 200
    assert 1190 <= renewed.json()["auth"]["lease_duration"] <= 1200


def _parent_and_child(server: RunningServer, root: httpx.Client) -> tuple[str, str]:
    policy = _name("creator")
    assert root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": CREATOR}).status_code == 204
    parent = str(_create(root, policies=[policy])["client_token"])
    with _as(server, parent) as client:
        child = _create(client, policies=["default"])
    assert child["orphan"] is False
    return parent, str(child["client_token"])


def test_children_are_revoked_with_their_parent(server: RunningServer, root: httpx.Client) -> None:
    parent, child = _parent_and_child(server, root)
    assert _lookup(root, child).json()["data"]["policies"] == ["default"]
    assert root.post("/v1/auth/token/revoke", json={"token": parent}).status_code == 204
    for token in (parent, child):
        assert _lookup(root, token).status_code == 403
        with _as(server, token) as client:
            assert client.get("/v1/auth/token/lookup-self").status_code == 403


def test_revoke_orphan_keeps_the_children_as_orphans(server: RunningServer, root: httpx.Client) -> None:
    parent, child = _parent_and_child(server, root)
    assert root.post("/v1/auth/token/revoke-orphan", json={"token": parent}).status_code == 204
    assert _lookup(root, parent).status_code == 403
    survivor = _lookup(root, child)
    assert survivor.status_code == 200
    assert survivor.json()["data"]["orphan"] is True


def test_an_orphan_outlives_the_token_that_made_it(server: RunningServer, root: httpx.Client) -> None:
    creator = str(_create(root, policies=["root"])["client_token"])
    with _as(server, creator) as client:
        orphan = _create(client, "auth/token/create-orphan", policies=["default"])
    assert orphan["orphan"] is True
    assert root.post("/v1/auth/token/revoke", json={"token": creator}).status_code == 204
    assert _lookup(root, orphan["client_token"]).status_code == 200


def test_revoking_a_token_empties_its_cubbyhole(server: RunningServer, root: httpx.Client) -> None:
    # Reusing the token id after revocation gives the same cubbyhole: it must come back empty.
    token_id = _name("cubby")
    _create(root, id=token_id, policies=["default"])
    with _as(server, token_id) as client:
        assert client.put("/v1/cubbyhole/secret", json={"value": "hush"}).status_code == 204
        assert client.get("/v1/cubbyhole/secret").json()["data"] == {"value": "hush"}
    assert root.post("/v1/auth/token/revoke", json={"token": token_id}).status_code == 204

    _create(root, id=token_id, policies=["default"])
    with _as(server, token_id) as client:
        assert client.get("/v1/cubbyhole/secret").status_code == 404
        assert client.request("LIST", "/v1/cubbyhole/").status_code == 404


def test_exhausting_a_token_empties_its_cubbyhole(server: RunningServer, root: httpx.Client) -> None:
    token_id = _name("once")
    _create(root, id=token_id, policies=["default"], num_uses=1)
    with _as(server, token_id) as client:
        assert client.put("/v1/cubbyhole/secret", json={"value": "hush"}).status_code == 204
    _create(root, id=token_id, policies=["default"])
    with _as(server, token_id) as client:
        assert client.get("/v1/cubbyhole/secret").status_code == 404


def test_batch_tokens_cannot_be_renewed_or_make_children(server: RunningServer, root: httpx.Client) -> None:
    batch = _create(root, policies=["default"], type="batch", ttl="10m")
    with _as(server, batch["client_token"]) as client:
        assert client.get("/v1/auth/token/lookup-self").json()["data"]["type"] == "batch"
        assert client.post("/v1/auth/token/renew-self").status_code == 400
