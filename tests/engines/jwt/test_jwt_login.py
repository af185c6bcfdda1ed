"""auth/jwt/login through the in-process harness: every refusal with Vault's text (taken from an OpenBao 2.7
dev server), the Auth a good token earns, Kubernetes service-account tokens, and JWKS caching."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from tests.jwks import K8S_ISSUER, SigningKey, claims, ec_key, jwks_server, kubernetes_claims, rsa_key

from strongroom.builtin.auth.jwt.backend import jwt_factory
from strongroom.builtin.auth.jwt.keysets import MAX_KEY_AGE, MIN_REFETCH_INTERVAL
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Auth, LeaseOptions, LoginAlias
from strongroom.util.clock import ManualClock

RSA = rsa_key()
EC = ec_key()
STRANGER = rsa_key("stranger")
ISSUER = "https://issuer.example"
AUD_MISMATCH = (
    "error validating token: invalid audience (aud) claim: "
    "audience claim does not match any expected audience"
)


@pytest.fixture
async def harness() -> BackendHarness:
    h = await BackendHarness.create(jwt_factory, "jwt", mount_path="auth/jwt/")
    await h.write(
        "config", {"jwt_validation_pubkeys": [RSA.public_pem(), EC.public_pem()], "bound_issuer": ISSUER}
    )
    await h.write(
        "role/app",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": "api",
            "bound_claims": {"/org/team": ["blue", "red"], "env": "prod"},
            "claim_mappings": {"email": "mail", "/org/team": "team"},
            "token_policies": "app-read",
            "token_ttl": "1h",
        },
    )
    return h


def good(h: BackendHarness, **changes: Any) -> dict[str, Any]:
    base = claims(now=h.clock.now(), aud="api", email="a@example.com", org={"team": "blue"}, env="prod")
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


async def login(h: BackendHarness, token: str, role: str | None = "app") -> Auth:
    data = {"jwt": token} if role is None else {"role": role, "jwt": token}
    response = await h.write("login", data)
    assert response is not None
    assert response.auth is not None
    return response.auth


async def refused(h: BackendHarness, token: str, role: str = "app") -> str:
    with pytest.raises(InvalidRequestError) as caught:
        await h.write("login", {"role": role, "jwt": token})
    (message,) = caught.value.errors
    assert token not in message
    return message


async def test_a_good_token_earns_the_roles_auth(harness: BackendHarness) -> None:
    for key in (RSA, EC):
        auth = await login(harness, key.sign(good(harness)))
        assert auth == Auth(
            policies=("app-read",),
            token_policies=("app-read",),
            metadata={"mail": "a@example.com", "team": "blue", "role": "app"},
            display_name="alice",
            lease=LeaseOptions(ttl=3600, renewable=True),
            token_type="default",
            internal={"role": "app"},
            # The alias (the user claim) carries the claim mappings and the role, as in OpenBao.
            alias=LoginAlias(name="alice", metadata={"mail": "a@example.com", "team": "blue", "role": "app"}),
        )
        assert auth.client_token == ""


async def test_default_role_and_role_errors(harness: BackendHarness) -> None:
    token = RSA.sign(good(harness))
    with pytest.raises(InvalidRequestError, match=r"^missing role$"):
        await login(harness, token, role=None)
    await harness.write(
        "config",
        {"jwt_validation_pubkeys": [RSA.public_pem()], "bound_issuer": ISSUER, "default_role": "app"},
    )
    assert (await login(harness, token, role=None)).metadata["role"] == "app"
    assert await refused(harness, token, role="nope") == 'role "nope" could not be found'
    with pytest.raises(InvalidRequestError, match=r"^missing token$"):
        await harness.write("login", {"role": "app"})


async def test_login_before_config(harness: BackendHarness) -> None:
    await harness.storage.delete("config")
    assert await refused(harness, RSA.sign(good(harness))) == "could not load configuration"


async def test_oidc_roles_cannot_log_in_with_a_jwt(harness: BackendHarness) -> None:
    await harness.write("role/web", {"user_claim": "sub", "allowed_redirect_uris": "http://localhost/cb"})
    assert (
        await refused(harness, RSA.sign(good(harness)), role="web")
        == "role with oidc role_type is not allowed"
    )


async def test_auth_url_needs_an_oidc_client_config(harness: BackendHarness) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("oidc/auth_url", {"role": "web", "redirect_uri": "http://localhost/cb"})
    assert caught.value.errors == ("OIDC login is not configured for this mount",)


@pytest.mark.parametrize(
    ("offsets", "message"),
    [
        ({"exp": -100}, "invalid expiration time (exp) claim: token is expired"),
        ({"nbf": 100}, "invalid not before (nbf) claim: token not yet valid"),
        ({"iat": 300, "nbf": 0}, "invalid issued at (iat) claim: token issued in the future"),
    ],
)
async def test_time_claims_outside_the_default_clock_skew(
    harness: BackendHarness, offsets: dict[str, int], message: str
) -> None:
    now = int(harness.clock.now())
    token = RSA.sign(good(harness, **{name: now + offset for name, offset in offsets.items()}))
    assert await refused(harness, token) == f"error validating token: {message}"


async def test_time_claims_within_the_default_clock_skew_pass(harness: BackendHarness) -> None:
    now = int(harness.clock.now())
    await login(harness, RSA.sign(good(harness, exp=now - 30)))
    await login(harness, RSA.sign(good(harness, nbf=now + 30, iat=now + 30)))


async def test_a_token_without_time_claims_is_refused(harness: BackendHarness) -> None:
    token = RSA.sign(good(harness, exp=None, nbf=None, iat=None))
    assert await refused(harness, token) == (
        "error validating token: no issued at (iat), not before (nbf), or expiration time (exp) "
        "claims in token"
    )


async def test_leeways(harness: BackendHarness) -> None:
    await harness.write(
        "role/strict",
        {"role_type": "jwt", "user_claim": "sub", "bound_subject": "alice", "clock_skew_leeway": -1},
    )
    now = int(harness.clock.now())
    expired = RSA.sign(claims(now=now, exp=now - 5))
    assert await refused(harness, expired, role="strict") == (
        "error validating token: invalid expiration time (exp) claim: token is expired"
    )
    # Without exp, a token lives expiration_leeway (default 150s) past its iat.
    undated = {"iss": ISSUER, "sub": "alice"}
    await login(harness, RSA.sign({**undated, "iat": now - 140}), role="strict")
    assert "token is expired" in await refused(
        harness, RSA.sign({**undated, "iat": now - 160}), role="strict"
    )
    await harness.write("role/strict", {"role_type": "jwt", "expiration_leeway": "5m"})
    await login(harness, RSA.sign({**undated, "iat": now - 290}), role="strict")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"aud": "other"},
            AUD_MISMATCH,
        ),
        (
            {"aud": None},
            AUD_MISMATCH,
        ),
        ({"iss": "https://evil.example"}, "error validating token: invalid issuer (iss) claim"),
        (
            {"env": "dev"},
            'error validating claims: claim "env" does not match any associated bound claim values',
        ),
        ({"env": None}, 'error validating claims: claim "env" is missing'),
        (
            {"org": {"team": "green"}},
            'error validating claims: claim "/org/team" does not match any associated bound claim values',
        ),
        ({"sub": None}, 'claim "sub" not found in token'),
        (
            {"sub": 5},
            "error validating token: json: cannot unmarshal number into Go struct field Claims.sub "
            "of type string",
        ),
        ({"email": 5}, "error converting claim 'email' to string"),
    ],
)
async def test_claim_refusals(harness: BackendHarness, changes: dict[str, Any], message: str) -> None:
    assert await refused(harness, RSA.sign(good(harness, **changes))) == message


async def test_subject_binding_and_audience_presence(harness: BackendHarness) -> None:
    await harness.write("role/bob", {"role_type": "jwt", "user_claim": "sub", "bound_subject": "bob"})
    assert await refused(harness, RSA.sign(good(harness, aud=None)), role="bob") == (
        "error validating token: invalid subject (sub) claim"
    )
    assert await refused(harness, RSA.sign(good(harness, sub="bob")), role="bob") == (
        "audience claim found in JWT but no audiences bound to the role"
    )
    assert (
        await login(harness, RSA.sign(good(harness, sub="bob", aud=None)), role="bob")
    ).display_name == "bob"


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (STRANGER.sign({"sub": "alice"}), "no known key successfully validated the token signature"),
        (
            jwt.encode({"sub": "alice"}, None, algorithm="none"),
            "no known key successfully validated the token signature",
        ),
        (
            jwt.encode({"sub": "alice"}, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256"),
            "no known key successfully validated the token signature",
        ),
        ("garbage", "go-jose/go-jose: compact JWS format must have three parts"),
    ],
)
async def test_signature_refusals(harness: BackendHarness, token: str, message: str) -> None:
    assert (
        await refused(harness, token) == f"error validating token: error verifying token signature: {message}"
    )


async def test_an_algorithm_outside_jwt_supported_algs_is_refused(harness: BackendHarness) -> None:
    await harness.write(
        "config",
        {"jwt_validation_pubkeys": [RSA.public_pem()], "bound_issuer": ISSUER, "jwt_supported_algs": "RS256"},
    )
    ps256 = SigningKey(RSA.kid, "PS256", RSA.private)
    assert await refused(harness, ps256.sign(good(harness))) == (
        "error validating token: invalid algorithm (alg) header parameter: "
        "token signed with unexpected algorithm"
    )


async def test_glob_and_typed_bound_claims(harness: BackendHarness) -> None:
    await harness.write(
        "role/glob",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_claims_type": "glob",
            "bound_claims": {"email": "*@corp.*"},
        },
    )
    await login(harness, RSA.sign(good(harness, aud=None, email="a@corp.example")), role="glob")
    assert "does not match" in await refused(
        harness, RSA.sign(good(harness, aud=None, email="a@x.io")), role="glob"
    )
    await harness.write(
        "role/typed", {"role_type": "jwt", "user_claim": "sub", "bound_claims": {"n": 5, "admin": True}}
    )
    await login(harness, RSA.sign(good(harness, aud=None, n=5, admin=True)), role="typed")
    for changes in ({"n": "5", "admin": True}, {"n": 5, "admin": "true"}):
        assert "does not match" in await refused(
            harness, RSA.sign(good(harness, aud=None, **changes)), role="typed"
        )


async def test_groups_claim_must_be_present(harness: BackendHarness) -> None:
    await harness.write(
        "role/groups",
        {"role_type": "jwt", "user_claim": "sub", "bound_subject": "alice", "groups_claim": "groups"},
    )
    assert await refused(harness, RSA.sign(good(harness, aud=None)), role="groups") == (
        'failed to fetch groups: "groups" claim not found in token'
    )
    await login(harness, RSA.sign(good(harness, aud=None, groups=["a", "b"])), role="groups")


async def test_bound_cidrs_are_checked_at_login(harness: BackendHarness) -> None:
    await harness.write(
        "role/net", {"role_type": "jwt", "user_claim": "sub", "token_bound_cidrs": "10.0.0.0/8"}
    )
    with pytest.raises(PermissionDeniedError):
        await harness.write("login", {"role": "net", "jwt": RSA.sign(good(harness, aud=None))})


async def test_a_kubernetes_service_account_token_logs_in(harness: BackendHarness) -> None:
    await harness.write("config", {"jwt_validation_pubkeys": [RSA.public_pem()], "bound_issuer": K8S_ISSUER})
    await harness.write(
        "role/billing",
        {
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": "strongroom",
            "bound_subject": "system:serviceaccount:apps:billing",
            "bound_claims": {"/kubernetes.io/namespace": "apps"},
            "claim_mappings": {
                "/kubernetes.io/serviceaccount/name": "service_account",
                "/kubernetes.io/pod/name": "pod",
            },
            "token_policies": "billing",
        },
    )
    now = harness.clock.now()
    auth = await login(harness, RSA.sign(kubernetes_claims(now=now)), role="billing")
    assert (auth.display_name, auth.policies) == ("system:serviceaccount:apps:billing", ("billing",))
    assert auth.metadata == {"service_account": "billing", "pod": "billing-7d9f8", "role": "billing"}
    other = RSA.sign(kubernetes_claims(namespace="web", account="billing", now=now))
    assert (
        await refused(harness, other, role="billing") == "error validating token: invalid subject (sub) claim"
    )
    await harness.write("role/billing", {"role_type": "jwt", "bound_subject": ""})
    assert await refused(harness, other, role="billing") == (
        'error validating claims: claim "/kubernetes.io/namespace" '
        "does not match any associated bound claim values"
    )


async def test_jwks_is_cached_and_refetched_on_an_unknown_key_at_a_bounded_rate() -> None:
    clock = ManualClock()
    h = await BackendHarness.create(jwt_factory, "jwt", clock=clock, mount_path="auth/jwt/")
    fresh = rsa_key("fresh")
    with jwks_server(RSA) as served:
        await h.write("config", {"jwks_url": served.jwks_url})
        await h.write("role/r", {"role_type": "jwt", "user_claim": "sub", "bound_subject": "alice"})
        served.jwks_fetches = 0
        for _ in range(3):
            await login(h, RSA.sign(claims(now=clock.now())), role="r")
        assert served.jwks_fetches == 1
        served.keys.append(fresh)
        assert await refused(h, fresh.sign(claims(now=clock.now())), role="r") == (
            "error validating token: error verifying token signature: failed to verify id token signature"
        )
        assert served.jwks_fetches == 1
        clock.advance(MIN_REFETCH_INTERVAL)
        for _ in range(3):
            await refused(h, STRANGER.sign(claims(now=clock.now())), role="r")
        assert served.jwks_fetches == 2
        await login(h, fresh.sign(claims(now=clock.now())), role="r")
        served.keys.remove(RSA)
        clock.advance(MAX_KEY_AGE)
        assert "failed to verify id token signature" in await refused(
            h, RSA.sign(claims(now=clock.now())), role="r"
        )
        assert served.jwks_fetches == 3
        served.fail = True
        clock.advance(MAX_KEY_AGE)
        assert await refused(h, fresh.sign(claims(now=clock.now())), role="r") == (
            "error validating token: error verifying token signature: fetching keys oidc: get keys failed: "
            "500 Internal Server Error"
        )


async def test_jwks_refuses_symmetric_algorithms_before_looking_for_keys() -> None:
    h = await BackendHarness.create(jwt_factory, "jwt", mount_path="auth/jwt/")
    with jwks_server(RSA) as served:
        await h.write("config", {"jwks_url": served.jwks_url})
        await h.write("role/r", {"role_type": "jwt", "user_claim": "sub", "bound_subject": "alice"})
        token = jwt.encode({"sub": "alice"}, "a-shared-secret-of-at-least-32-bytes", algorithm="HS256")
        message = await refused(h, token, role="r")
    assert message.startswith(
        "error validating token: error verifying token signature: oidc: malformed jwt: "
        'unexpected signature algorithm "HS256"; expected ["RS256"'
    )


async def test_discovery_that_breaks_after_config_fails_logins_clearly() -> None:
    h = await BackendHarness.create(jwt_factory, "jwt", mount_path="auth/jwt/")
    with jwks_server(EC) as served:
        await h.write("config", {"oidc_discovery_url": served.url, "bound_issuer": served.url})
        await h.write("role/r", {"role_type": "jwt", "user_claim": "sub", "bound_subject": "alice"})
        await login(h, EC.sign(claims(issuer=served.url, now=h.clock.now())), role="r")
        await h.write("config", {"oidc_discovery_url": served.url, "bound_issuer": ISSUER})
        served.fail = True
        message = await refused(h, EC.sign(claims(now=h.clock.now())), role="r")
    assert message == "error configuring token validator: 500 Internal Server Error"
