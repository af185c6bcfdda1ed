"""AppRole over real HTTP: enabling it, the login flow, and the issued token's policies, TTL and bindings."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.servers import RunningServer

READER = 'path "secret/data/approle-http/*" { capabilities = ["read"] }'


@pytest.fixture
def mount(root: httpx.Client) -> Iterator[str]:
    """A fresh AppRole mount ("auth/<path>"), disabled afterwards."""
    path = f"approle-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/auth/{path}", json={"type": "approle"}).status_code == 204
    yield f"auth/{path}"
    root.delete(f"/v1/sys/auth/{path}")


def _data(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _credentials(root: httpx.Client, mount: str, role: str, **secret: Any) -> dict[str, str]:
    role_id = _data(root.get(f"/v1/{mount}/role/{role}/role-id"))["role_id"]
    secret_id = _data(root.post(f"/v1/{mount}/role/{role}/secret-id", json=secret))["secret_id"]
    return {"role_id": role_id, "secret_id": secret_id}


def _login(server: RunningServer, mount: str, body: dict[str, str]) -> httpx.Response:
    # No token at all: login is the method's unauthenticated path.
    return httpx.post(f"{server.address}/v1/{mount}/login", json=body, timeout=10)


def test_the_method_is_listed_once_enabled(root: httpx.Client, mount: str) -> None:
    listed = root.get("/v1/sys/auth").json()["data"]
    assert listed[mount.removeprefix("auth/") + "/"]["type"] == "approle"


def test_login_issues_a_token_with_the_roles_policies_and_ttl(
    server: RunningServer, root: httpx.Client, mount: str
) -> None:
    assert root.put("/v1/sys/policies/acl/approle-reader", json={"policy": READER}).status_code == 204
    assert root.post("/v1/secret/data/approle-http/db", json={"data": {"password": "pw"}}).status_code == 200
    assert (
        root.post(
            f"/v1/{mount}/role/web", json={"token_policies": "approle-reader", "token_ttl": "10m"}
        ).status_code
        == 204
    )
    body = _credentials(root, mount, "web", metadata='{"env":"prod"}')

    response = _login(server, mount, body)
    assert response.status_code == 200, response.text
    auth = response.json()["auth"]
    assert auth["policies"] == ["approle-reader", "default"]
    assert auth["metadata"] == {"env": "prod", "role_name": "web"}
    assert (auth["lease_duration"], auth["renewable"], auth["token_type"]) == (600, True, "service")
    assert auth["client_token"].startswith("s.")

    with server.client(auth["client_token"]) as app:
        own = _data(app.get("/v1/auth/token/lookup-self"))
        assert own["policies"] == ["approle-reader", "default"]
        assert own["path"] == f"{mount}/login"
        assert own["display_name"] == mount.removeprefix("auth/")
        assert own["meta"] == {"env": "prod", "role_name": "web"}
        assert 595 <= own["ttl"] <= 600
        assert _data(app.get("/v1/secret/data/approle-http/db"))["data"] == {"password": "pw"}
        assert app.get("/v1/secret/data/elsewhere").status_code == 403
        assert app.get(f"/v1/{mount}/role/web").status_code == 403


def test_a_secret_ids_uses_are_counted(server: RunningServer, root: httpx.Client, mount: str) -> None:
    root.post(f"/v1/{mount}/role/web", json={})
    body = _credentials(root, mount, "web", num_uses=2)
    assert _login(server, mount, body).status_code == 200
    assert _login(server, mount, body).status_code == 200
    third = _login(server, mount, body)
    assert (third.status_code, third.json()) == (400, {"errors": ["invalid role or secret ID"]})


def test_a_secret_ids_ttl_is_enforced(server: RunningServer, root: httpx.Client, mount: str) -> None:
    root.post(f"/v1/{mount}/role/web", json={})
    body = _credentials(root, mount, "web", ttl="1s")
    assert _login(server, mount, body).status_code == 200
    time.sleep(1.1)
    late = _login(server, mount, body)
    assert (late.status_code, late.json()) == (400, {"errors": ["invalid role or secret ID"]})


def test_role_cidrs_admit_only_their_blocks(server: RunningServer, root: httpx.Client, mount: str) -> None:
    root.post(f"/v1/{mount}/role/far", json={"secret_id_bound_cidrs": "10.0.0.0/8"})
    root.post(f"/v1/{mount}/role/near", json={"secret_id_bound_cidrs": "127.0.0.0/8"})
    refused = _login(server, mount, _credentials(root, mount, "far"))
    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        ['source address "127.0.0.1" unauthorized by CIDR restrictions on the role: %!w(<nil>)'],
    )
    assert _login(server, mount, _credentials(root, mount, "near")).status_code == 200


def test_secret_id_cidrs_admit_only_their_blocks(
    server: RunningServer, root: httpx.Client, mount: str
) -> None:
    root.post(f"/v1/{mount}/role/web", json={})
    refused = _login(server, mount, _credentials(root, mount, "web", cidr_list="10.0.0.0/8"))
    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        ['source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID'],
    )
    assert _login(server, mount, _credentials(root, mount, "web", cidr_list="127.0.0.0/8")).status_code == 200


def test_token_bound_cidrs_bind_the_issued_token(
    server: RunningServer, root: httpx.Client, mount: str
) -> None:
    root.post(f"/v1/{mount}/role/web", json={})
    for blocks, status in (("10.0.0.0/8", 403), ("127.0.0.0/8", 200)):
        login = _login(server, mount, _credentials(root, mount, "web", token_bound_cidrs=blocks))
        assert login.status_code == 200, login.text
        with server.client(login.json()["auth"]["client_token"]) as app:
            assert app.get("/v1/auth/token/lookup-self").status_code == status


def test_http_shapes_of_refusals_and_empty_answers(
    server: RunningServer, root: httpx.Client, mount: str
) -> None:
    assert root.request("LIST", f"/v1/{mount}/role").status_code == 404
    assert root.get(f"/v1/{mount}/role/nope").status_code == 404
    missing = root.post(f"/v1/{mount}/role/nope/secret-id", json={})
    assert (missing.status_code, missing.json()) == (404, {"errors": ['role "nope" does not exist']})
    assert httpx.get(f"{server.address}/v1/{mount}/login", timeout=10).status_code == 405
    anonymous = httpx.get(f"{server.address}/v1/{mount}/role/web", timeout=10)
    assert anonymous.status_code == 403
    root.post(f"/v1/{mount}/role/web", json={})
    unknown = root.post(f"/v1/{mount}/role/web/secret-id-accessor/lookup", json={"secret_id_accessor": "x"})
    assert unknown.status_code == 404
    assert unknown.json()["data"] == {"error": 'failed to find accessor entry for secret_id_accessor: "x"'}
    tidy = root.post(f"/v1/{mount}/tidy/secret-id", json={})
    assert tidy.status_code == 202
    assert tidy.json()["data"] is None
