"""The ID token checks of the OIDC browser login, against OpenBao: the implicit flow (response type
id_token, form_post) with a test identity provider whose ID tokens the test signs, so each check can be
broken on purpose. The same logins go to strongroom and `bao server -dev`; statuses and error texts are
compared (verification failures by their summary: the library's detail differs by nature).
"""

from __future__ import annotations

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
