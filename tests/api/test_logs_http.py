"""Secrets never reach the server's log, whichever way a request carries them and however it ends."""

from __future__ import annotations

import uuid

import httpx

from tests.servers import RunningServer


def test_secrets_never_appear_in_the_server_log(server: RunningServer, root: httpx.Client) -> None:
    secret = f"hunter2-{uuid.uuid4().hex}"
    token_id = f"tok-{uuid.uuid4().hex}"
    name = f"logs-{uuid.uuid4().hex[:8]}"

    # Served normally: a KV write, a cubbyhole write, a token with a chosen id, a policy.
    assert root.post(f"/v1/secret/data/{name}", json={"data": {"password": secret}}).status_code == 200
    assert root.get(f"/v1/secret/data/{name}").json()["data"]["data"]["password"] == secret
    assert root.post("/v1/cubbyhole/note", json={"value": secret}).status_code == 204
    created = root.post("/v1/auth/token/create", json={"id": token_id, "policies": ["default"]})
    assert created.status_code == 200
    with server.client(token_id) as client:
        assert client.post("/v1/cubbyhole/mine", json={"v": secret}).status_code == 204
        assert client.get("/v1/sys/mounts").status_code == 403

    # Refused in every way a request can be: bad JSON, wrong types, failed check-and-set, bad token,
    # bad method, too large.
    assert (
        root.post(f"/v1/secret/data/{name}", content=b'{"data": {"p": "' + secret.encode()).status_code == 400
    )
    assert root.post(f"/v1/secret/data/{name}", json={"data": secret}).status_code == 400
    wrong_cas = {"data": {"p": secret}, "options": {"cas": 99}}
    assert root.post(f"/v1/secret/data/{name}", json=wrong_cas).status_code == 400
    with server.client(secret) as stranger:
        assert stranger.get(f"/v1/secret/data/{name}").status_code == 403
    assert root.get(f"/v1/secret/data/{name}", params={"version": secret}).status_code == 400
    assert root.request("BREW", f"/v1/secret/data/{name}", content=secret.encode()).status_code == 405
    oversized = b'{"data": {"p": "' + secret.encode() + b'"}}' + b" " * (32 * 1024 * 1024)
    assert root.post(f"/v1/secret/data/{name}", content=oversized).status_code == 413
    assert root.post("/v1/auth/token/revoke", json={"token": token_id}).status_code == 204

    log = server.log.read_text(errors="replace")
    assert "Root Token: root" in log  # the dev banner: this is the server's log
    assert secret not in log
    assert token_id not in log
    assert str(created.json()["auth"]["accessor"]) not in log
