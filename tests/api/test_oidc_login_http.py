"""OIDC browser login (auth/<jwt mount>/oidc/auth_url and oidc/callback) end to end over real HTTP, with
strongroom's own OIDC provider (identity/oidc/provider) as the identity provider: no mocks.

The test plays the browser: it follows the auth_url to the provider's authorize endpoint with a user's
strongroom token (the provider's UI page would do that), and takes the code and state back to the
callback. The login's token gets an entity of its own at the oidc mount, and the ID token's groups claim
puts it in an external group whose policy it then holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.servers import RunningServer

CALLBACK = "http://localhost:8250/oidc/callback"
GROUPS_SCOPE = '{"groups": {{identity.entity.groups.names}}, "nick": {{identity.entity.metadata.nick}}}'


@dataclass(frozen=True)
class Provider:
    """The provider side: a userpass user whose entity may use the client, and the client's credentials."""

    user_token: str
    user_entity: str
    client_id: str
    client_secret: str
    issuer: str


def setup_provider(root: httpx.Client, address: str, name: str, redirects: list[str]) -> Provider:
    """A userpass user "<name>-user" in group "<name>-team", a client allowed to send them back to
    `redirects`, and a provider `name` whose ID tokens carry the groups and a nickname."""
    root.post(f"/v1/sys/auth/{name}-up", json={"type": "userpass"}).raise_for_status()
    root.post(f"/v1/auth/{name}-up/users/{name}-user", json={"password": "pw"}).raise_for_status()
    with httpx.Client(base_url=address, timeout=10) as anonymous:
        auth = anonymous.post(f"/v1/auth/{name}-up/login/{name}-user", json={"password": "pw"}).json()["auth"]
    entity = auth["entity_id"]
    root.post(f"/v1/identity/entity/id/{entity}", json={"metadata": {"nick": "olly"}}).raise_for_status()
    root.post(f"/v1/identity/group/name/{name}-team", json={"member_entity_ids": [entity]}).raise_for_status()
    for path, body in (
        (f"key/{name}-key", {"allowed_client_ids": "*", "algorithm": "RS256"}),
        (f"scope/{name}-groups", {"template": GROUPS_SCOPE}),
        (f"assignment/{name}-users", {"entity_ids": [entity]}),
        (
            f"client/{name}-app",
            {"redirect_uris": redirects, "assignments": f"{name}-users", "key": f"{name}-key"},
        ),
    ):
        root.post(f"/v1/identity/oidc/{path}", json=body).raise_for_status()
    client = root.get(f"/v1/identity/oidc/client/{name}-app").json()["data"]
    root.post(
        f"/v1/identity/oidc/provider/{name}",
        json={"allowed_client_ids": [client["client_id"]], "scopes_supported": f"{name}-groups"},
    ).raise_for_status()
    issuer = f"{address}/v1/identity/oidc/provider/{name}"
    return Provider(auth["client_token"], entity, client["client_id"], client["client_secret"], issuer)


def setup_oidc_mount(root: httpx.Client, mount: str, provider: Provider, name: str, **role: Any) -> str:
    """An oidc auth mount using `provider`, a role "person" and an external group "<mount>-engineers"
    (policy "<mount>-eng") that the provider's group "<name>-team" maps to. Its accessor."""
    root.post(f"/v1/sys/auth/{mount}", json={"type": "oidc"}).raise_for_status()
    root.post(
        f"/v1/auth/{mount}/config",
        json={
            "oidc_discovery_url": provider.issuer,
            "oidc_client_id": provider.client_id,
            "oidc_client_secret": provider.client_secret,
            "default_role": "person",
        },
    ).raise_for_status()
    root.post(
        f"/v1/auth/{mount}/role/person",
        json={
            "user_claim": "sub",
            "groups_claim": "groups",
            "claim_mappings": {"nick": "nickname"},
            "oidc_scopes": f"{name}-groups",
            "allowed_redirect_uris": [CALLBACK],
            "token_policies": "default",
            **role,
        },
    ).raise_for_status()
    accessor = root.get("/v1/sys/auth").json()["data"][f"{mount}/"]["accessor"]
    root.put(
        f"/v1/sys/policies/acl/{mount}-eng",
        json={"policy": 'path "sys/policies/acl/*" { capabilities = ["read"] }'},
    ).raise_for_status()
    root.post(
        f"/v1/identity/group/name/{mount}-engineers", json={"type": "external", "policies": f"{mount}-eng"}
    )
    group_id = root.get(f"/v1/identity/group/name/{mount}-engineers").json()["data"]["id"]
    root.post(
        "/v1/identity/group-alias",
        json={"name": f"{name}-team", "mount_accessor": accessor, "canonical_id": group_id},
    ).raise_for_status()
    return str(accessor)


def play_browser(address: str, auth_url: str, user_token: str) -> dict[str, str]:
    """What a browser brings back to the redirect URI: the provider's UI page calls the authorize API with
    the user's token and redirects with its code and state."""
    parts = urlsplit(auth_url)
    assert parts.path.startswith("/ui/vault/identity/oidc/provider/")
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    api_path = parts.path.replace("/ui/vault/", "/v1/", 1)
    with httpx.Client(base_url=address, timeout=10) as browser:
        answer = browser.get(api_path, params=query, headers={"X-Vault-Token": user_token})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def oidc(server: RunningServer) -> Iterator[Provider]:
    with server.client() as root:
        provider = setup_provider(root, server.address, "idp", [CALLBACK])
        setup_oidc_mount(root, "oidc", provider, "idp")
        yield provider


def _auth_url(anonymous: httpx.Client, **body: str) -> httpx.Response:
    return anonymous.post("/v1/auth/oidc/oidc/auth_url", json=body)


def test_browser_login_end_to_end(server: RunningServer, oidc: Provider) -> None:
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        started = _auth_url(anonymous, role="person", redirect_uri=CALLBACK, client_nonce="cn-1")
        assert started.status_code == 200, started.text
        auth_url = started.json()["data"]["auth_url"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}
        assert query["client_id"] == oidc.client_id
        assert query["redirect_uri"] == CALLBACK
        assert query["response_type"] == "code"
        assert query["scope"] == "openid idp-groups"
        assert query["code_challenge_method"] == "S256"
        assert len(query["code_challenge"]) == 43
        assert query["state"]
        assert query["nonce"]
        assert query["state"] != query["nonce"]
        granted = play_browser(server.address, auth_url, oidc.user_token)
        assert granted["state"] == query["state"]
        callback = {"state": granted["state"], "code": granted["code"], "client_nonce": "cn-1"}
        answer = anonymous.get("/v1/auth/oidc/oidc/callback", params=callback)
        assert answer.status_code == 200, answer.text
        auth = answer.json()["auth"]
        # The same state again: one use.
        replay = anonymous.get("/v1/auth/oidc/oidc/callback", params=callback)
    assert replay.status_code == 400
    assert replay.json() == {"errors": ["OpenBao login failed. Expired or missing OAuth state."]}
    assert auth["metadata"] == {"role": "person", "nickname": "olly"}
    assert auth["token_policies"] == ["default"]
    assert auth["identity_policies"] == ["oidc-eng"]
    assert auth["entity_id"]
    assert auth["entity_id"] != oidc.user_entity
    with server.client() as root:
        entity = root.get(f"/v1/identity/entity/id/{auth['entity_id']}").json()["data"]
        lookup = root.post("/v1/auth/token/lookup", json={"token": auth["client_token"]}).json()["data"]
    assert [a["name"] for a in entity["aliases"]] == [oidc.user_entity]  # the user claim: the ID token's sub
    assert lookup["display_name"] == f"oidc-{oidc.user_entity}"
    with server.client(auth["client_token"]) as user:
        # The external group's policy, which only the groups claim gives.
        assert user.get("/v1/sys/policies/acl/default").status_code == 200
        # Renewed as a jwt login is: while its role exists.
        renewed = user.post("/v1/auth/token/renew-self", json={})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["auth"]["entity_id"] == auth["entity_id"]


def _started(anonymous: httpx.Client, nonce: str = "cn") -> tuple[str, dict[str, str]]:
    auth_url = _auth_url(anonymous, redirect_uri=CALLBACK, client_nonce=nonce).json()["data"]["auth_url"]
    return auth_url, {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}


def test_callback_refusals(server: RunningServer, oidc: Provider) -> None:
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:

        def callback(**params: str) -> tuple[int, Any]:
            answer = anonymous.get("/v1/auth/oidc/oidc/callback", params=params)
            return answer.status_code, answer.json()

        auth_url, query = _started(anonymous)
        granted = play_browser(server.address, auth_url, oidc.user_token)
        # A wrong client_nonce uses the state up: the login cannot be retried with the right one.
        assert callback(state=query["state"], code=granted["code"], client_nonce="other") == (
            400,
            {"errors": ["invalid client_nonce"]},
        )
        assert callback(state=query["state"], code=granted["code"], client_nonce="cn")[0] == 400
        assert callback(state="made-up", code="x") == (
            400,
            {"errors": ["OpenBao login failed. Expired or missing OAuth state."]},
        )
        _, query = _started(anonymous)
        assert callback(state=query["state"], error="access_denied", client_nonce="cn") == (
            400,
            {"errors": ["OpenBao login failed. access_denied"]},
        )
        _, query = _started(anonymous)
        unknown = callback(state=query["state"], error="<b>nope</b>", client_nonce="cn")
        assert unknown == (
            400,
            {
                "errors": [
                    "OpenBao login failed. An unknown error occurred during OIDC authentication. "
                    "Check server logs for details"
                ]
            },
        )
        _, query = _started(anonymous)
        assert callback(state=query["state"], client_nonce="cn") == (
            400,
            {"errors": ["OpenBao login failed. No code or id_token received."]},
        )
        # A code the provider never issued: the exchange fails at the provider's token endpoint.
        _, query = _started(anonymous)
        status, body = callback(state=query["state"], code="forged", client_nonce="cn")
        assert status == 400
        assert body["errors"][0].startswith("OpenBao login failed. Error exchanging oidc code: ")
        assert "invalid_grant" in body["errors"][0]
        # A code granted for another login (its PKCE verifier and nonce) does not complete this one.
        auth_url, _ = _started(anonymous)
        stolen = play_browser(server.address, auth_url, oidc.user_token)["code"]
        _, query = _started(anonymous)
        status, body = callback(state=query["state"], code=stolen, client_nonce="cn")
        assert status == 400
        assert "Error exchanging oidc code" in body["errors"][0]


def test_auth_url_answers(server: RunningServer, oidc: Provider) -> None:
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:

        def auth_url(**body: str) -> tuple[int, Any]:
            answer = _auth_url(anonymous, **body)
            return answer.status_code, answer.json().get("data", answer.json())

        # A loopback redirect may use any port (RFC 8252); any other mismatch gets an empty URL.
        assert auth_url(redirect_uri="http://127.0.0.1:9/oidc/callback")[1]["auth_url"] == ""
        assert auth_url(redirect_uri="http://localhost:9/oidc/callback")[1]["auth_url"].startswith("http")
        assert auth_url(redirect_uri="http://localhost:8250/other")[1] == {"auth_url": ""}
        assert auth_url(redirect_uri="https://evil.example/oidc/callback")[1] == {"auth_url": ""}
        assert auth_url(role="nope", redirect_uri=CALLBACK) == (
            400,
            {"errors": ['role "nope" could not be found']},
        )
        assert auth_url(role="person") == (400, {"errors": ["missing redirect_uri"]})


def test_max_age_and_oauth2_metadata(server: RunningServer, oidc: Provider) -> None:
    with server.client() as root:
        role = {
            "user_claim": "sub",
            "allowed_redirect_uris": [CALLBACK],
            "max_age": "1h",
            "oauth2_metadata": "id_token",
        }
        root.post("/v1/auth/oidc/role/aged", json=role).raise_for_status()
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        body = {"role": "aged", "redirect_uri": CALLBACK, "client_nonce": "cn"}
        auth_url = _auth_url(anonymous, **body).json()["data"]["auth_url"]
        assert parse_qs(urlsplit(auth_url).query)["max_age"] == ["3600"]
        granted = play_browser(server.address, auth_url, oidc.user_token)
        params = {"state": granted["state"], "code": granted["code"], "client_nonce": "cn"}
        answer = anonymous.get("/v1/auth/oidc/oidc/callback", params=params)
    assert answer.status_code == 200, answer.text
    metadata = answer.json()["auth"]["metadata"]
    # The ID token the login was made with, as the provider signed it (auth_time: max_age was asked for).
    discovery = httpx.get(f"{oidc.issuer}/.well-known/openid-configuration", timeout=10).json()
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(metadata["oauth2_id_token"])
    claims = jwt.decode(
        metadata["oauth2_id_token"],
        signing_key.key,
        algorithms=["RS256"],
        audience=oidc.client_id,
        issuer=oidc.issuer,
    )
    assert claims["sub"] == oidc.user_entity
    assert isinstance(claims["auth_time"], int)
