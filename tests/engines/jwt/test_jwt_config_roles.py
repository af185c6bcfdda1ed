"""auth/jwt config and roles through the in-process harness. Expected bodies and error texts were taken
from an OpenBao 2.7 dev server (`bao auth enable jwt`)."""

from __future__ import annotations

from typing import Any

import pytest
from tests.jwks import ec_key, jwks_server, rsa_key

from strongroom.builtin.auth.jwt.backend import jwt_factory
from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness

RSA = rsa_key()
EC = ec_key()


@pytest.fixture
async def harness() -> BackendHarness:
    return await BackendHarness.create(jwt_factory, "jwt", mount_path="auth/jwt/")


async def refused(harness: BackendHarness, path: str, data: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write(path, data)
    (message,) = caught.value.errors
    return message


async def test_config_with_static_keys_reads_back_as_vault_shows_it(harness: BackendHarness) -> None:
    written = await harness.write(
        "config",
        {
            "jwt_validation_pubkeys": [RSA.public_pem(), EC.public_pem()],
            "default_role": "Dev",
            "jwt_supported_algs": "RS256,ES256",
            "bound_issuer": "https://issuer.example",
        },
    )
    assert written is None
    read = await harness.read("config")
    assert read is not None
    assert read.data == {
        "bound_issuer": "https://issuer.example",
        "default_role": "dev",
        "jwks_ca_pem": "",
        "jwks_url": "",
        "jwt_supported_algs": ["RS256", "ES256"],
        # Vault trims the items of a comma-separated list, so the PEMs lose their final newline.
        "jwt_validation_pubkeys": [RSA.public_pem().strip(), EC.public_pem().strip()],
        "namespace_in_state": True,
        "oidc_client_id": "",
        "oidc_discovery_ca_pem": "",
        "oidc_discovery_url": "",
        "oidc_response_mode": "",
        "oidc_response_types": [],
        "override_allowed_server_names": [],
        "provider_config": {},
        "status": "valid",
    }


async def test_config_unset_reads_as_nothing(harness: BackendHarness) -> None:
    assert await harness.read("config") is None


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"jwks_url": "http://127.0.0.1:1/jwks", "jwt_validation_pubkeys": [RSA.public_pem()]},
        {"oidc_discovery_url": "http://127.0.0.1:1", "jwks_url": "http://127.0.0.1:1/jwks"},
    ],
)
async def test_config_needs_exactly_one_key_source(harness: BackendHarness, data: dict[str, Any]) -> None:
    assert await refused(harness, "config", data) == (
        "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs', 'oidc_discovery_url', or "
        "'provider_config' must be set"
    )


async def test_config_refuses_bad_keys_algorithms_and_unreachable_sources(harness: BackendHarness) -> None:
    assert await refused(harness, "config", {"jwt_validation_pubkeys": ["not a key"]}) == (
        "error parsing public key: data does not contain any valid public keys"
    )
    for alg in ("none", "HS256"):
        assert (
            await refused(
                harness, "config", {"jwt_validation_pubkeys": [RSA.public_pem()], "jwt_supported_algs": [alg]}
            )
            == f'invalid jwt_supported_algs: unsupported signing algorithm "{alg}"'
        )
    assert (await refused(harness, "config", {"jwks_url": "http://127.0.0.1:1/jwks"})).startswith(
        'error checking jwks URL: Get "http://127.0.0.1:1/jwks": '
    )
    assert (await refused(harness, "config", {"oidc_discovery_url": "http://127.0.0.1:1"})).startswith(
        'error checking oidc discovery URL: Get "http://127.0.0.1:1/.well-known/openid-configuration": '
    )
    assert await refused(
        harness, "config", {"oidc_discovery_url": "http://127.0.0.1:1/.well-known/openid-configuration"}
    ) == ("'oidc_discovery_url' contains '.well-known' component")
    assert await refused(harness, "config", {"jwks_url": "https://127.0.0.1:1/", "jwks_ca_pem": "junk"}) == (
        "error checking jwks_ca_pem"
    )
    assert await harness.read("config") is None


async def test_config_oidc_client_settings_need_each_other_and_discovery(harness: BackendHarness) -> None:
    keys = {"jwt_validation_pubkeys": [RSA.public_pem()]}
    assert await refused(harness, "config", {**keys, "oidc_client_id": "app", "oidc_client_secret": "s"}) == (
        "'oidc_discovery_url' must be set for OIDC"
    )
    for half in ({"oidc_client_id": "app"}, {"oidc_client_secret": "s"}):
        assert await refused(harness, "config", {**keys, **half}) == (
            "both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC"
        )
    assert await refused(harness, "config", {**keys, "provider_config": {"x": 1}}) == (
        "invalid provider_config: 'provider' field not found in provider_config"
    )
    assert await refused(harness, "config", {**keys, "provider_config": {"provider": "nope"}}) == (
        'invalid provider_config: provider "nope" not found in custom providers'
    )
    assert await refused(harness, "config", {**keys, "provider_config": {"provider": "azure"}}) == (
        'invalid provider_config: provider "azure" is not supported by this server'
    )


async def test_config_with_a_jwks_url_and_with_discovery(harness: BackendHarness) -> None:
    with jwks_server(RSA) as served:
        assert await harness.write("config", {"jwks_url": served.jwks_url}) is None
        assert served.jwks_fetches == 1
        assert await harness.write("config", {"oidc_discovery_url": served.url}) is None
        read = await harness.read("config")
        assert read is not None
        assert read.data is not None
        assert (read.data["oidc_discovery_url"], read.data["jwks_url"], read.data["status"]) == (
            served.url,
            "",
            "valid",
        )
        served.fail = True
        read = await harness.read("config")
    assert read is not None
    assert read.data is not None
    assert read.data["status"] == "valid"


async def test_discovery_must_name_the_configured_issuer(harness: BackendHarness) -> None:
    with jwks_server(RSA) as served:
        served.discovery_document = lambda: {"issuer": "https://other.example", "jwks_uri": served.jwks_url}  # type: ignore[method-assign]
        assert await refused(harness, "config", {"oidc_discovery_url": served.url}) == (
            "error checking oidc discovery URL: issuer did not match the returned issuer, "
            f'expected "{served.url}" got "https://other.example"'
        )


async def test_skip_jwks_validation_warns_instead(harness: BackendHarness) -> None:
    written = await harness.write(
        "config", {"jwks_url": "http://127.0.0.1:1/jwks", "skip_jwks_validation": True}
    )
    assert written is not None
    assert written.warnings == ("error checking jwks URL",)


JWT_ROLE = {"role_type": "jwt", "user_claim": "sub", "bound_audiences": "api"}


async def test_role_round_trip_matches_vault(harness: BackendHarness) -> None:
    assert (
        await harness.write(
            "role/Dev",
            {
                **JWT_ROLE,
                "bound_claims": {"/nested/team": ["blue", "red"], "grp": "x"},
                "claim_mappings": {"email": "mail", "/nested/team": "team"},
                "token_policies": "p1",
                "expiration_leeway": "5m",
                "clock_skew_leeway": -1,
            },
        )
        is None
    )
    read = await harness.read("role/dev")
    assert read is not None
    assert read.data == {
        "allowed_redirect_uris": None,
        "bound_audiences": ["api"],
        "bound_claims": {"/nested/team": ["blue", "red"], "grp": "x"},
        "bound_claims_type": "string",
        "bound_subject": "",
        "callback_mode": "client",
        "claim_mappings": {"/nested/team": "team", "email": "mail"},
        "clock_skew_leeway": -1,
        "expiration_leeway": 300,
        "groups_claim": "",
        "max_age": 0,
        "not_before_leeway": 0,
        "oauth2_metadata": None,
        "oidc_disable_confirmation": False,
        "oidc_scopes": None,
        "role_type": "jwt",
        "token_bound_cidrs": [],
        "token_explicit_max_ttl": 0,
        "token_max_ttl": 0,
        "token_no_default_policy": False,
        "token_num_uses": 0,
        "token_period": 0,
        "token_policies": ["p1"],
        "token_policies_template_claims": False,
        "token_ttl": 0,
        "token_type": "default",
        "user_claim": "sub",
        "user_claim_json_pointer": False,
        "verbose_oidc_logging": False,
    }
    await harness.write("role/other", {"role_type": "jwt", "user_claim": "sub", "bound_subject": "x"})
    listed = await harness.list("role")
    assert listed is not None
    assert listed.data == {"keys": ["dev", "other"]}
    assert await harness.delete("role/dev") is None
    assert await harness.read("role/dev") is None


async def test_role_update_keeps_what_it_does_not_name(harness: BackendHarness) -> None:
    await harness.write("role/r", {**JWT_ROLE, "token_policies": "a"})
    await harness.write("role/r", {"role_type": "jwt", "bound_subject": "alice"})
    read = await harness.read("role/r")
    assert read is not None
    assert read.data is not None
    assert (read.data["bound_audiences"], read.data["bound_subject"], read.data["token_policies"]) == (
        ["api"],
        "alice",
        ["a"],
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"user_claim": "sub"},
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
        ),
        ({"role_type": "jwt"}, "a user claim must be defined on the role"),
        (
            {"role_type": "jwt", "user_claim": "sub"},
            "must have at least one bound constraint when creating/updating a role",
        ),
        ({"role_type": "x", "user_claim": "sub"}, "invalid 'role_type': x"),
        ({**JWT_ROLE, "bound_claims_type": "regex"}, "invalid 'bound_claims_type': regex"),
        ({**JWT_ROLE, "bound_claims_type": "glob", "bound_claims": {"a": 1}}, "claim is not a string: 1"),
        (
            {**JWT_ROLE, "claim_mappings": {"x": "role"}},
            'metadata key "role" is reserved and may not be a mapping destination',
        ),
        (
            {**JWT_ROLE, "claim_mappings": {"x": "a", "y": "a"}},
            'multiple keys are mapped to metadata key "a"',
        ),
        ({**JWT_ROLE, "callback_mode": "x"}, "invalid 'callback_mode': x"),
        ({**JWT_ROLE, "oauth2_metadata": "password"}, "Unrecognized oauth2 metadata name password"),
    ],
)
async def test_role_refusals(harness: BackendHarness, data: dict[str, Any], message: str) -> None:
    assert await refused(harness, "role/r", data) == message
    assert await harness.read("role/r") is None


async def test_a_role_bound_only_by_cidrs_and_an_oidc_role_are_accepted(harness: BackendHarness) -> None:
    assert (
        await harness.write(
            "role/net", {"role_type": "jwt", "user_claim": "sub", "token_bound_cidrs": "10.0.0.0/8"}
        )
        is None
    )
    assert (
        await harness.write("role/web", {"user_claim": "sub", "allowed_redirect_uris": "http://localhost/cb"})
        is None
    )
    read = await harness.read("role/web")
    assert read is not None
    assert read.data is not None
    assert (read.data["role_type"], read.data["allowed_redirect_uris"]) == ("oidc", ["http://localhost/cb"])


async def test_verbose_oidc_logging_is_stored_with_vaults_warning(harness: BackendHarness) -> None:
    written = await harness.write("role/r", {**JWT_ROLE, "verbose_oidc_logging": True})
    assert written is not None
    assert written.warnings == (
        "verbose_oidc_logging has been enabled for this role. This is not recommended in production since "
        "sensitive information may be present in OIDC responses.",
    )
