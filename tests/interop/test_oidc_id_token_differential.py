"""The ID token checks of the OIDC browser login, against OpenBao: the implicit flow (response type
id_token, form_post) with a test identity provider whose ID tokens the test signs, so each check can be
broken on purpose. The same logins go to strongroom and `bao server -dev`; statuses and error texts are
compared (verification failures by their summary: the library's detail differs by nature).
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.jwks import JWKSServer, SigningKey, ec_key, jwks_server, rsa_key
from tests.servers import RunningServer

RSA = rsa_key("idt-rsa")
EC = ec_key("idt-ec")
STRANGER = rsa_key("idt-rsa")  # the same kid, another key
UI = "http://localhost:8250/ui/vault/auth/{mount}/oidc/callback"
"""The UI's callback page (form_post answers name the mount from it; auth_url turns ui/vault into v1)."""
CLIENT_ID = "the-client"
VERIFICATION = "Token verification failed."


@pytest.fixture(scope="module")
def idp() -> Iterator[JWKSServer]:
    with jwks_server(RSA, EC) as served:
        yield served


def _mount(server: RunningServer, idp: JWKSServer) -> str:
    mount = f"oidc-{uuid.uuid4().hex[:8]}"
    with server.client() as root:
        root.post(f"/v1/sys/auth/{mount}", json={"type": "oidc"}).raise_for_status()
        root.post(
            f"/v1/auth/{mount}/config",
            json={
                "oidc_discovery_url": idp.url,
                "oidc_client_id": CLIENT_ID,
                "oidc_client_secret": "s",
                "oidc_response_mode": "form_post",
                "oidc_response_types": "id_token",
                "default_role": "person",
            },
        ).raise_for_status()
        root.post(
            f"/v1/auth/{mount}/role/person",
            json={
                "user_claim": "email",
                "bound_claims": {"team": "blue"},
                "claim_mappings": {"team": "team"},
                "allowed_redirect_uris": [
                    UI.format(mount=mount),
                    UI.format(mount=mount).replace("ui/vault", "v1"),
                ],
            },
        ).raise_for_status()
    return mount


Forge = Callable[[dict[str, Any]], dict[str, Any]]


def _cases(issuer: str) -> list[tuple[str, SigningKey, Forge]]:
    return [
        ("good", RSA, lambda c: c),
        ("wrong nonce", RSA, lambda c: {**c, "nonce": "other"}),
        ("no nonce", RSA, lambda c: {k: v for k, v in c.items() if k != "nonce"}),
        ("wrong audience", RSA, lambda c: {**c, "aud": "someone-else"}),
        ("expired", RSA, lambda c: {**c, "exp": int(time.time()) - 600, "iat": int(time.time()) - 1200}),
        ("wrong issuer", RSA, lambda c: {**c, "iss": "https://evil.example"}),
        ("unknown key", STRANGER, lambda c: c),
        ("ES256 without jwt_supported_algs", EC, lambda c: c),
        ("no user claim", RSA, lambda c: {k: v for k, v in c.items() if k != "email"}),
        ("bound claim not met", RSA, lambda c: {**c, "team": "red"}),
    ]


def _answers(server: RunningServer, idp: JWKSServer) -> dict[str, tuple[int, Any]]:
    mount = _mount(server, idp)
    found: dict[str, tuple[int, Any]] = {}
    with httpx.Client(base_url=server.address, timeout=10) as browser:
        for name, key, forge in _cases(idp.url):
            body = {"redirect_uri": UI.format(mount=mount), "client_nonce": "cn"}
            auth_url = browser.post(f"/v1/auth/{mount}/oidc/auth_url", json=body).json()["data"]["auth_url"]
            query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
            now = int(time.time())
            claims = {
                "iss": idp.url,
                "sub": "u-1",
                "aud": CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": query["nonce"],
                "email": "u@example.com",
                "team": "blue",
            }
            posted = browser.post(
                f"/v1/auth/{mount}/oidc/callback",
                data={"state": query["state"], "id_token": key.sign(forge(claims))},
            )
            assert posted.status_code == 200, (name, posted.text)
            params = {"state": query["state"], "code": "no_code", "client_nonce": "cn"}
            answer = browser.get(f"/v1/auth/{mount}/oidc/callback", params=params)
            body_json = answer.json()
            if answer.status_code == 200:
                auth = body_json["auth"]
                found[name] = (200, (auth["metadata"], auth["token_policies"], bool(auth["entity_id"])))
            else:
                message = body_json["errors"][0]
                summary = VERIFICATION if message.startswith(VERIFICATION) else message
                found[name] = (answer.status_code, summary)
            if name == "good":
                replayed = browser.get(f"/v1/auth/{mount}/oidc/callback", params=params)
                found["replayed"] = (replayed.status_code, replayed.json())
        with server.client() as root:
            root.delete(f"/v1/sys/auth/{mount}")
    return found


def test_id_token_checks_as_openbao_does(server: RunningServer, bao: RunningServer, idp: JWKSServer) -> None:
    ours, theirs = _answers(server, idp), _answers(bao, idp)
    assert ours == theirs
    assert ours["good"] == (200, ({"role": "person", "team": "blue"}, ["default"], True))
    refused = {name for name, (status, _) in ours.items() if status == 400}
    assert refused == set(ours) - {"good"}
    assert ours["no user claim"] == (400, 'OpenBao login failed. claim "email" not found in token')


def _code_flow_answers(server: RunningServer, idp: JWKSServer) -> dict[str, Any]:
    """Code-flow logins whose token endpoint and userinfo answers the test chooses; what each server did."""
    mount = f"oidc-{uuid.uuid4().hex[:8]}"
    callback = "http://localhost:8250/oidc/callback"
    with server.client() as root:
        root.post(f"/v1/sys/auth/{mount}", json={"type": "oidc"}).raise_for_status()
        config = {"oidc_discovery_url": idp.url, "oidc_client_id": CLIENT_ID, "oidc_client_secret": "s e/c"}
        root.post(f"/v1/auth/{mount}/config", json=config).raise_for_status()
        role = {"user_claim": "sub", "bound_claims": {"team": "blue"}, "allowed_redirect_uris": [callback]}
        root.post(f"/v1/auth/{mount}/role/person", json={**role, "claim_mappings": {"team": "team"}})
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("userinfo supplies the bound claim", {}, {"sub": "u-1", "team": "blue"}),
        ("userinfo of another subject is ignored", {}, {"sub": "u-2", "team": "blue"}),
        ("no userinfo", {}, {}),
        ("the ID token's claim, userinfo overriding it", {"team": "blue"}, {"sub": "u-1", "team": "red"}),
        ("access token hash mismatch", {"team": "blue", "at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, {}),
        ("the token endpoint refuses", {"refused": True}, {}),
    ]
    found: dict[str, Any] = {}
    with httpx.Client(base_url=server.address, timeout=10) as browser:
        for name, extra, userinfo in cases:
            body = {"role": "person", "redirect_uri": callback, "client_nonce": "cn"}
            auth_url = browser.post(f"/v1/auth/{mount}/oidc/auth_url", json=body).json()["data"]["auth_url"]
            query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
            now = int(time.time())
            claims = {"iss": idp.url, "sub": "u-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300}
            claims |= {"nonce": query["nonce"], **{k: v for k, v in extra.items() if k != "refused"}}
            refused = extra.get("refused")
            idp.token_response = {} if refused else {"id_token": RSA.sign(claims), "access_token": "at-1"}
            idp.userinfo = userinfo
            idp.token_requests.clear()
            params = {"state": query["state"], "code": "the-code", "client_nonce": "cn"}
            answer = browser.get(f"/v1/auth/{mount}/oidc/callback", params=params)
            sent = idp.token_requests[0]
            verifier = sent["code_verifier"][0]
            found[f"{name}: token request"] = (
                sent["grant_type"],
                sent["code"],
                sent["redirect_uri"],
                sent["authorization"],
                oidc_challenge(verifier) == query["code_challenge"],
            )
            if answer.status_code == 200:
                found[name] = (200, answer.json()["auth"]["metadata"])
            else:
                message = answer.json()["errors"][0]
                exchange = "OpenBao login failed. Error exchanging oidc code: "
                found[name] = (answer.status_code, exchange if message.startswith(exchange) else message)
        with server.client() as root:
            root.delete(f"/v1/sys/auth/{mount}")
    return found


def oidc_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_code_exchange_and_userinfo_as_openbao_does(
    server: RunningServer, bao: RunningServer, idp: JWKSServer
) -> None:
    ours, theirs = _code_flow_answers(server, idp), _code_flow_answers(bao, idp)
    assert ours == theirs
    assert ours["userinfo supplies the bound claim"] == (200, {"role": "person", "team": "blue"})
    assert ours["the ID token's claim, userinfo overriding it"][0] == 400
    assert ours["no userinfo"] == (
        400,
        'OpenBao login failed. error validating claims: claim "team" is missing',
    )
    basic = base64.b64encode(b"the-client:s+e%2Fc").decode()
    assert ours["no userinfo: token request"][3] == [f"Basic {basic}"]
