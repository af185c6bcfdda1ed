"""`login`: a signed JWT and a role in, an Auth out (the core issues the token). The OIDC browser login
(paths_oidc) ends in the same `login_auth`.

Layer: builtin. Imports framework, logical and the jwt package's modules.
Order of checks and error texts follow Vault's jwt auth: config, role, role type, token present, bound
CIDRs, key set, signature/algorithm/iss/sub/aud/time claims, audience presence, user claim, claim mappings,
groups claim, bound claims.

Invariant: the JWT never appears in an error message, a log line, or the response.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.builtin.auth.jwt.claims import (
    ClaimError,
    extract_metadata,
    get_claim,
    group_names,
    user_name,
    validate_bound_claims,
)
from strongroom.builtin.auth.jwt.keysets import FetchError
from strongroom.builtin.auth.jwt.models import JWTRole, load_config, load_role
from strongroom.builtin.auth.jwt.source import KeySource
from strongroom.builtin.auth.jwt.validator import Expected, TokenError, validate
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import address_allowed
from strongroom.logical import Auth, LoginAlias, Operation, Request, Response

LOGIN_FIELDS = {
    "role": Field(FieldType.LOWERCASE_STRING, "The role to log in against."),
    "jwt": Field(FieldType.STRING, "The signed JWT to validate."),
}


def expected_for(role: JWTRole, issuer: str, algorithms: tuple[str, ...]) -> Expected:
    """What a token must assert to log in against `role`."""
    return Expected(
        issuer=issuer,
        subject=role.bound_subject,
        audiences=role.bound_audiences or (),
        algorithms=algorithms,
        not_before_leeway=role.not_before_leeway,
        expiration_leeway=role.expiration_leeway,
        clock_skew_leeway=role.clock_skew_leeway,
    )


def login_auth(
    claims: dict[str, Any], role: JWTRole, role_name: str, extra_metadata: Mapping[str, str] | None = None
) -> Auth:
    """The Auth a login with verified `claims` gets under `role`: user claim, claim mappings, groups
    claim and bound claims as Vault reads them (ClaimError with Vault's whole text otherwise). The
    entity and the external groups come from the core's one LoginAlias mechanism."""
    name = user_name(claims, role.user_claim, json_pointer=role.user_claim_json_pointer)
    metadata = extract_metadata(claims, role.claim_mappings or {})
    groups = tuple(group_names(claims, role.groups_claim)) if role.groups_claim else ()
    try:
        validate_bound_claims(role.bound_claims_type == "glob", role.bound_claims or {}, claims)
    except ClaimError as exc:
        raise ClaimError(f"error validating claims: {exc}") from None
    # As OpenBao: the alias and the token carry the claim mappings and the role; the token the
    # oauth2_metadata too.
    metadata["role"] = role_name
    alias = LoginAlias(name=name, metadata=dict(metadata))
    metadata.update(extra_metadata or {})
    return role.token.to_auth(
        display_name=name, metadata=metadata, internal={"role": role_name}, alias=alias, group_aliases=groups
    )


async def login(source: KeySource, request: Request, fields: FieldData) -> Response | None:
    assert request.storage is not None
    config = await load_config(request.storage)
    if config is None:
        raise InvalidRequestError("could not load configuration")
    role_name: str = fields.get("role") or config.default_role
    if not role_name:
        raise InvalidRequestError("missing role")
    role = await load_role(request.storage, role_name)
    if role is None:
        raise InvalidRequestError(f'role "{role_name}" could not be found')
    if role.role_type == "oidc":
        raise InvalidRequestError("role with oidc role_type is not allowed")
    token: str = fields.get("jwt")
    if not token:
        raise InvalidRequestError("missing token")
    if role.token.bound_cidrs and not address_allowed(
        request.connection.remote_address, role.token.bound_cidrs
    ):
        raise PermissionDeniedError()
    try:
        key_set = await source.key_set(config)
    except (FetchError, ValueError) as exc:
        raise InvalidRequestError(f"error configuring token validator: {exc}") from None
    expected = expected_for(role, config.bound_issuer, config.jwt_supported_algs)
    try:
        claims = await validate(token, key_set, expected, source.clock.now())
    except TokenError as exc:
        raise InvalidRequestError(f"error validating token: {exc}") from None
    if get_claim(claims, "aud") and not role.bound_audiences:
        raise InvalidRequestError("audience claim found in JWT but no audiences bound to the role")
    try:
        return Response(auth=login_auth(claims, role, role_name))
    except ClaimError as exc:
        raise InvalidRequestError(str(exc)) from None


def paths(source: KeySource) -> list[Path]:
    """The `login` declaration."""

    async def handle_login(request: Request, fields: FieldData) -> Response | None:
        return await login(source, request, fields)

    return [
        Path(
            "login",
            fields=LOGIN_FIELDS,
            operations={Operation.UPDATE: handle_login},
            synopsis="Authenticates to OpenBao using a JWT (or OIDC) token.",
            description="Authenticates JWTs.",
        ),
    ]
