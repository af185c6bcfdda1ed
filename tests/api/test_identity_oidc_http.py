"""identity/oidc: named keys, roles and signed identity tokens over real HTTP, with hvac, PyJWT and
against OpenBao.

Tokens are verified the way a relying party does it: the key set fetched over HTTP from the published
`.well-known/keys` URL, the issuer from `.well-known/openid-configuration`.
The differential tests send the same requests to strongroom and to `bao server -dev` and compare status
codes, error texts (OAuth's error bodies in full), field sets, and the claims of issued tokens (names, and
the values that do not differ by nature). Intended difference, not visible here: OpenBao's provider access
tokens are Vault batch tokens, strongroom's are the identity store's own (both work as OAuth Bearer
tokens at userinfo).
"""

from __future__ import annotations

import base64
import hashlib
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import jwt
import pytest

from tests.servers import RunningServer, free_port, init_and_unseal, sqlite_config, strongroom_config_server

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
USER_POLICY = 'path "identity/oidc/token/*" { capabilities = ["read"] }'
TEMPLATE = (
    '{"username": {{identity.entity.name}}, "meta": {{identity.entity.metadata}}, '
    '"team": {{identity.entity.metadata.team}}, "groups": {{identity.entity.groups.names}}}'
)


def _login(address: str, mount: str, user: str) -> dict[str, Any]:
    """A userpass login (the user's entity is made or found by it): its auth block."""
    with httpx.Client(base_url=address, timeout=10) as anonymous:
        answer = anonymous.post(f"/v1/auth/{mount}/login/{user}", json={"password": "pw"})
    answer.raise_for_status()
    return dict(answer.json()["auth"])


def _user(client: httpx.Client, mount: str, user: str) -> None:
    """A userpass mount (once) with `user`, who may ask for identity tokens."""
    if f"{mount}/" not in client.get("/v1/sys/auth").json()["data"]:
        client.post(f"/v1/sys/auth/{mount}", json={"type": "userpass"}).raise_for_status()
    client.put("/v1/sys/policies/acl/oidc-user", json={"policy": USER_POLICY}).raise_for_status()
    client.post(
        f"/v1/auth/{mount}/users/{user}", json={"password": "pw", "policies": "oidc-user"}
    ).raise_for_status()


def _verified(address: str, token: str, audience: str) -> dict[str, Any]:
    """The token's claims, checked as a relying party would: signature by a key of the published key set
    (fetched over HTTP from the discovery document's jwks_uri), issuer, audience and expiry."""
    discovery = httpx.get(f"{address}/v1/identity/oidc/.well-known/openid-configuration", timeout=10).json()
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"], cache_jwk_set=False).get_signing_key_from_jwt(token)
    return dict(
        jwt.decode(
            token,
            signing_key.key,
            algorithms=discovery["id_token_signing_alg_values_supported"],
            audience=audience,
            issuer=discovery["issuer"],
        )
    )


@pytest.mark.parametrize("algorithm", ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA"])
def test_hvac_token_verifies_against_published_keys(
    server: RunningServer, root: httpx.Client, algorithm: str
) -> None:
    client = hvac.Client(url=server.address, token=server.root_token)
    identity = client.secrets.identity
    name = f"k-{algorithm.lower()}"
    identity.create_named_key(name, algorithm=algorithm, allowed_client_ids=["app-" + name])
    identity.create_or_update_role(name, key=name, template=TEMPLATE, client_id="app-" + name, ttl="1h")
    _user(root, "oidc-up", "ann")
    auth = _login(server.address, "oidc-up", "ann")
    entity_id = auth["entity_id"]
    root.post(
        f"/v1/identity/entity/id/{entity_id}", json={"name": "ann-entity", "metadata": {"team": "blue"}}
    ).raise_for_status()
    root.post(
        "/v1/identity/group/name/oidc-readers", json={"member_entity_ids": [entity_id]}
    ).raise_for_status()

    user = hvac.Client(url=server.address, token=auth["client_token"])
    issued = user.secrets.identity.generate_signed_id_token(name)["data"]
    assert (issued["client_id"], issued["ttl"]) == ("app-" + name, 3600)
    assert jwt.get_unverified_header(issued["token"])["alg"] == algorithm
    claims = _verified(server.address, issued["token"], "app-" + name)
    assert claims["sub"] == entity_id
    assert claims["iss"] == f"{server.address}/v1/identity/oidc"
    assert (claims["username"], claims["meta"], claims["team"]) == ("ann-entity", {"team": "blue"}, "blue")
    assert claims["groups"] == ["oidc-readers"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["namespace"] == "root"

    keys = identity.read_active_public_keys()["keys"]
    assert keys
    assert all("d" not in key and key["use"] == "sig" for key in keys)
    verdict = identity.introspect_signed_id_token(issued["token"], client_id="app-" + name)
    assert verdict == {"active": True}
    wrong = identity.introspect_signed_id_token(issued["token"], client_id="other")
    assert wrong["active"] is False
    assert "invalid audience claim (aud)" in wrong["error"]
    root.post(f"/v1/identity/entity/id/{entity_id}", json={"disabled": True}).raise_for_status()
    assert identity.introspect_signed_id_token(issued["token"]) == {
        "active": False,
        "error": "entity is disabled",
    }
    root.post(f"/v1/identity/entity/id/{entity_id}", json={"disabled": False}).raise_for_status()
    identity.delete_role(name)
    identity.delete_named_key(name)


def test_rotation_keeps_old_tokens_verifiable(server: RunningServer, root: httpx.Client) -> None:
    client = hvac.Client(url=server.address, token=server.root_token)
    identity = client.secrets.identity
    identity.create_named_key("rot", allowed_client_ids="*")
    identity.create_or_update_role("rot", key="rot", client_id="rot-app")
    _user(root, "oidc-up", "bob")
    user = hvac.Client(url=server.address, token=_login(server.address, "oidc-up", "bob")["client_token"])
    before = user.secrets.identity.generate_signed_id_token("rot")["data"]["token"]
    # hvac's rotate_named_key writes to oidc/key/<name> rather than oidc/key/<name>/rotate: the path itself.
    root.post("/v1/identity/oidc/key/rot/rotate", json={"verification_ttl": "1h"}).raise_for_status()
    after = user.secrets.identity.generate_signed_id_token("rot")["data"]["token"]
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    for token in (before, after):
        assert _verified(server.address, token, "rot-app")["aud"] == "rot-app"
        assert identity.introspect_signed_id_token(token) == {"active": True}
    # Retired with no verification time left, a key leaves the set and its tokens stop verifying; the
    # one retired before keeps its hour.
    root.post("/v1/identity/oidc/key/rot/rotate", json={"verification_ttl": 0}).raise_for_status()
    time.sleep(1.1)
    published = {key["kid"] for key in identity.read_active_public_keys()["keys"]}
    assert jwt.get_unverified_header(after)["kid"] not in published
    assert jwt.get_unverified_header(before)["kid"] in published
    assert identity.introspect_signed_id_token(after) == {
        "active": False,
        "error": "unable to validate the token signature",
    }
    identity.delete_role("rot")
    identity.delete_named_key("rot")


def test_config_issuer_and_discovery(server: RunningServer, root: httpx.Client) -> None:
    client = hvac.Client(url=server.address, token=server.root_token)
    identity = client.secrets.identity
    identity.configure_tokens_backend(issuer="https://sso.example.com:8200")
    try:
        assert identity.read_tokens_backend_configuration()["data"] == {
            "issuer": "https://sso.example.com:8200"
        }
        discovery = identity.read_well_known_configurations()
        assert discovery["issuer"] == "https://sso.example.com:8200/v1/identity/oidc"
        assert discovery["jwks_uri"] == "https://sso.example.com:8200/v1/identity/oidc/.well-known/keys"
    finally:
        identity.configure_tokens_backend(issuer="")
    assert identity.read_well_known_configurations()["issuer"] == f"{server.address}/v1/identity/oidc"


def _shape(response: httpx.Response) -> tuple[int, Any]:
    """What the comparison sees: the status and the body's field names (errors in full), or for a token
    the names of its claims."""
    if not response.content:
        return response.status_code, None
    body = response.json()
    if "errors" in body:
        return response.status_code, [_UUID.sub("<id>", error) for error in body["errors"]]
    data = body.get("data", body)
    if isinstance(data, dict) and isinstance(data.get("token"), str):
        claims = jwt.decode(data["token"], options={"verify_signature": False})
        # Values that differ by nature (IDs, generated client IDs, times, the issuer's address, generated
        # names) are left out.
        same = {k: v for k, v in claims.items() if k in ("namespace", "meta", "team", "groups")}
        return response.status_code, (sorted(data), sorted(claims), same, claims["exp"] - claims["iat"])
    if (
        isinstance(data, dict)
        and "keys" in data
        and isinstance(data["keys"], list)
        and data["keys"]
        and isinstance(data["keys"][0], dict)
    ):
        return response.status_code, sorted(sorted(key) for key in data["keys"])
    return response.status_code, (sorted(data) if isinstance(data, dict) else data, body.get("warnings"))


def _script(client: httpx.Client, address: str) -> Iterator[tuple[str, tuple[int, Any]]]:
    """The requests of the differential test, in order, each with its answer's shape."""

    def step(method: str, path: str, body: Any = None) -> httpx.Response:
        return client.request(method, f"/v1/identity/oidc/{path}", json=body)

    yield "list keys", _shape(step("LIST", "key"))
    yield "read default key", _shape(step("GET", "key/default"))
    yield "read config", _shape(step("GET", "config"))
    yield "bad issuer", _shape(step("POST", "config", {"issuer": "https://x.example/path"}))
    for algorithm in ("RS256", "ES384", "EdDSA"):
        yield (
            f"create {algorithm}",
            _shape(step("POST", f"key/d-{algorithm}", {"algorithm": algorithm, "allowed_client_ids": "*"})),
        )
    yield "read key", _shape(step("GET", "key/d-ES384"))
    yield "bad algorithm", _shape(step("POST", "key/d-bad", {"algorithm": "HS256"}))
    yield "short rotation", _shape(step("POST", "key/d-bad", {"rotation_period": "30s"}))
    yield (
        "long verification",
        _shape(step("POST", "key/d-bad", {"rotation_period": "1m", "verification_ttl": "11m"})),
    )
    yield "narrow key", _shape(step("POST", "key/d-narrow", {"allowed_client_ids": ["only-this"]}))
    yield (
        "role",
        _shape(
            step(
                "POST",
                "role/d-r",
                {"key": "d-ES384", "template": TEMPLATE, "client_id": "d-app", "ttl": "2h"},
            )
        ),
    )
    yield "read role", _shape(step("GET", "role/d-r"))
    yield "role on default key", _shape(step("POST", "role/d-def", {"key": "default"}))
    yield "role unknown key", _shape(step("POST", "role/d-x", {"key": "nokey"}))
    yield "role without key", _shape(step("POST", "role/d-x", {}))
    yield "template not json", _shape(step("POST", "role/d-x", {"key": "d-RS256", "template": "{not json"}))
    yield "template not object", _shape(step("POST", "role/d-x", {"key": "d-RS256", "template": "[1]"}))
    yield (
        "template reserved claim",
        _shape(step("POST", "role/d-x", {"key": "d-RS256", "template": '{"sub": "x"}'})),
    )
    yield (
        "template unbalanced",
        _shape(step("POST", "role/d-x", {"key": "d-RS256", "template": '{"a": {{identity.entity.id}'})),
    )
    yield "ttl beyond verification", _shape(step("POST", "role/d-x", {"key": "d-RS256", "ttl": "48h"}))
    yield (
        "role not allowed by key",
        _shape(step("POST", "role/d-narrow", {"key": "d-narrow", "client_id": "other"})),
    )
    yield "list roles", _shape(step("LIST", "role"))
    yield "token without entity", _shape(step("GET", "token/d-r"))
    yield "token unknown role", _shape(step("GET", "token/nope"))
    _user(client, "d-up", "dora")
    auth = _login(address, "d-up", "dora")
    with httpx.Client(base_url=address, headers={"X-Vault-Token": auth["client_token"]}, timeout=10) as user:
        issued = user.get("/v1/identity/oidc/token/d-r")
        yield "token", _shape(issued)
        yield "token on default key", _shape(user.get("/v1/identity/oidc/token/d-def"))
        yield "token key refuses client", _shape(user.get("/v1/identity/oidc/token/d-narrow"))
    token = issued.json()["data"]["token"]
    yield "introspect", _shape(step("POST", "introspect", {"token": token, "client_id": "d-app"}))
    yield "introspect wrong audience", _shape(step("POST", "introspect", {"token": token, "client_id": "x"}))
    yield "introspect garbage", _shape(step("POST", "introspect", {"token": "abc"}))
    yield "keys", _shape(httpx.get(f"{address}/v1/identity/oidc/.well-known/keys", timeout=10))
    yield (
        "discovery",
        _shape(httpx.get(f"{address}/v1/identity/oidc/.well-known/openid-configuration", timeout=10)),
    )
    yield "rotate", _shape(step("POST", "key/d-ES384/rotate", {"verification_ttl": "1h"}))
    yield "rotate unknown", _shape(step("POST", "key/nokey/rotate"))
    yield "delete used key", _shape(step("DELETE", "key/d-ES384"))
    yield "delete default", _shape(step("DELETE", "key/default"))
    yield "delete role", _shape(step("DELETE", "role/d-r"))
    yield "delete key", _shape(step("DELETE", "key/d-ES384"))
    yield "read deleted key", _shape(step("GET", "key/d-ES384"))


def test_differential_against_openbao(server: RunningServer, bao: RunningServer) -> None:
    with server.client() as ours, bao.client() as theirs:
        mine = list(_script(ours, server.address))
        reference = list(_script(theirs, bao.address))
    assert [name for name, _ in mine] == [name for name, _ in reference]
    differing = [(name, a, b) for (name, a), (_, b) in zip(mine, reference, strict=True) if a != b]
    assert differing == [], repr(differing)


def _provider_script(client: httpx.Client, address: str) -> Iterator[tuple[str, tuple[int, Any]]]:
    """The provider side's requests of the differential test, in order, each with its answer's shape."""

    def step(method: str, path: str, body: Any = None) -> httpx.Response:
        return client.request(method, f"/v1/identity/oidc/{path}", json=body)

    yield "list providers", _shape(step("LIST", "provider"))
    yield "read default provider", _shape(step("GET", "provider/default"))
    yield "list assignments", _shape(step("LIST", "assignment"))
    yield "read allow_all", _shape(step("GET", "assignment/allow_all"))
    yield "write allow_all", _shape(step("POST", "assignment/allow_all", {"entity_ids": "x"}))
    yield "delete allow_all", _shape(step("DELETE", "assignment/allow_all"))
    yield "assignment", _shape(step("POST", "assignment/p-a", {"entity_ids": "A,a,b", "group_ids": ["G"]}))
    yield "read assignment", _shape(step("GET", "assignment/p-a"))
    yield "scope openid", _shape(step("POST", "scope/openid", {"template": "{}"}))
    yield "scope", _shape(step("POST", "scope/p-s", {"template": '{"name": {{identity.entity.name}}}'}))
    yield "scope clash", _shape(step("POST", "scope/p-s2", {"template": '{"name": {{identity.entity.id}}}'}))
    yield "scope reserved", _shape(step("POST", "scope/p-x", {"template": '{"iss": "x"}'}))
    yield "read scope", _shape(step("GET", "scope/p-s"))
    yield "list scopes", _shape(step("LIST", "scope"))
    yield (
        "client",
        _shape(
            step("POST", "client/p-c", {"redirect_uris": "http://127.0.0.1:8251/cb", "assignments": "p-a"})
        ),
    )
    yield "read client", _shape(step("GET", "client/p-c"))
    yield "public client", _shape(step("POST", "client/p-pub", {"client_type": "public", "key": "default"}))
    yield "read public client", _shape(step("GET", "client/p-pub"))
    yield "client type change", _shape(step("POST", "client/p-pub", {"client_type": "confidential"}))
    yield "client bad type", _shape(step("POST", "client/p-bad", {"client_type": "secret"}))
    yield "client unknown assignment", _shape(step("POST", "client/p-bad", {"assignments": "nope"}))
    yield "client unknown key", _shape(step("POST", "client/p-bad", {"key": "nope"}))
    yield "client key change", _shape(step("POST", "client/p-c", {"key": "other"}))
    yield "client ttl", _shape(step("POST", "client/p-bad", {"id_token_ttl": "48h"}))
    yield "list clients", _shape(step("LIST", "client"))
    yield (
        "provider",
        _shape(step("POST", "provider/p-p", {"allowed_client_ids": "*", "scopes_supported": "p-s,p-s2"})),
    )
    yield "provider bad issuer", _shape(step("POST", "provider/p-q", {"issuer": "https://x/y"}))
    yield "provider issuer", _shape(step("POST", "provider/p-q", {"issuer": "https://x.example"}))
    yield "provider unknown scope", _shape(step("POST", "provider/p-q", {"scopes_supported": "nope"}))
    yield "read provider", _shape(step("GET", "provider/p-p"))
    yield (
        "list providers filtered",
        _shape(client.request("LIST", "/v1/identity/oidc/provider?allowed_client_id=zz")),
    )
    yield (
        "discovery",
        _shape(
            httpx.get(f"{address}/v1/identity/oidc/provider/p-p/.well-known/openid-configuration", timeout=10)
        ),
    )
    yield (
        "provider keys",
        _shape(httpx.get(f"{address}/v1/identity/oidc/provider/p-p/.well-known/keys", timeout=10)),
    )
    yield (
        "unknown provider keys",
        _shape(httpx.get(f"{address}/v1/identity/oidc/provider/nope/.well-known/keys", timeout=10)),
    )
    yield "delete used scope", _shape(step("DELETE", "scope/p-s"))
    yield "delete used assignment", _shape(step("DELETE", "assignment/p-a"))
    yield "delete default provider", _shape(step("DELETE", "provider/default"))
    yield "delete key used by client", _shape(step("DELETE", "key/default"))
    for path in (
        "provider/p-p",
        "provider/p-q",
        "client/p-c",
        "client/p-pub",
        "scope/p-s",
        "scope/p-s2",
        "assignment/p-a",
    ):
        yield f"delete {path}", _shape(step("DELETE", path))


def test_provider_differential_against_openbao(server: RunningServer, bao: RunningServer) -> None:
    with server.client() as ours, bao.client() as theirs:
        mine = list(_provider_script(ours, server.address))
        reference = list(_provider_script(theirs, bao.address))
    differing = [(name, a, b) for (name, a), (_, b) in zip(mine, reference, strict=True) if a != b]
    assert differing == [], repr(differing)


REDIRECT = "http://127.0.0.1:8251/callback"
PROFILE = '{"name": {{identity.entity.name}}, "groups": {{identity.entity.groups.names}}}'


def _oauth(response: httpx.Response) -> tuple[int, Any]:
    """An OAuth answer as the comparison sees it: the status, and the error in full or the field names."""
    body = response.json()
    if "error" in body:
        return response.status_code, body
    return response.status_code, sorted(body)


def _claims(token: str) -> tuple[int, Any]:
    """A token's claim names, and the values of those that do not differ by nature."""
    claims = jwt.decode(token, options={"verify_signature": False})
    same = {k: v for k, v in claims.items() if k in ("namespace", "nonce", "name", "groups")}
    return 0, (sorted(claims), same, claims["exp"] - claims["iat"])


def _flow(client: httpx.Client, address: str) -> Iterator[tuple[str, tuple[int, Any], dict[str, Any]]]:
    """An OIDC provider's whole flow over HTTP: set up by the operator, a user's authorization code, the
    client's token exchange (confidential with a secret, public with PKCE) and userinfo. Each step with
    its answer's shape and its body."""
    _user(client, "flow-up", "fay")
    auth = _login(address, "flow-up", "fay")
    entity_id = auth["entity_id"]
    client.post(f"/v1/identity/entity/id/{entity_id}", json={"name": "fay-entity"}).raise_for_status()
    team = {"member_entity_ids": [entity_id]}
    client.post("/v1/identity/group/name/flow-team", json=team).raise_for_status()
    group_id = client.get("/v1/identity/group/name/flow-team").json()["data"]["id"]
    for path, body in (
        ("key/flow-key", {"allowed_client_ids": "*", "algorithm": "ES256"}),
        ("scope/profile", {"template": PROFILE}),
        ("assignment/flow-team", {"group_ids": [group_id]}),
        ("assignment/nobody", {"entity_ids": ["x"]}),
        ("client/flow-app", {"redirect_uris": REDIRECT, "assignments": "flow-team", "key": "flow-key"}),
        ("client/flow-spa", {"redirect_uris": REDIRECT, "assignments": "flow-team", "client_type": "public"}),
        ("client/flow-other", {"redirect_uris": REDIRECT, "assignments": "nobody", "key": "flow-key"}),
        ("client/flow-m2m", {"key": "flow-key", "client_credentials": True, "authorization_code": False}),
    ):
        client.post(f"/v1/identity/oidc/{path}", json=body).raise_for_status()
    app = client.get("/v1/identity/oidc/client/flow-app").json()["data"]
    spa = client.get("/v1/identity/oidc/client/flow-spa").json()["data"]
    other = client.get("/v1/identity/oidc/client/flow-other").json()["data"]
    m2m = client.get("/v1/identity/oidc/client/flow-m2m").json()["data"]
    allowed = [app["client_id"], spa["client_id"], other["client_id"], m2m["client_id"]]
    client.post(
        "/v1/identity/oidc/provider/flow", json={"allowed_client_ids": allowed, "scopes_supported": "profile"}
    ).raise_for_status()
    base = "/v1/identity/oidc/provider/flow"
    user = httpx.Client(base_url=address, headers={"X-Vault-Token": auth["client_token"]}, timeout=10)
    anonymous = httpx.Client(base_url=address, timeout=10)

    def authorize(client_id: str, **extra: str) -> httpx.Response:
        query = {
            "client_id": client_id,
            "scope": "openid profile",
            "redirect_uri": REDIRECT.replace("8251", "9999"),  # a loopback redirect may use any port
            "response_type": "code",
            "state": "st",
            "nonce": "nn",
        }
        return user.get(f"{base}/authorize", params={**query, **extra})

    def exchange(code: str, secret: str | None = app["client_secret"], **extra: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT.replace("8251", "9999"),
        }
        basic = (app["client_id"], secret) if secret is not None else None
        return anonymous.post(f"{base}/token", data={**form, **extra}, auth=basic)

    with user, anonymous:
        granted = authorize(app["client_id"])
        yield "authorize", _oauth(granted), granted.json()
        code = granted.json()["code"]
        tokens = exchange(code)
        yield "token", _oauth(tokens), {**tokens.json(), "code": code, "client_id": app["client_id"]}
        yield "id token claims", _claims(tokens.json()["id_token"]), {}
        yield "code used twice", _oauth(exchange(code)), {}
        yield "wrong secret", _oauth(exchange(authorize(app["client_id"]).json()["code"], "nope")), {}
        yield "no openid scope", _oauth(authorize(app["client_id"], scope="profile")), {}
        yield "bad redirect", _oauth(authorize(app["client_id"], redirect_uri="https://evil.example/cb")), {}
        yield "unknown client", _oauth(authorize("nope")), {}
        yield "not assigned", _oauth(authorize(other["client_id"])), {}
        yield "public without pkce", _oauth(authorize(spa["client_id"])), {}
        verifier = "v" * 50
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
        public = {"client_id": spa["client_id"]}
        code = authorize(spa["client_id"], **pkce).json()["code"]
        yield "public no verifier", _oauth(exchange(code, None, **public)), {}
        code = authorize(spa["client_id"], **pkce).json()["code"]
        yield "public bad verifier", _oauth(exchange(code, None, **public, code_verifier="w" * 50)), {}
        code = authorize(spa["client_id"], **pkce).json()["code"]
        yield "public token", _oauth(exchange(code, None, **public, code_verifier=verifier)), {}
        aged = authorize(app["client_id"], max_age="3600")
        yield "max_age", _oauth(aged), {}
        yield "max_age claims", _claims(exchange(aged.json()["code"]).json()["id_token"]), {}
        yield "max_age zero", _oauth(authorize(app["client_id"], max_age="0")), {}
        time.sleep(2.1)  # the user's token is now older than a max_age of one second
        yield "max_age passed", _oauth(authorize(app["client_id"], max_age="1")), {}
        yield "m2m authorize", _oauth(authorize(m2m["client_id"])), {}
        machine = {"grant_type": "client_credentials", "scope": "openid profile"}
        basic = (m2m["client_id"], m2m["client_secret"])
        issued = anonymous.post(f"{base}/token", data=machine, auth=basic)
        yield "client credentials", _oauth(issued), {**issued.json(), "client_id": m2m["client_id"]}
        yield "access token claims", _claims(issued.json()["access_token"]), {}
        wrong_flow = {"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT}
        yield "m2m code flow", _oauth(anonymous.post(f"{base}/token", data=wrong_flow, auth=basic)), {}
        unknown = anonymous.post(f"{base}/token", data={**machine, "grant_type": "password"}, auth=basic)
        yield "unknown grant", _oauth(unknown), {}
        access = tokens.json()["access_token"]
        info = anonymous.get(f"{base}/userinfo", headers={"Authorization": f"Bearer {access}"})
        yield "userinfo", _oauth(info), info.json()
        yield "userinfo claims", (0, {k: v for k, v in info.json().items() if k != "sub"}), {}
        refused = anonymous.get(f"{base}/userinfo", headers={"Authorization": "Bearer nope"})
        yield "userinfo bad token", (refused.status_code, None), {}
    yield "entity", (0, None), {"entity_id": entity_id, "group": "flow-team"}


def _flow_cleanup(client: httpx.Client) -> None:
    for path in (
        "provider/flow",
        "client/flow-app",
        "client/flow-spa",
        "client/flow-other",
        "client/flow-m2m",
        "assignment/flow-team",
        "assignment/nobody",
        "scope/profile",
        "key/flow-key",
    ):
        client.delete(f"/v1/identity/oidc/{path}").raise_for_status()


def test_provider_flow_end_to_end(server: RunningServer) -> None:
    with server.client() as root:
        steps = {name: body for name, _, body in _flow(root, server.address)}
    tokens = steps["token"]
    assert steps["authorize"]["state"] == "st"
    claims = _verified_by(
        f"{server.address}/v1/identity/oidc/provider/flow", tokens["id_token"], tokens["client_id"]
    )
    assert claims["sub"] == steps["entity"]["entity_id"]
    assert (claims["nonce"], claims["name"], claims["groups"]) == ("nn", "fay-entity", ["flow-team"])
    half = hashlib.sha256(tokens["access_token"].encode()).digest()[:16]
    assert claims["at_hash"] == base64.urlsafe_b64encode(half).rstrip(b"=").decode()
    assert tokens["token_type"] == "Bearer"
    assert steps["userinfo"] == {"sub": claims["sub"], "name": "fay-entity", "groups": ["flow-team"]}
    machine = steps["client credentials"]
    access = _verified_by(
        f"{server.address}/v1/identity/oidc/provider/flow", machine["access_token"], machine["client_id"]
    )
    assert access["sub"] == machine["client_id"]
    assert "name" not in access  # no entity: the scope's entity claims are left out, as in Vault
    with server.client() as root:
        _flow_cleanup(root)


def _verified_by(issuer: str, token: str, audience: str) -> dict[str, Any]:
    """The token's claims, verified against the provider's discovery document and key set over HTTP."""
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == issuer
    signing_key = jwt.PyJWKClient(discovery["jwks_uri"], cache_jwk_set=False).get_signing_key_from_jwt(token)
    algorithms = discovery["id_token_signing_alg_values_supported"]
    return dict(jwt.decode(token, signing_key.key, algorithms=algorithms, audience=audience, issuer=issuer))


def test_provider_flow_differential_against_openbao(server: RunningServer, bao: RunningServer) -> None:
    with server.client() as ours, bao.client() as theirs:
        mine = [(name, shape) for name, shape, _ in _flow(ours, server.address)]
        reference = [(name, shape) for name, shape, _ in _flow(theirs, bao.address)]
        _flow_cleanup(ours)
        _flow_cleanup(theirs)
    differing = [(name, a, b) for (name, a), (_, b) in zip(mine, reference, strict=True) if a != b]
    assert differing == [], repr(differing)


def test_signing_keys_survive_sigkill_encrypted(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port)
    with strongroom_config_server(tmp_path, config, port) as server:
        unseal_key, token = init_and_unseal(server.address)
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as root:
            root.post("/v1/identity/oidc/key/kept", json={"allowed_client_ids": "*"}).raise_for_status()
            root.post(
                "/v1/identity/oidc/role/kept", json={"key": "kept", "client_id": "kept-app"}
            ).raise_for_status()
            _user(root, "keep-up", "kim")
            user_token = _login(server.address, "keep-up", "kim")["client_token"]
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": user_token}, timeout=10) as user:
            before = user.get("/v1/identity/oidc/token/kept").json()["data"]["token"]
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("strongroom.db*"))
    assert stored
    assert b"PRIVATE KEY" not in stored
    with strongroom_config_server(tmp_path, config, port) as server:
        httpx.put(f"{server.address}/v1/sys/unseal", json={"key": unseal_key}).raise_for_status()
        keys_url = f"{server.address}/v1/identity/oidc/.well-known/keys"
        signing_key = jwt.PyJWKClient(keys_url, cache_jwk_set=False).get_signing_key_from_jwt(before)
        assert (
            jwt.decode(before, signing_key.key, algorithms=["RS256"], audience="kept-app")["aud"]
            == "kept-app"
        )
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": user_token}, timeout=10) as user:
            after = user.get("/v1/identity/oidc/token/kept").json()["data"]["token"]
        assert jwt.get_unverified_header(after)["kid"] == jwt.get_unverified_header(before)["kid"]


def test_form_bodies_as_openbao_reads_them(server: RunningServer, bao: RunningServer) -> None:
    """OAuth clients post forms; Vault reads a form body as fields (a repeated one joined with commas)
    unless it looks like JSON, which wins whatever the Content-Type says."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    answers = []
    for running in (server, bao):
        with running.client() as client:
            client.post("/v1/cubbyhole/form", content=b"a=1&a=2&b=x%20y", headers=form).raise_for_status()
            as_form = client.get("/v1/cubbyhole/form").json()["data"]
            client.post("/v1/cubbyhole/form", content=b' {"c": 3}', headers=form).raise_for_status()
            answers.append((as_form, client.get("/v1/cubbyhole/form").json()["data"]))
    assert answers[0] == answers[1] == ({"a": "1,2", "b": "x y"}, {"c": 3})
