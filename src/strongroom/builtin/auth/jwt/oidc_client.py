"""The relying-party side of an OIDC browser login, as hashicorp/cap's oidc package does it for Vault: the
pending logins (state, nonce, PKCE verifier), the authorization URL, the code exchange at the provider's
token endpoint, the ID token's verification, and userinfo.

Layer: builtin. Imports httpx, stdlib, logical's Auth and the jwt package's keysets and validator; no
framework.

Invariant: a state is used once (taken out of the table when its callback arrives) and expires
REQUEST_TIMEOUT after auth_url made it; at most MAX_PENDING logins wait at a time, so unauthenticated
auth_url calls cannot grow memory without bound.
Invariant: an ID token is accepted only when a key of the provider's published key set verifies it, its
issuer is the discovered issuer, its audience holds the client ID, it is unexpired, and its nonce is the
one this login sent. Error messages never carry a token, a code or the client secret.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, quote_plus, urlencode

import httpx

from strongroom.builtin.auth.jwt.keysets import (
    FETCH_TIMEOUT,
    MAX_DOCUMENT_BYTES,
    Discovery,
    FetchError,
    tls_context,
)
from strongroom.builtin.auth.jwt.validator import KeySet, SignatureError, parse_compact
from strongroom.logical import Auth

REQUEST_TIMEOUT = 600.0
"""Seconds a login started by auth_url may take to come back to the callback (Vault's oidcRequestTimeout)."""
MAX_PENDING = 10_000
"""Logins that may wait for their callback at once."""
ID_TOKEN_LEEWAY = 300
"""Seconds of clock skew allowed on an ID token's nbf (go-oidc's allowance)."""
DEFAULT_ID_TOKEN_ALGS = ("RS256",)
"""cap's signing algorithms when jwt_supported_algs is empty."""


class FlowError(ValueError):
    """A step of the flow failed; the message is safe to show the client."""


@dataclass(frozen=True, slots=True)
class FlowRequest:
    """One login between auth_url and its callback."""

    state: str
    nonce: str
    role: str
    redirect_uri: str
    client_nonce: str
    code_verifier: str
    audiences: tuple[str, ...]
    max_age: int
    expires: float
    implicit: bool = False
    requester: str = ""
    """The address that asked for the auth_url (shown on a direct-mode login's confirmation page)."""
    # What a form_post delivered, kept until the callback's GET completes the login.
    code: str = field(default="", repr=False)
    id_token: str = field(default="", repr=False)
    auth: Auth | None = None
    """A direct-mode login's result, kept until the client polls for it."""


@dataclass(frozen=True, slots=True)
class Client:
    """The mount as the provider's client: its discovered endpoints and the config's credentials."""

    discovery: Discovery
    client_id: str
    client_secret: str = field(repr=False)
    ca_pem: str = ""
    algorithms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Tokens:
    """What the token endpoint answered (the access and refresh tokens may be empty)."""

    id_token: str = field(repr=False)
    access_token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)


class FlowRequests:
    """The logins waiting for their callback, by state."""

    def __init__(self) -> None:
        self._pending: dict[str, FlowRequest] = {}

    def _sweep(self, now: float) -> None:
        # Logins are kept in the order they started, so the expired ones are at the front.
        expired = []
        for state, request in self._pending.items():
            if request.expires > now:
                break
            expired.append(state)
        for state in expired:
            del self._pending[state]

    def start(
        self,
        *,
        role: str,
        redirect_uri: str,
        client_nonce: str,
        audiences: Sequence[str],
        max_age: int,
        implicit: bool,
        now: float,
        requester: str = "",
    ) -> FlowRequest:
        """A new login with a fresh state, nonce and (for the code flow) PKCE verifier."""
        self._sweep(now)
        if len(self._pending) >= MAX_PENDING:
            raise FlowError("too many OIDC logins are in progress; try again later")
        request = FlowRequest(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            role=role,
            redirect_uri=redirect_uri,
            client_nonce=client_nonce,
            code_verifier="" if implicit else secrets.token_urlsafe(48),
            audiences=tuple(audiences),
            max_age=max_age,
            expires=now + REQUEST_TIMEOUT,
            implicit=implicit,
            requester=requester,
        )
        self._pending[request.state] = request
        return request

    def peek(self, state: str, now: float) -> FlowRequest | None:
        """The unexpired login of `state`, left in the table."""
        self._sweep(now)
        return self._pending.get(state) if state else None

    def take(self, state: str, now: float) -> FlowRequest | None:
        """The unexpired login of `state`, removed: a state completes at most one login."""
        self._sweep(now)
        return self._pending.pop(state, None) if state else None

    def keep(self, request: FlowRequest, code: str, id_token: str) -> None:
        """Store what a form_post delivered (the code or ID token) with the pending login."""
        if request.state in self._pending:
            self._pending[request.state] = replace(request, code=code, id_token=id_token)

    def complete(self, request: FlowRequest, auth: Auth) -> None:
        """Keep a direct-mode login's result for the client's poll."""
        if request.state in self._pending:
            self._pending[request.state] = replace(request, auth=auth)


def challenge(verifier: str) -> str:
    """PKCE's S256 code challenge of `verifier`."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorization_url(
    discovery: Discovery, client_id: str, request: FlowRequest, scopes: Sequence[str]
) -> str:
    """Where the browser goes: the provider's authorization endpoint with this login's parameters."""
    if not discovery.authorization_endpoint:
        raise FlowError("the OIDC discovery document has no authorization_endpoint")
    params = {
        "client_id": client_id,
        "nonce": request.nonce,
        "redirect_uri": request.redirect_uri,
        "response_type": "id_token" if request.implicit else "code",
        "scope": " ".join(["openid", *[s for s in scopes if s != "openid"]]),
        "state": request.state,
    }
    if request.code_verifier:
        params["code_challenge"] = challenge(request.code_verifier)
        params["code_challenge_method"] = "S256"
    if request.max_age > 0:
        params["max_age"] = str(request.max_age)
    if request.implicit:
        # As cap builds it for Vault: only the implicit flow asks for form_post; a form_post config with
        # the code flow relies on the provider's (or the UI's) own choice.
        params["response_mode"] = "form_post"
    separator = "&" if "?" in discovery.authorization_endpoint else "?"
    return discovery.authorization_endpoint + separator + urlencode(sorted(params.items()), quote_via=quote)


async def _post_form(url: str, ca_pem: str, form: Mapping[str, str], auth: tuple[str, str]) -> httpx.Response:
    try:
        async with httpx.AsyncClient(verify=tls_context(ca_pem), timeout=FETCH_TIMEOUT) as client:
            return await client.post(url, data=dict(form), auth=auth, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise FlowError(f'Post "{url}": {exc or type(exc).__name__}') from None
    except FetchError as exc:
        raise FlowError(str(exc)) from None


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    if len(response.content) > MAX_DOCUMENT_BYTES:
        return None
    try:
        value = response.json()
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def exchange(client: Client, request: FlowRequest, code: str) -> Tokens:
    """The tokens the provider's token endpoint gives for `code` (client_secret_basic, PKCE verifier)."""
    discovery = client.discovery
    if not discovery.token_endpoint:
        raise FlowError("the OIDC discovery document has no token_endpoint")
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": request.redirect_uri}
    if request.code_verifier:
        form["code_verifier"] = request.code_verifier
    # OAuth 2.0 (RFC 6749 2.3.1) form-encodes the client credentials before Basic encoding them.
    basic = (quote_plus(client.client_id), quote_plus(client.client_secret))
    response = await _post_form(discovery.token_endpoint, client.ca_pem, form, basic)
    body = _json_object(response)
    if response.status_code != 200 or body is None:
        if body is not None and isinstance(body.get("error"), str):
            description = body.get("error_description")
            detail = f' "{description}"' if isinstance(description, str) and description else ""
            raise FlowError(f'oauth2: "{body["error"]}"{detail}')
        raise FlowError(f"oauth2: cannot fetch token: {response.status_code} {response.reason_phrase}")
    id_token = body.get("id_token")
    if not isinstance(id_token, str) or not id_token:
        raise FlowError("Exchange: id_token is missing from auth code exchange")

    def text(name: str) -> str:
        value = body.get(name)
        return value if isinstance(value, str) else ""

    return Tokens(id_token=id_token, access_token=text("access_token"), refresh_token=text("refresh_token"))


def _half_hash(alg: str, value: str) -> str:
    if alg == "EdDSA":
        digest = hashlib.sha512(value.encode()).digest()
    else:
        digest = hashlib.new("sha" + alg[2:], value.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


async def verify_id_token(
    client: Client, key_set: KeySet, token: str, request: FlowRequest, now: float, *, access_token: str = ""
) -> dict[str, Any]:
    """The ID token's claims once its signature, algorithm, issuer, audience, times, nonce, at_hash and
    auth_time all pass; FlowError otherwise."""
    try:
        alg = parse_compact(token).alg
        claims = await key_set.verify(token)
    except SignatureError as exc:
        raise FlowError(f"failed to verify signature: {exc}") from None
    issuer, client_id = client.discovery.issuer, client.client_id
    allowed = client.algorithms or DEFAULT_ID_TOKEN_ALGS
    if alg not in allowed:
        raise FlowError(
            f"oidc: id token signed with unsupported algorithm, expected {list(allowed)} got {alg}"
        )
    if claims.get("iss") != issuer:
        raise FlowError(f"oidc: id token issued by a different provider, expected {issuer!r}")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
    if client_id not in audiences:
        raise FlowError(f"oidc: expected audience {client_id!r} got {audiences!r}")
    if request.audiences and not any(a in audiences for a in request.audiences):
        raise FlowError("invalid id_token audiences")
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise FlowError("invalid id_token: multiple audiences and authorized party is not the client ID")
    expiry = _number(claims, "exp")
    if expiry is None:
        raise FlowError("oidc: malformed claims: the ID token has no expiry")
    if now > expiry:
        raise FlowError("oidc: token is expired")
    not_before = _number(claims, "nbf")
    if not_before is not None and now + ID_TOKEN_LEEWAY < not_before:
        raise FlowError("oidc: current time before the nbf (not before) time")
    if claims.get("nonce") != request.nonce:
        raise FlowError("invalid id_token nonce")
    at_hash = claims.get("at_hash")
    if access_token and isinstance(at_hash, str) and at_hash != _half_hash(alg, access_token):
        raise FlowError("access token hash does not match value in ID token")
    if request.max_age > 0:
        auth_time = _number(claims, "auth_time")
        if auth_time is None:
            raise FlowError("missing auth_time claim when max age was requested")
        if now > auth_time + request.max_age + ID_TOKEN_LEEWAY:
            raise FlowError("invalid id_token auth_time: exceeds max age")
    return claims


async def userinfo(client: Client, access_token: str, subject: str) -> dict[str, Any]:
    """The provider's userinfo claims for `access_token`, refused unless they name the ID token's subject."""
    discovery = client.discovery
    if not discovery.userinfo_endpoint:
        raise FlowError("user info endpoint is not supported by the provider")
    headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
    try:
        async with httpx.AsyncClient(verify=tls_context(client.ca_pem), timeout=FETCH_TIMEOUT) as http:
            response = await http.get(discovery.userinfo_endpoint, headers=headers)
    except httpx.HTTPError as exc:
        raise FlowError(f'Get "{discovery.userinfo_endpoint}": {exc or type(exc).__name__}') from None
    except FetchError as exc:
        raise FlowError(str(exc)) from None
    body = _json_object(response)
    if response.status_code != 200 or body is None:
        raise FlowError(f"user info request failed: {response.status_code} {response.reason_phrase}")
    if body.get("sub") != subject:
        raise FlowError("oidc: userinfo subject does not match the ID token's subject")
    return body
