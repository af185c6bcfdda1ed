"""OIDC browser login against OpenBao: the same requests to strongroom and to `bao server -dev`, each using
its own OIDC provider (identity/oidc/provider) as the identity provider, compared answer by answer.

Config validation, role rules, auth_url's answers and refusals, and the callback's refusals are compared
with the differential script; a whole login (auth_url, the user's authorize at the provider, callback) is
played against each server and the answers compared: the auth block's shape, metadata and policies, and the
refusal of a replayed state and of a wrong client_nonce.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import hvac
import pytest

from tests.api.test_oidc_login_http import CALLBACK, play_browser, setup_oidc_mount, setup_provider
from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

INTENDED = (
    Intended(
        "config with an unreachable discovery URL",
        "errors[0]",
        "strongroom names the error as Python reports it",
    ),
    Intended(
        "read role", "data.token_strictly_bind_ip", "strongroom's token fields have no strictly-bind-ip yet"
    ),
)
SERVER_SPECIFIC = frozenset({"client_id", "client_secret", "oidc_client_id", "state"})


def _masked(value: Any, address: str, key: str = "") -> Any:
    """`value` with the server's own address and its client's credentials (different by nature) masked."""
    if isinstance(value, dict):
        return {k: _masked(v, address, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, address) for v in value]
    if isinstance(value, str):
        if key in SERVER_SPECIFIC and value:
            return f"<{key}>"
        return value.replace(address, "<address>")
    return value


def _steps(mount: str, name: str) -> list[Step]:
    base = f"/v1/auth/{mount}"
    oidc = "/v1/identity/oidc"
    person = {"user_claim": "sub", "allowed_redirect_uris": [CALLBACK], "token_policies": "default"}

    def auth_url(step: str, **body: str) -> Step:
        return Step(step, "POST", f"{base}/oidc/auth_url", body, token="")

    def poll(step: str, client_nonce: str) -> Step:
        body = {"state": "${state}", "client_nonce": client_nonce}
        return Step(step, "POST", f"{base}/oidc/poll", body, token="")

    return [
        Step("enable oidc", "POST", f"/v1/sys/auth/{mount}", {"type": "oidc"}),
        auth_url("auth_url before config", role="person", redirect_uri=CALLBACK),
        Step("key", "POST", f"{oidc}/key/{name}", {"allowed_client_ids": "*"}),
        Step("client", "POST", f"{oidc}/client/{name}", {"redirect_uris": [CALLBACK], "key": name}),
        Step(
            "read client",
            "GET",
            f"{oidc}/client/{name}",
            save={"client_id": "data.client_id", "client_secret": "data.client_secret"},
        ),
        Step("provider", "POST", f"{oidc}/provider/{name}", {"allowed_client_ids": ["${client_id}"]}),
        Step(
            "discovery",
            "GET",
            f"{oidc}/provider/{name}/.well-known/openid-configuration",
            token="",
            save={"issuer": "issuer"},
        ),
        Step("config with only a client id", "POST", f"{base}/config", {"oidc_client_id": "x"}),
        Step(
            "config with only a client secret",
            "POST",
            f"{base}/config",
            {"oidc_discovery_url": "${issuer}", "oidc_client_secret": "x"},
        ),
        Step(
            "config with a client but a jwks_url",
            "POST",
            f"{base}/config",
            {"jwks_url": "http://127.0.0.1:1/k", "oidc_client_id": "x", "oidc_client_secret": "y"},
        ),
        Step(
            "config with an unreachable discovery URL",
            "POST",
            f"{base}/config",
            {"oidc_discovery_url": "http://127.0.0.1:1", "oidc_client_id": "x", "oidc_client_secret": "y"},
        ),
        Step(
            "config with an unknown provider_config",
            "POST",
            f"{base}/config",
            {"oidc_discovery_url": "${issuer}", "provider_config": {"provider": "nope"}},
        ),
        Step(
            "config with provider_config without a provider",
            "POST",
            f"{base}/config",
            {"oidc_discovery_url": "${issuer}", "provider_config": {"x": "y"}},
        ),
        Step(
            "config with id_token and query mode",
            "POST",
            f"{base}/config",
            {
                "oidc_discovery_url": "${issuer}",
                "oidc_client_id": "${client_id}",
                "oidc_client_secret": "${client_secret}",
                "oidc_response_types": "id_token",
            },
        ),
        Step(
            "config",
            "POST",
            f"{base}/config",
            {
                "oidc_discovery_url": "${issuer}",
                "oidc_client_id": "${client_id}",
                "oidc_client_secret": "${client_secret}",
            },
        ),
        Step("read config", "GET", f"{base}/config"),
        auth_url("auth_url without a role", redirect_uri=CALLBACK),
        auth_url("auth_url unknown role", role="person", redirect_uri=CALLBACK),
        Step("role without redirect URIs", "POST", f"{base}/role/person", {"user_claim": "sub"}),
        Step("role", "POST", f"{base}/role/person", person),
        Step("read role", "GET", f"{base}/role/person"),
        auth_url("auth_url without redirect_uri", role="person"),
        auth_url("auth_url", role="person", redirect_uri=CALLBACK, client_nonce="n"),
        auth_url(
            "auth_url with another loopback port",
            role="person",
            redirect_uri="http://127.0.0.1:1/oidc/callback",
        ),
        auth_url(
            "auth_url with localhost on another port",
            role="person",
            redirect_uri="http://localhost:1/oidc/callback",
        ),
        auth_url("auth_url with another path", role="person", redirect_uri="http://localhost:8250/elsewhere"),
        auth_url("auth_url with a foreign redirect", role="person", redirect_uri="https://evil.example/cb"),
        Step("direct role", "POST", f"{base}/role/direct", {**person, "callback_mode": "direct"}),
        auth_url("auth_url for a direct role without client_nonce", role="direct", redirect_uri=CALLBACK),
        Step(
            "auth_url for a direct-mode role",
            "POST",
            f"{base}/oidc/auth_url",
            {"role": "direct", "redirect_uri": CALLBACK, "client_nonce": "n"},
            token="",
            save={"state": "data.state"},
        ),
        poll("poll before the callback", "n"),
        poll("poll with another client_nonce", "x"),
        poll("poll after a wrong client_nonce", "n"),
        Step("device role", "POST", f"{base}/role/device", {**person, "callback_mode": "device"}),
        auth_url("auth_url for a device role without client_nonce", role="device", redirect_uri=CALLBACK),
        Step("callback with an unknown state", "GET", f"{base}/oidc/callback?state=nope&code=x", token=""),
        Step("callback without a state", "GET", f"{base}/oidc/callback", token=""),
        Step(
            "callback POST without form_post",
            "POST",
            f"{base}/oidc/callback",
            {"state": "nope", "code": "x"},
            token="",
        ),
        Step("poll with an unknown state", "POST", f"{base}/oidc/poll", {"state": "nope"}, token=""),
        Step("jwt login to an oidc role", "POST", f"{base}/login", {"role": "person", "jwt": "x"}, token=""),
        Step("disable oidc", "DELETE", f"/v1/sys/auth/{mount}"),
        Step("delete provider", "DELETE", f"{oidc}/provider/{name}"),
        Step("delete client", "DELETE", f"{oidc}/client/{name}"),
        Step("delete key", "DELETE", f"{oidc}/key/{name}"),
    ]


def _shape_auth_urls(answers: list[Answer], address: str) -> list[Answer]:
    """auth_url answers with the URL replaced by its parts that do not differ by nature: its path (after
    the server's own address) and its query parameters, state, nonce and challenge by presence only."""
    shaped: list[Answer] = []
    for raw in answers:
        answer = raw
        data = answer.body.get("data") if isinstance(answer.body, dict) else None
        url = data.get("auth_url") if isinstance(data, dict) else None
        if isinstance(url, str) and url:
            parts = urlsplit(url)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            for volatile in ("state", "nonce", "code_challenge", "client_id"):
                if volatile in query:
                    query[volatile] = f"<{volatile}>"
            where = f"{parts.scheme}://{parts.netloc}"
            data = {**data, "auth_url": {"origin": where == address, "path": parts.path, "query": query}}
            answer = replace(answer, body={**answer.body, "data": data})
        shaped.append(replace(answer, body=_masked(answer.body, address)))
    return shaped


def test_oidc_login_answers_as_openbao_does(server: RunningServer, bao: RunningServer) -> None:
    name = f"d{uuid.uuid4().hex[:8]}"
    steps = _steps(f"oidc-{name}", name)
    ours = _shape_auth_urls(run(server, steps), server.address)
    theirs = _shape_auth_urls(run(bao, steps), bao.address)
    assert_alike(steps, ours, theirs, INTENDED)


def _login(server: RunningServer, name: str) -> dict[str, Any]:
    """A whole browser login against `server` with its own provider; the answers that matter."""
    mount = f"oidc-{name}"
    with server.client() as root:
        provider = setup_provider(root, server.address, name, [CALLBACK])
        setup_oidc_mount(root, mount, provider, name)
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:

        def start(nonce: str) -> str:
            body = {"role": "person", "redirect_uri": CALLBACK, "client_nonce": nonce}
            return str(
                anonymous.post(f"/v1/auth/{mount}/oidc/auth_url", json=body).json()["data"]["auth_url"]
            )

        def callback(granted: dict[str, str], nonce: str) -> httpx.Response:
            params = {"state": granted["state"], "code": granted["code"], "client_nonce": nonce}
            return anonymous.get(f"/v1/auth/{mount}/oidc/callback", params=params)

        granted = play_browser(server.address, start("n1"), provider.user_token)
        done = callback(granted, "n1")
        replayed = callback(granted, "n1")
        wrong_nonce = callback(play_browser(server.address, start("n2"), provider.user_token), "other")
    auth = done.json()["auth"]
    with server.client() as root:
        entity = root.get(f"/v1/identity/entity/id/{auth['entity_id']}").json()["data"]
    aliases = [(a["name"] == provider.user_entity, a["metadata"], a["mount_path"]) for a in entity["aliases"]]
    return {
        "alias": aliases,
        "status": done.status_code,
        "auth keys": sorted(auth),
        "metadata": auth["metadata"],
        "policies": (auth["token_policies"], auth["identity_policies"], auth["policies"]),
        "entity": bool(auth["entity_id"]) and auth["entity_id"] != provider.user_entity,
        "replayed": (replayed.status_code, replayed.json()),
        "wrong nonce": (wrong_nonce.status_code, wrong_nonce.json()),
    }


def test_a_whole_login_as_openbao_does(server: RunningServer, bao: RunningServer) -> None:
    name = f"w{uuid.uuid4().hex[:8]}"
    ours, theirs = _login(server, name), _login(bao, name)
    assert ours == theirs
    assert ours["status"] == 200
    assert ours["policies"] == (["default"], [f"oidc-{name}-eng"], ["default", f"oidc-{name}-eng"])


def test_hvac_oidc_login(server: RunningServer) -> None:
    name = f"h{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        provider = setup_provider(root, server.address, name, [CALLBACK])
        setup_oidc_mount(root, f"oidc-{name}", provider, name)
    vault = hvac.Client(url=server.address)
    started = vault.auth.oidc.oidc_authorization_url_request("person", CALLBACK, path=f"oidc-{name}")
    granted = play_browser(server.address, started["data"]["auth_url"], provider.user_token)
    done = vault.auth.oidc.oidc_callback(granted["state"], "", granted["code"], path=f"oidc-{name}")
    assert done["auth"]["identity_policies"] == [f"oidc-{name}-eng"]
    assert hvac.Client(url=server.address, token=done["auth"]["client_token"]).is_authenticated()


def _direct_login(server: RunningServer, name: str, *, confirm: bool) -> dict[str, Any]:
    """A callback_mode=direct login against `server`: the browser comes back to the server itself, the
    user confirms (unless the role turns that off), and the client polls for its token."""
    mount = f"oidc-{name}"
    server_callback = f"{server.address}/v1/auth/{mount}/oidc/callback"
    with server.client() as root:
        provider = setup_provider(root, server.address, name, [server_callback])
        role = {"callback_mode": "direct", "allowed_redirect_uris": [server_callback], "poll_interval": 2}
        setup_oidc_mount(root, mount, provider, name, **role, oidc_disable_confirmation=not confirm)
    found: dict[str, Any] = {}
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        start = {"role": "person", "redirect_uri": server_callback, "client_nonce": "cn"}
        data = anonymous.post(f"/v1/auth/{mount}/oidc/auth_url", json=start).json()["data"]
        found["poll_interval"] = data["poll_interval"]
        granted = play_browser(server.address, data["auth_url"], provider.user_token)
        callback = {"state": granted["state"], "code": granted["code"]}
        if confirm:
            asked = anonymous.get(server_callback, params=callback)
            found["asked"] = (asked.status_code, "Sign in confirmation required" in asked.text)
            callback["confirmation"] = "1"
        visited = anonymous.get(server_callback, params=callback)
        found["visited"] = (visited.status_code, visited.headers["content-type"].split(";")[0])
        found["visited again"] = anonymous.get(server_callback, params=callback).json()
        poll = {"state": data["state"], "client_nonce": "cn"}
        polled = anonymous.post(f"/v1/auth/{mount}/oidc/poll", json=poll)
        auth = polled.json()["auth"]
        found["polled"] = (polled.status_code, auth["metadata"], auth["identity_policies"])
        found["polled again"] = anonymous.post(f"/v1/auth/{mount}/oidc/poll", json=poll).json()
        with server.client(auth["client_token"]) as user:
            found["token works"] = user.get("/v1/auth/token/lookup-self").status_code
    return found


@pytest.mark.parametrize("confirm", [True, False])
def test_a_direct_mode_login_as_openbao_does(
    server: RunningServer, bao: RunningServer, confirm: bool
) -> None:
    name = f"m{uuid.uuid4().hex[:8]}"
    ours, theirs = _direct_login(server, name, confirm=confirm), _direct_login(bao, name, confirm=confirm)
    assert ours == theirs
    assert ours["polled"] == (200, {"role": "person", "nickname": "olly"}, [f"oidc-{name}-eng"])
    assert ours["poll_interval"] == "2"
    assert ours["token works"] == 200
