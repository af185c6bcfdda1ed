"""`config`: where the jwt auth method gets its keys (exactly one of jwt_validation_pubkeys, jwks_url and
oidc_discovery_url), the issuer tokens must name, the default role and the accepted algorithms, and the
OIDC client (oidc_client_id and oidc_client_secret, with a discovery URL) of the browser login.
Invariant: the client secret is stored behind the barrier and never read back.

Layer: builtin. Imports framework, logical and the jwt package's modules. A remote key source is fetched on
write, so a wrong URL or CA is a 400 now rather than a failed login later (skip_jwks_validation turns that
into a warning, as in Vault).
"""

from __future__ import annotations

from strongroom.builtin.auth.jwt.keysets import FetchError, check_jwks, discover, tls_context
from strongroom.builtin.auth.jwt.models import JWTConfig, load_config, save_config
from strongroom.builtin.auth.jwt.source import KeySource
from strongroom.builtin.auth.jwt.validator import KNOWN_ALGS, parse_public_key_pem
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

SYNOPSIS = "Configures the JWT authentication backend."
DESCRIPTION = """
The JWT authentication backend validates JWTs (or OIDC) using the configured
credentials. If using OIDC Discovery, the URL must be provided, along
with (optionally) the CA cert to use for the connection. If performing JWT
validation locally, a set of public keys must be provided.
"""

PROVIDERS_NOT_SUPPORTED = ("azure", "gsuite", "ibmisam", "kubernetes", "secureauth")
"""OpenBao's custom providers (provider_config), which this server does not implement."""

FIELDS = {
    "oidc_discovery_url": Field(
        FieldType.STRING,
        "The base URL of the OIDC Discovery endpoint. "
        'Cannot be used with "jwks_url" or "jwt_validation_pubkeys".',
    ),
    "oidc_discovery_ca_pem": Field(
        FieldType.STRING,
        "The CA certificate or chain of certificates, in PEM format, for the OIDC Discovery URL.",
    ),
    "oidc_client_id": Field(FieldType.STRING, "The OAuth Client ID configured with your OIDC provider."),
    "oidc_client_secret": Field(
        FieldType.STRING, "The OAuth Client Secret configured with your OIDC provider."
    ),
    "oidc_response_mode": Field(FieldType.STRING, "The response mode to be used in the OAuth2 request."),
    "oidc_response_types": Field(FieldType.COMMA_STRING_LIST, "The response types to request."),
    "jwks_url": Field(
        FieldType.STRING,
        'JWKS URL to use to authenticate signatures. Cannot be used with "oidc_discovery_url" or '
        '"jwt_validation_pubkeys".',
    ),
    "jwks_ca_pem": Field(
        FieldType.STRING, "The CA certificate or chain of certificates, in PEM format, for the JWKS URL."
    ),
    "default_role": Field(
        FieldType.LOWERCASE_STRING, "The default role to use if none is provided during login."
    ),
    "jwt_validation_pubkeys": Field(
        FieldType.COMMA_STRING_LIST,
        "A list of PEM-encoded public keys to use to authenticate signatures locally. Cannot be used with "
        '"jwks_url" or "oidc_discovery_url".',
    ),
    "jwt_supported_algs": Field(FieldType.COMMA_STRING_LIST, "A list of supported signing algorithms."),
    "bound_issuer": Field(FieldType.STRING, "The value against which to match the 'iss' claim in a JWT."),
    "provider_config": Field(
        FieldType.MAP, "Provider-specific configuration (OpenBao's custom providers are not supported)."
    ),
    "override_allowed_server_names": Field(
        FieldType.COMMA_STRING_LIST, "Hostnames to accept in TLS validation (not supported)."
    ),
    "namespace_in_state": Field(FieldType.BOOL, "Pass namespace in the OIDC state parameter."),
    "skip_jwks_validation": Field(
        FieldType.BOOL, "Warn instead of failing when the JWKS or discovery URL cannot be reached now."
    ),
}


async def read_config(source: KeySource, request: Request) -> Response | None:
    assert request.storage is not None
    config = await load_config(request.storage)
    if config is None:
        return None
    data = config.view()
    try:
        await source.key_set(config)
    except (FetchError, ValueError) as exc:
        data["status"] = "invalid"
        return Response(data=data, warnings=(f"failed to construct JWK validator: {exc}",))
    data["status"] = "valid"
    return Response(data=data)


def _refuse_unsupported(fields: FieldData) -> None:
    if fields.get("override_allowed_server_names"):
        raise InvalidRequestError("override_allowed_server_names is not supported by this server")


def _check_provider_config(config: JWTConfig) -> None:
    """OpenBao's NewProviderConfig refusals; its named providers (Azure, G Suite...) are not implemented."""
    if not config.provider_config:
        return
    provider = config.provider_config.get("provider")
    if provider is None:
        raise InvalidRequestError("invalid provider_config: 'provider' field not found in provider_config")
    if provider in PROVIDERS_NOT_SUPPORTED:
        raise InvalidRequestError(
            f'invalid provider_config: provider "{provider}" is not supported by this server'
        )
    raise InvalidRequestError(f'invalid provider_config: provider "{provider}" not found in custom providers')


def _check_client(config: JWTConfig) -> None:
    """The OIDC client settings: both or neither of ID and secret, and a discovery URL to use them with."""
    if bool(config.oidc_client_id) != bool(config.oidc_client_secret):
        raise InvalidRequestError("both 'oidc_client_id' and 'oidc_client_secret' must be set for OIDC")
    if config.oidc_client_id and not config.oidc_discovery_url:
        raise InvalidRequestError("'oidc_discovery_url' must be set for OIDC")


async def _check_remote(config: JWTConfig, *, skip: bool) -> list[str]:
    """Fetch the configured remote source now; the warnings to give when `skip` lets a failure pass."""
    if config.oidc_discovery_url:
        if ".well-known" in config.oidc_discovery_url:
            raise InvalidRequestError("'oidc_discovery_url' contains '.well-known' component")
        try:
            await discover(config.oidc_discovery_url, config.oidc_discovery_ca_pem)
        except FetchError as exc:
            if not skip:
                raise InvalidRequestError(f"error checking oidc discovery URL: {exc}") from None
            return ["error checking oidc discovery URL"]
    elif config.jwks_url:
        try:
            tls_context(config.jwks_ca_pem)
        except FetchError:
            raise InvalidRequestError("error checking jwks_ca_pem") from None  # Vault logs the cause only
        try:
            await check_jwks(config.jwks_url, config.jwks_ca_pem)
        except FetchError as exc:
            if not skip:
                raise InvalidRequestError(f"error checking jwks URL: {exc}") from None
            return ["error checking jwks URL"]
    return []


def _validate_response_settings(config: JWTConfig) -> None:
    types = config.oidc_response_types
    if any(t not in ("code", "id_token") for t in types):
        raise InvalidRequestError(
            f"invalid response_types [{' '.join(types)}]. 'code' and 'id_token' are allowed"
        )
    mode = config.oidc_response_mode
    if mode in ("", "query"):
        if "id_token" in types:
            raise InvalidRequestError("query response_mode may not be used with an id_token response_type")
    elif mode != "form_post":
        raise InvalidRequestError(f'invalid response_mode: "{mode}"')


def _namespace_in_state(fields: FieldData, existing: JWTConfig | None) -> bool:
    """As given; else kept from the existing config; else true for a new one (Vault's default)."""
    value, given = fields.get_ok("namespace_in_state")
    if given:
        return bool(value)
    return True if existing is None else existing.namespace_in_state


async def write_config(source: KeySource, request: Request, fields: FieldData) -> Response | None:
    assert request.storage is not None
    _refuse_unsupported(fields)
    existing = await load_config(request.storage)
    config = JWTConfig(
        oidc_discovery_url=fields.get("oidc_discovery_url"),
        oidc_discovery_ca_pem=fields.get("oidc_discovery_ca_pem"),
        oidc_client_id=fields.get("oidc_client_id"),
        oidc_client_secret=fields.get("oidc_client_secret"),
        jwks_url=fields.get("jwks_url"),
        jwks_ca_pem=fields.get("jwks_ca_pem"),
        jwt_validation_pubkeys=tuple(fields.get("jwt_validation_pubkeys")),
        jwt_supported_algs=tuple(fields.get("jwt_supported_algs")),
        bound_issuer=fields.get("bound_issuer"),
        default_role=fields.get("default_role"),
        oidc_response_mode=fields.get("oidc_response_mode"),
        oidc_response_types=tuple(fields.get("oidc_response_types")),
        namespace_in_state=_namespace_in_state(fields, existing),
        provider_config=fields.get("provider_config"),
    )
    sources = sum(
        bool(s) for s in (config.oidc_discovery_url, config.jwt_validation_pubkeys, config.jwks_url)
    )
    if sources != 1:
        raise InvalidRequestError(
            "exactly one of 'jwt_validation_pubkeys', 'jwks_url', 'jwks_pairs', 'oidc_discovery_url', or "
            "'provider_config' must be set"
        )
    _check_client(config)
    for pem in config.jwt_validation_pubkeys:
        try:
            parse_public_key_pem(pem)
        except ValueError as exc:
            raise InvalidRequestError(f"error parsing public key: {exc}") from None
    warnings = await _check_remote(config, skip=fields.get("skip_jwks_validation"))
    for alg in config.jwt_supported_algs:
        if alg not in KNOWN_ALGS:
            raise InvalidRequestError(f'invalid jwt_supported_algs: unsupported signing algorithm "{alg}"')
    _validate_response_settings(config)
    _check_provider_config(config)
    await save_config(request.storage, config)
    source.reset()
    return Response(warnings=tuple(warnings)) if warnings else None


def paths(source: KeySource) -> list[Path]:
    """The `config` declaration."""

    async def read(request: Request, fields: FieldData) -> Response | None:
        return await read_config(source, request)

    async def write(request: Request, fields: FieldData) -> Response | None:
        return await write_config(source, request, fields)

    return [
        Path(
            "config",
            fields=FIELDS,
            operations={Operation.READ: read, Operation.UPDATE: write},
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
        )
    ]
