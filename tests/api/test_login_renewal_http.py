"""Renewing a login's token re-checks the login with its auth method (Vault's AuthRenew), over real HTTP.

Every test runs against strongroom and against a real OpenBao with the same assertions, so the behaviour is
OpenBao's: AppRole and jwt renew while the role exists (policy changes do not matter), userpass refuses
once the user's policies changed and answers nothing (204, token untouched) once the user is gone; all
renew with the role's or user's current token_ttl, token_max_ttl and token_period. The one difference:
OpenBao answers a refused renewal with 500, strongroom with 400 and the same words.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.jwks import claims, rsa_key
from tests.servers import RunningServer

KEY = rsa_key("renewal-rsa")
ISSUER = "https://issuer.example"


@pytest.fixture(params=["server", "bao"])
def target(request: pytest.FixtureRequest) -> RunningServer:
    running: RunningServer = request.getfixturevalue(request.param)
    return running


@pytest.fixture
def root(target: RunningServer) -> Iterator[httpx.Client]:
    with target.client() as client:
        yield client


def refused_status(target: RunningServer, server: RunningServer) -> int:
    # OpenBao returns the auth method's refusal as an internal error; strongroom never answers 500.
    return 400 if target is server else 500


def refusal(reason: str) -> list[str]:
    return [f"1 error occurred:\n\t* failed to renew entry: {reason}\n\n"]


@pytest.fixture
def mount(root: httpx.Client, request: pytest.FixtureRequest) -> Iterator[str]:
    kind: str = request.param
    path = f"renew-{kind}-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/auth/{path}", json={"type": kind}).status_code == 204
    yield f"auth/{path}"
    root.delete(f"/v1/sys/auth/{path}")


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def renew(root: httpx.Client, token: str) -> httpx.Response:
    return root.post("/v1/auth/token/renew", json={"token": token})


def lookup(root: httpx.Client, token: str) -> dict[str, Any]:
    data: dict[str, Any] = ok(root.post("/v1/auth/token/lookup", json={"token": token}))["data"]
    return data


def write(root: httpx.Client, path: str, body: dict[str, Any]) -> None:
    answer = root.post(f"/v1/{path}", json=body)
    assert answer.status_code in (200, 204), answer.text


# One login per method: (create the role or user, log in and return the token).


def approle_login(target: RunningServer, root: httpx.Client, mount: str, settings: dict[str, Any]) -> str:
    write(root, f"{mount}/role/app", settings)
    role_id = ok(root.get(f"/v1/{mount}/role/app/role-id"))["data"]["role_id"]
    secret_id = ok(root.post(f"/v1/{mount}/role/app/secret-id"))["data"]["secret_id"]
    body = {"role_id": role_id, "secret_id": secret_id}
    login = ok(httpx.post(f"{target.address}/v1/{mount}/login", json=body, timeout=10))
    token: str = login["auth"]["client_token"]
    return token


def userpass_login(target: RunningServer, root: httpx.Client, mount: str, settings: dict[str, Any]) -> str:
    write(root, f"{mount}/users/bob", {"password": "pw", **settings})
    login = ok(httpx.post(f"{target.address}/v1/{mount}/login/bob", json={"password": "pw"}, timeout=10))
    token: str = login["auth"]["client_token"]
    return token


def jwt_login(target: RunningServer, root: httpx.Client, mount: str, settings: dict[str, Any]) -> str:
    write(root, f"{mount}/config", {"jwt_validation_pubkeys": [KEY.public_pem()], "bound_issuer": ISSUER})
    write(root, f"{mount}/role/app", jwt_role(settings))
    body = {"role": "app", "jwt": KEY.sign(claims(issuer=ISSUER, aud="api"))}
    login = ok(httpx.post(f"{target.address}/v1/{mount}/login", json=body, timeout=10))
    token: str = login["auth"]["client_token"]
    return token


def jwt_role(settings: dict[str, Any]) -> dict[str, Any]:
    # Vault's jwt role update needs role_type again, else it checks the role as an oidc one.
    return {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["api"], **settings}


START = {"token_policies": ["p1"], "token_ttl": "1h", "token_max_ttl": "4h"}


@pytest.mark.parametrize("mount", ["approle", "userpass", "jwt"], indirect=True)
def test_a_renewal_takes_the_current_token_ttl_and_period(
    target: RunningServer, root: httpx.Client, mount: str
) -> None:
    kind = mount.split("-")[1]
    login = {"approle": approle_login, "userpass": userpass_login, "jwt": jwt_login}[kind]
    settings_path = {"approle": "role/app", "userpass": "users/bob", "jwt": "role/app"}[kind]
    wrap = jwt_role if kind == "jwt" else dict
    token = login(target, root, mount, START)

    first = ok(renew(root, token))["auth"]
    assert (first["lease_duration"], first["policies"], first["renewable"]) == (3600, ["default", "p1"], True)

    write(root, f"{mount}/{settings_path}", wrap({"token_ttl": "10m"}))
    assert ok(renew(root, token))["auth"]["lease_duration"] == 600
    assert lookup(root, token)["ttl"] in (599, 600)

    write(root, f"{mount}/{settings_path}", wrap({"token_period": "5m"}))
    assert ok(renew(root, token))["auth"]["lease_duration"] == 300
    # An increment asked for does not outrun the period.
    answer = root.post("/v1/auth/token/renew", json={"token": token, "increment": "2h"})
    assert ok(answer)["auth"]["lease_duration"] == 300


@pytest.mark.parametrize("mount", ["approle", "jwt"], indirect=True)
def test_role_methods_renew_after_a_policy_change_but_not_after_the_role_is_deleted(
    target: RunningServer, server: RunningServer, root: httpx.Client, mount: str
) -> None:
    kind = mount.split("-")[1]
    login = approle_login if kind == "approle" else jwt_login
    wrap = jwt_role if kind == "jwt" else dict
    token = login(target, root, mount, START)

    write(root, f"{mount}/role/app", wrap({"token_policies": ["p2"]}))
    assert ok(renew(root, token))["auth"]["policies"] == ["default", "p1"]

    assert root.delete(f"/v1/{mount}/role/app").status_code == 204
    before = lookup(root, token)
    accessor = before["accessor"]
    reason = (
        'role "app" does not exist during renewal'
        if kind == "approle"
        else "role app does not exist during renewal"
    )
    for answer in (
        renew(root, token),
        root.post("/v1/auth/token/renew-accessor", json={"accessor": accessor}),
        httpx.post(
            f"{target.address}/v1/auth/token/renew-self", headers={"X-Vault-Token": token}, timeout=10
        ),
    ):
        assert answer.status_code == refused_status(target, server)
        assert answer.json()["errors"] == refusal(reason)
    assert lookup(root, token)["expire_time"] == before["expire_time"]


@pytest.mark.parametrize("mount", ["userpass"], indirect=True)
def test_userpass_refuses_changed_policies_and_leaves_a_deleted_users_token_alone(
    target: RunningServer, server: RunningServer, root: httpx.Client, mount: str
) -> None:
    token = userpass_login(target, root, mount, START)
    accessor = lookup(root, token)["accessor"]

    # "default" and the order do not count; the names, and their case, do.
    write(root, f"{mount}/users/bob", {"token_policies": ["default", "p1", "p1"]})
    assert ok(renew(root, token))["auth"]["policies"] == ["default", "p1"]
    for changed in (["p1", "p2"], ["P1"]):
        write(root, f"{mount}/users/bob", {"token_policies": changed})
        for answer in (
            renew(root, token),
            root.post("/v1/auth/token/renew-accessor", json={"accessor": accessor}),
        ):
            assert answer.status_code == refused_status(target, server)
            assert answer.json()["errors"] == refusal("policies have changed, not renewing")

    write(root, f"{mount}/users/bob", {"token_policies": ["p1"], "token_ttl": "20m"})
    assert ok(renew(root, token))["auth"]["lease_duration"] == 1200

    assert root.delete(f"/v1/{mount}/users/bob").status_code == 204
    before = lookup(root, token)["expire_time"]
    # (A second renewal of that token makes OpenBao answer 500 "failed to lookup the token"; not copied.)
    answer = renew(root, token)
    assert (answer.status_code, answer.content) == (204, b"")
    assert lookup(root, token)["expire_time"] == before


def test_token_store_tokens_still_renew_on_their_own_terms(root: httpx.Client) -> None:
    created = ok(root.post("/v1/auth/token/create", json={"ttl": "1h", "policies": ["p1"]}))["auth"]
    try:
        assert ok(renew(root, created["client_token"]))["auth"]["lease_duration"] == 3600
    finally:
        root.post("/v1/auth/token/revoke-accessor", json={"accessor": created["accessor"]})
