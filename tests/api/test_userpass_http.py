"""userpass over real HTTP against the dev server: enable, users, login, the token's policies and TTL,
errors, and user lockout configured through sys/auth/<path>/tune."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.servers import RunningServer


def enable(client: httpx.Client, **tune: object) -> str:
    path = f"up-{uuid.uuid4().hex[:8]}"
    assert client.post(f"/v1/sys/auth/{path}", json={"type": "userpass"}).status_code == 204
    if tune:
        assert client.post(f"/v1/sys/auth/{path}/tune", json=tune).status_code == 204
    return path


def login(server: RunningServer, path: str, name: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{server.address}/v1/auth/{path}/login/{name}", json={"password": password}, timeout=10
    )


def test_login_token_has_policies_and_ttl(server: RunningServer) -> None:
    with server.client() as client:
        path = enable(client)
        policy = 'path "secret/data/up/*" { capabilities = ["read", "create", "update"] }'
        assert client.put("/v1/sys/policies/acl/up-reader", json={"policy": policy}).status_code == 204
        body = {"password": "correct horse", "token_policies": "up-reader", "token_ttl": "30m"}
        assert client.post(f"/v1/auth/{path}/users/Alice", json=body).status_code == 204
        read = client.get(f"/v1/auth/{path}/users/alice").json()["data"]
        assert "password" not in read
        assert (read["token_policies"], read["token_ttl"]) == (["up-reader"], 1800)

    answer = login(server, path, "ALICE", "correct horse")
    assert answer.status_code == 200
    auth = answer.json()["auth"]
    assert auth["policies"] == ["default", "up-reader"]
    assert auth["metadata"] == {"username": "alice"}
    assert (auth["lease_duration"], auth["renewable"], auth["token_type"]) == (1800, True, "service")

    with server.client(auth["client_token"]) as user:
        me = user.get("/v1/auth/token/lookup-self").json()["data"]
        assert me["display_name"] == f"{path}-alice"
        assert me["path"] == f"auth/{path}/login/ALICE"
        assert 1790 <= me["ttl"] <= 1800
        assert user.post("/v1/secret/data/up/x", json={"data": {"k": "v"}}).status_code == 200
        assert user.get("/v1/secret/data/other").status_code == 403
        assert user.get(f"/v1/auth/{path}/users/alice").status_code == 403


def test_wrong_password_and_unknown_user_are_400_alike(server: RunningServer) -> None:
    with server.client() as client:
        path = enable(client)
        assert client.post(f"/v1/auth/{path}/users/bob", json={"password": "pw"}).status_code == 204
        wrong = login(server, path, "bob", "nope")
        unknown = login(server, path, "nobody", "nope")
        assert (wrong.status_code, wrong.json()) == (400, {"errors": ["invalid username or password"]})
        assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())
        missing = httpx.post(f"{server.address}/v1/auth/{path}/login/bob", json={}, timeout=10)
        assert (missing.status_code, missing.json()) == (400, {"errors": ["missing password"]})
        users = client.request("LIST", f"/v1/auth/{path}/users")
        assert users.json()["data"]["keys"] == ["bob"]
        assert client.delete(f"/v1/auth/{path}/users/bob").status_code == 204
        assert client.get(f"/v1/auth/{path}/users/bob").status_code == 404
        assert client.request("LIST", f"/v1/auth/{path}/users").status_code == 404


def test_lockout_after_failures_then_unlocked_after_duration(server: RunningServer) -> None:
    lockout = {"lockout_threshold": "2", "lockout_duration": "2s", "lockout_counter_reset_duration": "30s"}
    with server.client() as client:
        path = enable(client, user_lockout_config=lockout)
        tune = client.get(f"/v1/sys/auth/{path}/tune").json()["data"]
        assert (tune["user_lockout_threshold"], tune["user_lockout_duration"]) == (2, 2)
        assert (tune["user_lockout_counter_reset_duration"], tune["user_lockout_disable"]) == (30, False)
        assert client.post(f"/v1/auth/{path}/users/carol", json={"password": "pw"}).status_code == 204
        accessor = client.get(f"/v1/sys/auth/{path}").json()["data"]["accessor"]

        assert [login(server, path, "carol", "bad").status_code for _ in range(2)] == [400, 400]
        locked = login(server, path, "carol", "pw")
        assert (locked.status_code, locked.json()) == (403, {"errors": ["permission denied"]})
        listing = client.get("/v1/sys/locked-users", params={"mount_accessor": accessor}).json()["data"]
        assert listing["total"] == 1
        assert listing["by_namespace"][0]["mount_accessors"] == [
            {"mount_accessor": accessor, "counts": 1, "alias_identifiers": ["carol"]}
        ]
        time.sleep(2.1)
        assert login(server, path, "carol", "pw").status_code == 200

        assert [login(server, path, "carol", "bad").status_code for _ in range(3)] == [400, 400, 403]
        assert client.post(f"/v1/sys/locked-users/{accessor}/unlock/carol").status_code == 204
        assert login(server, path, "carol", "pw").status_code == 200


def test_lockout_tune_errors(server: RunningServer) -> None:
    with server.client() as client:
        path = enable(client)
        bad = client.post(
            f"/v1/sys/auth/{path}/tune", json={"user_lockout_config": {"lockout_threshold": "x"}}
        )
        assert bad.status_code == 400
        assert bad.json() == {
            "errors": [
                'unable to parse user lockout threshold: strconv.ParseUint: parsing "x": invalid syntax'
            ]
        }
        token = client.post(
            "/v1/sys/auth/token/tune", json={"user_lockout_config": {"lockout_threshold": "3"}}
        )
        assert token.json() == {
            "errors": ['tuning of user lockout configuration for auth type "token" not allowed']
        }
        disabled = {"user_lockout_config": {"lockout_threshold": "1", "lockout_disable": True}}
        assert client.post(f"/v1/sys/auth/{path}/tune", json=disabled).status_code == 204
        assert client.post(f"/v1/auth/{path}/users/dan", json={"password": "pw"}).status_code == 204
    assert [login(server, path, "dan", "bad").status_code for _ in range(3)] == [400, 400, 400]
    assert login(server, path, "dan", "pw").status_code == 200


def test_disabling_the_mount_revokes_the_tokens_it_issued(server: RunningServer) -> None:
    with server.client() as client:
        path = enable(client)
        client.post(f"/v1/auth/{path}/users/bob", json={"password": "pw-bob-1"}).raise_for_status()
        token = login(server, path, "bob", "pw-bob-1").json()["auth"]["client_token"]
        lookup = httpx.get(f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
        assert lookup.status_code == 200
        assert client.delete(f"/v1/sys/auth/{path}").status_code == 204
        gone = httpx.get(f"{server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
        assert gone.status_code == 403


def test_the_mount_token_type_decides_what_logins_get(server: RunningServer) -> None:
    with server.client() as client:
        path = f"up-tt-{uuid.uuid4().hex[:8]}"
        bad = client.post(f"/v1/sys/auth/{path}", json={"type": "userpass", "config": {"token_type": "x"}})
        assert (bad.status_code, bad.json()) == (400, {"errors": ["invalid value for 'token_type'"]})
        enabled = client.post(
            f"/v1/sys/auth/{path}", json={"type": "userpass", "config": {"token_type": "default-batch"}}
        )
        assert enabled.status_code == 204
        assert client.get(f"/v1/sys/auth/{path}/tune").json()["data"]["token_type"] == "default-batch"
        client.post(f"/v1/auth/{path}/users/b", json={"password": "pw-b"}).raise_for_status()
        client.post(
            f"/v1/auth/{path}/users/s", json={"password": "pw-s", "token_type": "service"}
        ).raise_for_status()
        batch = login(server, path, "b", "pw-b").json()["auth"]
        assert (batch["token_type"], batch["client_token"][:2], batch["accessor"]) == ("batch", "b.", "")
        assert login(server, path, "s", "pw-s").json()["auth"]["token_type"] == "service"
        assert client.post(f"/v1/sys/auth/{path}/tune", json={"token_type": "service"}).status_code == 204
        assert login(server, path, "b", "pw-b").json()["auth"]["token_type"] == "service"
        client.delete(f"/v1/sys/auth/{path}")
