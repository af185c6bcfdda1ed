"""auth/jwt over real HTTP against the strongroom dev server, with keys served by a loopback JWKS and
OIDC-discovery server: config, roles, logins that become tokens, and refusals as Vault's 400s."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.jwks import JWKSServer, claims, ec_key, jwks_server, kubernetes_claims, rsa_key
from tests.servers import RunningServer

RSA = rsa_key("http-rsa")
EC = ec_key("http-ec")
STRANGER = rsa_key("http-stranger")


@pytest.fixture(scope="module")
def idp() -> Iterator[JWKSServer]:
    with jwks_server(RSA, EC) as served:
        yield served


@pytest.fixture
def mount(root: httpx.Client) -> Iterator[str]:
    """A fresh jwt auth mount with a jwt role "app" (audience "api", subject "alice")."""
    path = f"jwt-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/auth/{path}", json={"type": "jwt"}).status_code == 204
    yield path
    root.delete(f"/v1/sys/auth/{path}")


def _anonymous(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.address, timeout=10)


def _login(server: RunningServer, mount: str, token: str, role: str = "app") -> httpx.Response:
    with _anonymous(server) as client:
        return client.post(f"/v1/auth/{mount}/login", json={"role": role, "jwt": token})


def _configure(root: httpx.Client, mount: str, idp: JWKSServer, **extra: Any) -> None:
    response = root.post(f"/v1/auth/{mount}/config", json={"jwks_url": idp.jwks_url, **extra})
    assert response.status_code == 204, response.text
    role = {
        "role_type": "jwt",
        "user_claim": "sub",
        "bound_audiences": "api",
        "claim_mappings": {"email": "mail"},
        "token_policies": "app-read",
        "token_ttl": "1h",
    }
    assert root.post(f"/v1/auth/{mount}/role/app", json=role).status_code == 204


def test_login_with_a_jwks_signed_token_issues_a_usable_token(
    server: RunningServer, root: httpx.Client, mount: str, idp: JWKSServer
) -> None:
    _configure(root, mount, idp, bound_issuer="https://issuer.example")
    for key in (RSA, EC):
        response = _login(server, mount, key.sign(claims(aud="api", email="a@example.com")))
        assert response.status_code == 200, response.text
        auth = response.json()["auth"]
        assert auth["policies"] == ["app-read", "default"]
        assert auth["metadata"] == {"mail": "a@example.com", "role": "app"}
        assert (auth["lease_duration"], auth["renewable"], auth["token_type"]) == (3600, True, "service")
        with server.client(auth["client_token"]) as client:
            me = client.get("/v1/auth/token/lookup-self").json()["data"]
        assert me["display_name"] == f"{mount}-alice"
        assert me["meta"] == {"mail": "a@example.com", "role": "app"}
        assert me["path"] == f"auth/{mount}/login"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: RSA.sign(claims(aud="api", lifetime=-200)),
            "error validating token: invalid expiration time (exp) claim: token is expired",
        ),
        (
            lambda: RSA.sign(claims(aud="api", nbf=int(time.time()) + 600)),
            "error validating token: invalid not before (nbf) claim: token not yet valid",
        ),
        (
            lambda: RSA.sign(claims(aud="web")),
            "error validating token: invalid audience (aud) claim: "
            "audience claim does not match any expected audience",
        ),
        (
            lambda: RSA.sign(claims(aud="api", issuer="https://evil.example")),
            "error validating token: invalid issuer (iss) claim",
        ),
        (
            lambda: STRANGER.sign(claims(aud="api")),
            "error validating token: error verifying token signature: failed to verify id token signature",
        ),
        (
            lambda: RSA.sign(claims(aud="api"), headers={"kid": EC.kid}),
            "error validating token: error verifying token signature: failed to verify id token signature",
        ),
        (lambda: RSA.sign(claims(aud="api", sub=None)), 'claim "sub" not found in token'),
    ],
)
def test_refusals_are_400s_with_vaults_text(
    server: RunningServer,
    root: httpx.Client,
    mount: str,
    idp: JWKSServer,
    make: Callable[[], str],
    message: str,
) -> None:
    # Signed when the test runs: a token signed at collection may have expired by then.
    token = make()
    _configure(root, mount, idp, bound_issuer="https://issuer.example")
    response = _login(server, mount, token)
    assert (response.status_code, response.json()) == (400, {"errors": [message]})
    assert token not in server.log.read_text(errors="replace")


def test_role_errors_over_http(
    server: RunningServer, root: httpx.Client, mount: str, idp: JWKSServer
) -> None:
    _configure(root, mount, idp)
    token = RSA.sign(claims(aud="api"))
    assert _login(server, mount, token, role="nope").json() == {"errors": ['role "nope" could not be found']}
    with _anonymous(server) as client:
        assert client.post(f"/v1/auth/{mount}/login", json={"jwt": token}).json() == {
            "errors": ["missing role"]
        }
        assert client.post(f"/v1/auth/{mount}/login", json={"role": "app"}).json() == {
            "errors": ["missing token"]
        }
    root.post(
        f"/v1/auth/{mount}/role/web",
        json={"user_claim": "sub", "allowed_redirect_uris": "http://localhost/cb"},
    )
    response = _login(server, mount, token, role="web")
    assert (response.status_code, response.json()) == (
        400,
        {"errors": ["role with oidc role_type is not allowed"]},
    )


def test_config_fetches_the_keys_and_refuses_unreachable_sources(root: httpx.Client, mount: str) -> None:
    response = root.post(f"/v1/auth/{mount}/config", json={"jwks_url": "http://127.0.0.1:1/jwks"})
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith('error checking jwks URL: Get "http://127.0.0.1:1/jwks": ')
    response = root.post(f"/v1/auth/{mount}/config", json={"oidc_discovery_url": "http://127.0.0.1:1"})
    assert response.status_code == 400
    assert response.json()["errors"][0].startswith("error checking oidc discovery URL: ")
    assert root.get(f"/v1/auth/{mount}/config").status_code == 404


def test_oidc_discovery_on_an_oidc_typed_mount(
    server: RunningServer, root: httpx.Client, idp: JWKSServer
) -> None:
    path = f"oidc-{uuid.uuid4().hex[:8]}"
    assert root.post(f"/v1/sys/auth/{path}", json={"type": "oidc"}).status_code == 204
    try:
        config = {"oidc_discovery_url": idp.url, "bound_issuer": idp.url}
        assert root.post(f"/v1/auth/{path}/config", json=config).status_code == 204
        read = root.get(f"/v1/auth/{path}/config").json()["data"]
        assert (read["oidc_discovery_url"], read["status"]) == (idp.url, "valid")
        role = {"role_type": "jwt", "user_claim": "email", "bound_subject": "alice"}
        assert root.post(f"/v1/auth/{path}/role/dev", json=role).status_code == 204
        response = _login(server, path, EC.sign(claims(issuer=idp.url, email="a@example.com")), role="dev")
        assert response.status_code == 200, response.text
        assert response.json()["auth"]["metadata"] == {"role": "dev"}
        with _anonymous(server) as client:
            refused = client.post(f"/v1/auth/{path}/oidc/auth_url", json={"role": "dev", "redirect_uri": "x"})
        assert refused.status_code == 400
        assert refused.json() == {"errors": ["OIDC login is not configured for this mount"]}
    finally:
        root.delete(f"/v1/sys/auth/{path}")


def test_a_kubernetes_service_account_logs_in(server: RunningServer, root: httpx.Client, mount: str) -> None:
    with jwks_server(RSA) as cluster:
        config = {
            "jwks_url": cluster.jwks_url,
            "bound_issuer": "https://kubernetes.default.svc.cluster.local",
        }
        assert root.post(f"/v1/auth/{mount}/config", json=config).status_code == 204
        role = {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": "strongroom",
            "bound_subject": "system:serviceaccount:apps:billing",
            "bound_claims": {"/kubernetes.io/namespace": "apps"},
            "claim_mappings": {"/kubernetes.io/serviceaccount/name": "service_account"},
            "token_policies": "billing",
        }
        assert root.post(f"/v1/auth/{mount}/role/billing", json=role).status_code == 204
        response = _login(server, mount, RSA.sign(kubernetes_claims()), role="billing")
        assert response.status_code == 200, response.text
        auth = response.json()["auth"]
        assert (auth["policies"], auth["metadata"]) == (
            ["billing", "default"],
            {"service_account": "billing", "role": "billing"},
        )
        other = _login(server, mount, RSA.sign(kubernetes_claims(namespace="web")), role="billing")
        assert other.json() == {"errors": ["error validating token: invalid subject (sub) claim"]}
