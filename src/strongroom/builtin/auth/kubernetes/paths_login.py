"""`login`: a role and a service-account JWT in, an Auth out (the core issues the token and finds the entity
behind the alias).

Layer: builtin. Imports framework, logical, the jwt package's validator and this package's modules.
Order of checks and texts follow Vault's kubernetes auth: role and jwt present, role exists, bound CIDRs,
config, the JWT parsed (its signature checked only when pem_keys are configured; issuer when configured and
not disabled; audience when the role names one), service account name and namespace bound (globs; or the
namespace's labels matching the role's selector), then the TokenReview, whose answer must name the same
account. A refusal after the role is found is a 403.

Invariant: the JWT never appears in an error message, a log line, or the response.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from strongroom.builtin.auth.jwt.validator import (
    Expected,
    SignatureError,
    StaticKeySet,
    TokenError,
    check_claims,
    parse_compact,
    parse_public_key_pem,
    payload_claims,
)
from strongroom.builtin.auth.kubernetes.accounts import (
    ServiceAccount,
    matches_any,
    parse_selector,
    selector_matches,
)
from strongroom.builtin.auth.kubernetes.models import (
    ALIAS_SOURCE_NAME,
    KubernetesConfig,
    KubernetesRole,
    load_config,
    load_role,
)
from strongroom.builtin.auth.kubernetes.pod import PodFiles
from strongroom.builtin.auth.kubernetes.review import KubernetesAPI, ReviewError, check_review
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import address_allowed
from strongroom.logical import LoginAlias, Operation, Request, Response
from strongroom.util.clock import Clock

ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
"""What a service-account JWT may be signed with (RFC 7518 section 3, as Vault's plugin allows)."""

FIELDS = {
    "role": Field(
        FieldType.STRING,
        "Name of the role against which the login is being attempted. This field is required",
    ),
    "jwt": Field(
        FieldType.STRING, "A signed JWT for authenticating a service account. This field is required."
    ),
}


async def _claims(token: str, config: KubernetesConfig, role: KubernetesRole, now: float) -> dict[str, Any]:
    """The JWT's claims after the local checks; PermissionDeniedError (with Vault's text where it gives
    one) when they fail. Without pem_keys the signature is left to the TokenReview."""
    claims: dict[str, Any] | None
    try:
        # As go-jose's ParseSigned: an algorithm outside the allowed set fails like a bad signature.
        if parse_compact(token).alg not in ALGORITHMS:
            raise SignatureError("unexpected signature algorithm")
        if config.pem_keys:
            claims = await StaticKeySet([parse_public_key_pem(p) for p in config.pem_keys]).verify(token)
        else:
            claims = payload_claims(_unverified_payload(token))
    except (SignatureError, ValueError):
        claims = None
    if claims is None:
        raise PermissionDeniedError()
    expected = Expected(
        issuer=config.issuer if not config.disable_iss_validation else "",
        audiences=(role.audience,) if role.audience else (),
    )
    # Legacy secret-based tokens carry no times (cap's ValidateAllowMissingIatNbfExp): judge them as if
    # issued now, so only iss and aud are checked.
    timed = any(claims.get(name) is not None for name in ("exp", "nbf", "iat"))
    try:
        check_claims(claims if timed else {**claims, "iat": int(now)}, expected, now)
    except TokenError as exc:
        raise PermissionDeniedError(str(exc)) from None
    return claims


def _unverified_payload(token: str) -> bytes:
    part = token.split(".")[1]
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except binascii.Error:
        raise SignatureError("illegal base64 data in JWS payload") from None


async def _namespace_allowed(
    api: KubernetesAPI, config: KubernetesConfig, role: KubernetesRole, namespace: str
) -> None:
    if matches_any(role.bound_service_account_namespaces or (), namespace):
        return
    reason = ""
    if role.bound_service_account_namespace_selector:
        try:
            labels = await api.namespace_labels(namespace, config.token_reviewer_jwt)
            selector = parse_selector(role.bound_service_account_namespace_selector)
            if selector_matches(selector, labels):
                return
        except (ReviewError, ValueError) as exc:
            reason = f" err={exc}"
    raise PermissionDeniedError(f"namespace not authorized{reason}")


def alias_name(role: KubernetesRole, account: ServiceAccount) -> str:
    """The entity alias a login names: the account's UID, or "<namespace>/<name>"."""
    if role.alias_name_source == ALIAS_SOURCE_NAME:
        if not account.namespace or not account.name:
            raise InvalidRequestError("service account namespace and name must be set")
        return f"{account.namespace}/{account.name}"
    if not account.uid:
        raise InvalidRequestError("could not parse UID from claims")
    return account.uid


async def login(clock: Clock, pod: PodFiles, request: Request, fields: FieldData) -> Response | None:
    assert request.storage is not None
    role_name: str = fields.get("role")
    if not role_name:
        raise InvalidRequestError("missing role")
    token: str = fields.get("jwt")
    if not token:
        raise InvalidRequestError("missing jwt")
    role = await load_role(request.storage, role_name.lower())
    if role is None:
        raise InvalidRequestError(f'invalid role name "{role_name}"')
    if role.token.bound_cidrs and not address_allowed(
        request.connection.remote_address, role.token.bound_cidrs
    ):
        raise PermissionDeniedError()
    stored = await load_config(request.storage)
    if stored is None:
        raise InvalidRequestError("could not load backend configuration")
    config = pod.complete(stored)
    claims = await _claims(token, config, role, clock.now())
    account = ServiceAccount.from_claims(claims)
    if not matches_any(role.bound_service_account_names, account.name):
        raise PermissionDeniedError("service account name not authorized")
    api = KubernetesAPI(config.kubernetes_host, config.kubernetes_ca_cert)
    await _namespace_allowed(api, config, role, account.namespace)
    alias = alias_name(role, account)
    audiences = (role.audience,) if role.audience else account.audiences
    try:
        reviewed = await api.review(token, audiences, config.token_reviewer_jwt or token)
        check_review(account, reviewed)
    except ReviewError:
        raise PermissionDeniedError() from None
    metadata = account.metadata()
    auth = role.token.to_auth(
        display_name=f"{account.namespace}-{account.name}",
        metadata={**metadata, "role": role_name},
        internal={"role": role_name},
        alias=LoginAlias(name=alias, metadata=metadata),
    )
    return Response(auth=auth)


def paths(clock: Clock, pod: PodFiles) -> list[Path]:
    """The `login` declaration."""

    async def handle_login(request: Request, fields: FieldData) -> Response | None:
        return await login(clock, pod, request, fields)

    return [
        Path(
            "login",
            fields=FIELDS,
            operations={Operation.UPDATE: handle_login},
            synopsis="Authenticates Kubernetes service accounts with OpenBao.",
            description="Authenticate Kubernetes service accounts.",
        )
    ]
