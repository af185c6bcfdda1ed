"""The jwt auth method driven by real clients (hvac, the bao CLI) against strongroom, and the same script
sent to strongroom and to a real OpenBao, answers compared field by field."""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import hvac
import hvac.exceptions
import jwt as pyjwt
import pytest

from tests.interop.differential import Intended, Step, assert_alike, run
from tests.jwks import JWKSServer, claims, ec_key, jwks_server, kubernetes_claims, rsa_key
from tests.servers import RunningServer, bao_binary

RSA = rsa_key("interop-rsa")
EC = ec_key("interop-ec")
STRANGER = rsa_key("interop-stranger")


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def idp() -> Iterator[JWKSServer]:
    with jwks_server(RSA, EC) as served:
        yield served


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


@pytest.fixture
def jwt_mount(vault: hvac.Client) -> Iterator[str]:
    path = _name("jwt")
    vault.sys.enable_auth_method("jwt", path=path)
    yield path
    vault.sys.disable_auth_method(path)


def test_hvac_jwt_login_with_static_keys(server: RunningServer, vault: hvac.Client, jwt_mount: str) -> None:
    vault.auth.jwt.configure(
        jwt_validation_pubkeys=[RSA.public_pem(), EC.public_pem()],
        bound_issuer="https://issuer.example",
        path=jwt_mount,
    )
    vault.auth.jwt.create_role(
        name="app",
        user_claim="sub",
        allowed_redirect_uris=[],
        role_type="jwt",
        bound_audiences=["api"],
        token_policies=["app-read"],
        claim_mappings={"email": "mail"},
        path=jwt_mount,
    )
    role = vault.auth.jwt.read_role("app", path=jwt_mount)["data"]
    assert (role["bound_audiences"], role["token_policies"], role["role_type"]) == (
        ["api"],
        ["app-read"],
        "jwt",
    )
    user = hvac.Client(url=server.address)
    try:
        login = user.auth.jwt.jwt_login(
            role="app", jwt=EC.sign(claims(aud="api", email="a@x")), path=jwt_mount
        )
        assert login["auth"]["policies"] == ["app-read", "default"]
        assert login["auth"]["metadata"] == {"mail": "a@x", "role": "app"}
        assert user.is_authenticated()
        assert user.lookup_token()["data"]["display_name"] == f"{jwt_mount}-alice"
        expired = RSA.sign(claims(aud="api", lifetime=-300))
        with pytest.raises(hvac.exceptions.InvalidRequest) as caught:
            user.auth.jwt.jwt_login(role="app", jwt=expired, path=jwt_mount)
        assert caught.value.errors == [
            "error validating token: invalid expiration time (exp) claim: token is expired"
        ]
    finally:
        user.adapter.close()


def test_hvac_jwt_login_with_a_jwks_url(
    server: RunningServer, vault: hvac.Client, jwt_mount: str, idp: JWKSServer
) -> None:
    vault.auth.jwt.configure(jwks_url=idp.jwks_url, path=jwt_mount)
    vault.auth.jwt.create_role(
        name="ci", user_claim="sub", allowed_redirect_uris=[], bound_subject="alice", path=jwt_mount
    )
    user = hvac.Client(url=server.address)
    try:
        assert user.auth.jwt.jwt_login(role="ci", jwt=RSA.sign(claims()), path=jwt_mount)["auth"][
            "client_token"
        ]
        with pytest.raises(hvac.exceptions.InvalidRequest) as caught:
            user.auth.jwt.jwt_login(role="ci", jwt=STRANGER.sign(claims()), path=jwt_mount)
        assert caught.value.errors == [
            "error validating token: error verifying token signature: failed to verify id token signature"
        ]
    finally:
        user.adapter.close()


def _bao(
    server: RunningServer, home: Path, *args: str, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(home), "BAO_ADDR": server.address, "BAO_TOKEN": token or server.root_token}
    return subprocess.run(
        [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_bao_cli_configures_and_logs_in(server: RunningServer, tmp_path: Path, idp: JWKSServer) -> None:
    mount = _name("jwt")
    assert _bao(server, tmp_path, "auth", "enable", f"-path={mount}", "jwt").returncode == 0
    try:
        assert (
            _bao(
                server, tmp_path, "write", f"auth/{mount}/config", f"oidc_discovery_url={idp.url}"
            ).returncode
            == 0
        )
        done = _bao(
            server,
            tmp_path,
            "write",
            f"auth/{mount}/role/billing",
            "role_type=jwt",
            "user_claim=sub",
            "bound_audiences=strongroom",
            "bound_claims_type=glob",
            'bound_claims={"/kubernetes.io/namespace": "ap*"}',
            "token_policies=billing",
        )
        assert done.returncode == 0, done.stderr
        listed = _bao(server, tmp_path, "list", "-format=json", f"auth/{mount}/role")
        assert json.loads(listed.stdout) == ["billing"]
        token = RSA.sign(kubernetes_claims())
        login = _bao(
            server, tmp_path, "write", "-format=json", f"auth/{mount}/login", "role=billing", f"jwt={token}"
        )
        assert login.returncode == 0, login.stderr
        auth = json.loads(login.stdout)["auth"]
        assert (auth["policies"], auth["metadata"]) == (["billing", "default"], {"role": "billing"})
        who = _bao(server, tmp_path, "token", "lookup", "-format=json", token=auth["client_token"])
        assert json.loads(who.stdout)["data"]["display_name"] == f"{mount}-system:serviceaccount:apps:billing"
        wrong = RSA.sign(kubernetes_claims(namespace="web"))
        refused = _bao(server, tmp_path, "write", f"auth/{mount}/login", "role=billing", f"jwt={wrong}")
        assert refused.returncode == 2
        assert "Code: 400" in refused.stderr
        assert (
            'claim "/kubernetes.io/namespace" does not match any associated bound claim values'
            in refused.stderr
        )
        assert wrong not in refused.stderr
    finally:
        _bao(server, tmp_path, "auth", "disable", mount)


# Differences from OpenBao 2.7 kept on purpose, with the reason.
INTENDED = (
    Intended(
        "read role*", "data.token_strictly_bind_ip", "strongroom's token fields have no strictly-bind-ip yet"
    ),
    Intended("config with an unreachable jwks_url", "errors[0]", "strongroom says why the URL failed"),
    Intended(
        "config with an unreachable discovery URL",
        "errors[0]",
        "strongroom names the error as Python reports it",
    ),
)


def _steps(mount: str, idp: JWKSServer) -> list[Step]:
    now = int(time.time())
    base = f"/v1/auth/{mount}"
    app = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": "api", "token_policies": "p1"}
    good = claims(aud="api", team="blue")

    def login(name: str, token: str, role: str = "app") -> Step:
        return Step(name, "POST", f"{base}/login", {"role": role, "jwt": token}, token="")

    return [
        Step("enable jwt", "POST", f"/v1/sys/auth/{mount}", {"type": "jwt"}),
        Step("config without a key source", "POST", f"{base}/config", {}),
        Step(
            "config with an unreachable jwks_url",
            "POST",
            f"{base}/config",
            {"jwks_url": "http://127.0.0.1:1/k"},
        ),
        Step(
            "config with an unreachable discovery URL",
            "POST",
            f"{base}/config",
            {"oidc_discovery_url": "http://127.0.0.1:1"},
        ),
        Step(
            "config with a bad algorithm",
            "POST",
            f"{base}/config",
            {"jwks_url": idp.jwks_url, "jwt_supported_algs": "HS256"},
        ),
        Step(
            "config",
            "POST",
            f"{base}/config",
            {"jwks_url": idp.jwks_url, "bound_issuer": "https://issuer.example"},
        ),
        Step("read config", "GET", f"{base}/config"),
        Step("role without a type", "POST", f"{base}/role/app", {"user_claim": "sub"}),
        Step("role without bindings", "POST", f"{base}/role/app", {"role_type": "jwt", "user_claim": "sub"}),
        Step("role", "POST", f"{base}/role/app", {**app, "bound_claims": {"team": ["blue", "red"]}}),
        Step("read role app", "GET", f"{base}/role/app"),
        Step("list roles", "LIST", f"{base}/role"),
        login("login", RSA.sign(good)),
        login("login with EC", EC.sign(good)),
        login("login unknown role", RSA.sign(good), role="nope"),
        login("login expired", RSA.sign({**good, "exp": now - 300})),
        login("login not yet valid", RSA.sign({**good, "nbf": now + 300})),
        login("login issued in the future", RSA.sign({**good, "iat": now + 300})),
        login("login wrong audience", RSA.sign({**good, "aud": "web"})),
        login("login wrong issuer", RSA.sign({**good, "iss": "https://evil.example"})),
        login("login unknown kid", STRANGER.sign(good)),
        login("login wrong claim", RSA.sign({**good, "team": "green"})),
        login("login missing claim", RSA.sign({k: v for k, v in good.items() if k != "team"})),
        login("login missing user claim", RSA.sign({k: v for k, v in good.items() if k != "sub"})),
        login("login with a malformed token", "not-a-jwt"),
        login(
            "login with HS256", pyjwt.encode(good, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256")
        ),
        login(
            "login without time claims",
            RSA.sign({k: v for k, v in good.items() if k not in ("exp", "nbf", "iat")}),
        ),
        Step("login without a token", "POST", f"{base}/login", {"role": "app"}, token=""),
        Step("login without a role", "POST", f"{base}/login", {"jwt": "x"}, token=""),
        Step(
            "role bob",
            "POST",
            f"{base}/role/bob",
            {"role_type": "jwt", "user_claim": "sub", "bound_subject": "bob"},
        ),
        login("login bob with an audience", RSA.sign({**good, "sub": "bob"}), role="bob"),
        login("login bob as alice", RSA.sign({k: v for k, v in good.items() if k != "aud"}), role="bob"),
        Step(
            "role web",
            "POST",
            f"{base}/role/web",
            {"user_claim": "sub", "allowed_redirect_uris": "http://l/cb"},
        ),
        login("login to an oidc role", RSA.sign(good), role="web"),
        Step("disable jwt", "DELETE", f"/v1/sys/auth/{mount}"),
    ]


def test_jwt_answers_as_openbao_does(server: RunningServer, bao: RunningServer, idp: JWKSServer) -> None:
    steps = _steps(_name("jwt"), idp)
    assert_alike(steps, run(server, steps), run(bao, steps), INTENDED)
