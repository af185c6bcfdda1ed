"""The OIDC provider's protocol endpoints: identity/oidc/provider/<name>/authorize (the caller's entity
grants a code), /token (code, or client credentials, for tokens) and /userinfo. Layer: core.

Answers are OAuth's raw JSON documents with OAuth's error codes, as Vault sends them.
Invariant: an authorization code is used at most once and lives five minutes; it is bound to its client,
provider, redirect URI and PKCE challenge.
Invariant: access tokens are stored only as their SHA-256, and answer only userinfo of their provider.
Expired access tokens are deleted by the hour of their expiry, at the next token exchange.
Intended difference: Vault's access tokens are Vault batch tokens whose only policy reads userinfo; here
they are opaque tokens of the identity store, sent as `Authorization: Bearer` to userinfo as OAuth says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from strongroom.core.identity.oidc_common import (
    ASSIGNMENTS,
    PROVIDERS,
    SCOPES,
    OIDCState,
    clients,
    load,
    raw_json,
    storage_of,
)
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import IdentityStore, oidc_keys, oidc_template
from strongroom.identity.model import Entity, Group
from strongroom.identity.oidc_template import Subject, TemplateError
from strongroom.logical import Operation, Request, Response, Storage
from strongroom.logical.storage import get_json, put_json
from strongroom.util.ids import base62, new_uuid

ACCESS_TOKENS = "oidc_provider/access_token/"
TokenCreated = Callable[[str], Awaitable[float | None]]
_CODE_TTL = 300
_HALF_HASH: dict[str, Callable[[bytes], Any]] = {
    "RS256": hashlib.sha256,
    "RS384": hashlib.sha384,
    "RS512": hashlib.sha512,
    "ES256": hashlib.sha256,
    "ES384": hashlib.sha384,
    "ES512": hashlib.sha512,
    "EdDSA": hashlib.sha512,
}
_STATUS = {
    "server_error": 500,
    "invalid_client": 401,
    "invalid_token": 401,
    "access_denied": 403,
}


async def _oauth_answer(body: Awaitable[dict[str, Any]]) -> Response:
    """An OAuth endpoint's answer: the JSON body, or the OAuthError it raised as RFC 6749's error object."""
    try:
        return raw_json(await body)
    except OAuthError as error:
        status = _STATUS.get(error.code, 400)
        return raw_json({"error": error.code, "error_description": error.description}, status=status)


@dataclass(frozen=True, slots=True)
class _Code:
    provider: str
    client_id: str
    entity_id: str
    redirect_uri: str
    nonce: str
    scopes: tuple[str, ...]
    challenge: str
    method: str
    expires: float
    # When the user's token was created, if the request asked for max_age (the ID token's auth_time).
    auth_time: int | None


class OAuthError(Exception):
    """An OAuth refusal: its error code and description (sent as the body, never as Vault's errors)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _half_hash(algorithm: str, value: str) -> str:
    """OIDC's at_hash and c_hash: the left half of the signing algorithm's hash, base64url."""
    digest = _HALF_HASH[algorithm](value.encode()).digest()
    return _b64(digest[: len(digest) // 2])


def _challenge(verifier: str, method: str) -> str:
    return verifier if method == "plain" else _b64(hashlib.sha256(verifier.encode()).digest())


def _valid_redirect(uri: str, allowed: list[str]) -> bool:
    """Vault's rule: an exact match, except that a loopback redirect may use any port (RFC 8252)."""

    def portless(value: str) -> str | None:
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            return None
        if host not in ("localhost", "127.0.0.1", "::1"):
            return None
        return urlunsplit(parts._replace(netloc=f"[{host}]" if ":" in host else host))

    loopback = portless(uri)
    if loopback is None:
        return uri in allowed
    return any(portless(a) == loopback for a in allowed)


def _allowed(record: dict[str, Any], client_id: str) -> bool:
    return bool({"*", client_id} & set(record["allowed_client_ids"]))


def _requested_scopes(scope: str, provider: dict[str, Any]) -> tuple[str, ...] | None:
    """The provider's scopes asked for (without openid), or None when openid is missing."""
    asked = sorted(set(scope.split()))
    if "openid" not in asked:
        return None
    return tuple(s for s in asked if s in provider["scopes_supported"] and s != "openid")


def paths(state: OIDCState, identity: IdentityStore, token_created: TokenCreated) -> list[Path]:
    """The authorize, token and userinfo endpoints of every provider; `token_created` tells when the
    token behind a request (by its hash) was created, for max_age."""
    codes: dict[str, _Code] = {}

    def groups_of(entity_id: str) -> list[Group]:
        direct, inherited = identity.memberships(entity_id)
        return [g for gid in (*direct, *inherited) if (g := identity.groups.group(gid)) is not None]

    async def assigned(storage: Storage, entity: Entity, names: list[str]) -> bool:
        if entity.disabled:
            return False
        if "allow_all" in names:
            return True
        group_ids = {g.id for g in groups_of(entity.id)}
        for name in names:
            assignment = await load(storage, ASSIGNMENTS, name)
            if assignment is None:
                raise OAuthError("server_error", f'client assignment "{name}" not found')
            if group_ids & set(assignment["group_ids"]) or entity.id in assignment["entity_ids"]:
                return True
        return False

    async def scope_claims(
        storage: Storage, scopes: tuple[str, ...], entity: Entity | None
    ) -> dict[str, Any]:
        claims: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for name in scopes:
            scope = await load(storage, SCOPES, name)
            if scope is None or not scope["template"]:
                continue
            subject = Subject(entity, groups_of(entity.id) if entity else (), state.clock.now())
            try:
                filled = oidc_template.claims(oidc_template.populate(scope["template"], subject))
            except TemplateError:
                continue
            for claim in filled:
                if claim in owner:
                    raise OAuthError(
                        "invalid_request",
                        f'found scopes with conflicting top-level claim: claim "{claim}" in scopes "{name}", '
                        f'"{owner[claim]}"',
                    )
                owner[claim] = name
            claims |= filled
        return claims

    async def client_by_id(storage: Storage, client_id: str) -> dict[str, Any] | None:
        return next((c for c in await clients(storage) if c["client_id"] == client_id), None)

    async def authorize(request: Request, data: FieldData) -> Response | None:
        state_value = data.get("state")
        try:
            return raw_json({"code": await grant(request, data), "state": state_value})
        except OAuthError as error:
            body = {"error": error.code, "error_description": error.description, "state": state_value}
            return raw_json(body, status=500 if error.code == "server_error" else 400)

    async def grant(request: Request, data: FieldData) -> str:
        storage = storage_of(request)
        client_id = data.get("client_id")
        if not client_id:
            raise OAuthError("invalid_client_id", "client_id parameter is required")
        client = await client_by_id(storage, client_id)
        if client is None:
            raise OAuthError("invalid_client_id", "client with client_id not found")
        if not client["authorization_code"]:
            raise OAuthError(
                "invalid_grant", "client not allowed to perform authorization code credential flow"
            )
        redirect_uri = data.get("redirect_uri")
        if not redirect_uri:
            raise OAuthError("invalid_request", "redirect_uri parameter is required")
        if not _valid_redirect(redirect_uri, client["redirect_uris"]):
            raise OAuthError("invalid_redirect_uri", "redirect_uri is not allowed for the client")
        name = data.get("name")
        provider = await load(storage, PROVIDERS, name)
        if provider is None:
            raise OAuthError("invalid_request", "provider not found")
        if not _allowed(provider, client_id):
            raise OAuthError("unauthorized_client", "client is not authorized to use the provider")
        if "request" in request.data:
            raise OAuthError("request_not_supported", "request parameter is not supported")
        if "request_uri" in request.data:
            raise OAuthError("request_uri_not_supported", "request_uri parameter is not supported")
        scopes = _requested_scopes(data.get("scope"), provider)
        if scopes is None:
            raise OAuthError("invalid_request", 'scope parameter must contain the "openid" value')
        response_type = data.get("response_type")
        if not response_type:
            raise OAuthError("invalid_request", "response_type parameter is required")
        if response_type != "code":
            raise OAuthError("unsupported_response_type", "unsupported response_type value")
        entity_id = request.caller.entity_id if request.caller is not None else ""
        if not entity_id:
            raise OAuthError("access_denied", "identity entity must be associated with the request")
        entity = identity.entity(entity_id)
        if entity is None:
            raise OAuthError("access_denied", "identity entity associated with the request not found")
        if not await assigned(storage, entity, client["assignments"]):
            raise OAuthError("access_denied", "identity entity not authorized by client assignment")
        challenge, method = data.get("code_challenge"), ""
        if not challenge and client["client_type"] == "public":
            raise OAuthError("invalid_request", "PKCE is required for public clients")
        if challenge:
            method = data.get("code_challenge_method") or "plain"
            if method not in ("plain", "S256"):
                raise OAuthError("invalid_request", "invalid code_challenge_method")
            if not 43 <= len(challenge) <= 128:
                raise OAuthError("invalid_request", "invalid code_challenge")
        now = state.clock.now()
        auth_time = None
        max_age, supplied = data.get_ok("max_age")
        if supplied:
            if max_age < 1:
                raise OAuthError("invalid_request", "max_age must be greater than zero")
            caller = request.caller
            created = (
                await token_created(caller.token_hash) if caller is not None and caller.token_hash else None
            )
            if created is None:
                raise OAuthError("access_denied", "token associated with request not found")
            if int(now - created) > max_age:
                raise OAuthError("max_age_violation", "active re-authentication is required by max_age")
            auth_time = int(created)
        for stale in [c for c, entry in codes.items() if entry.expires <= now]:
            del codes[stale]
        code = base62(32)
        codes[code] = _Code(
            name,
            client_id,
            entity_id,
            redirect_uri,
            data.get("nonce"),
            scopes,
            challenge,
            method,
            now + _CODE_TTL,
            auth_time,
        )
        return code

    async def token(request: Request, data: FieldData) -> Response | None:
        return await _oauth_answer(exchange(request, data))

    async def exchange(request: Request, data: FieldData) -> dict[str, Any]:
        storage = storage_of(request)
        name = data.get("name")
        provider = await load(storage, PROVIDERS, name)
        if provider is None:
            raise OAuthError("invalid_request", "provider not found")
        client_id, secret = _basic_auth(request)
        if client_id is None:
            client_id, secret = data.get("client_id"), data.get("client_secret")
            if not client_id:
                raise OAuthError("invalid_request", "client_id parameter is required")
        client = await client_by_id(storage, client_id)
        if client is None or (
            client["client_type"] == "confidential"
            and not hmac.compare_digest(client["client_secret"].encode(), (secret or "").encode())
        ):
            raise OAuthError("invalid_client", "client failed to authenticate")
        if not _allowed(provider, client_id):
            raise OAuthError("invalid_client", "client is not authorized to use the provider")
        key = await oidc_keys.load_key(storage, client["key"])
        if key is None:
            raise OAuthError("server_error", f'client key "{client["key"]}" not found')
        if not key.allows(client_id):
            raise OAuthError("invalid_client", "client is not authorized to use the key")
        grant_type = data.get("grant_type")
        if grant_type not in ("authorization_code", "client_credentials"):
            raise OAuthError("unsupported_grant_type", "unsupported grant_type or parameter is empty value")
        if not client[grant_type]:
            raise OAuthError("invalid_grant", "client is not authorized to use given credentials flow")
        issuer = state.provider_issuer(name, provider)
        now = state.clock.now()
        async with state.lock:
            key = await oidc_keys.current(storage, key, now)
        if grant_type == "client_credentials":
            scopes = _requested_scopes(data.get("scope"), provider)
            if scopes is None:
                raise OAuthError("invalid_request", 'scope parameter must contain the "openid" value')
            claims = {
                "iss": issuer,
                "namespace": "root",
                "sub": client_id,
                "aud": client_id,
                "exp": int(now) + client["id_token_ttl"],
                "iat": int(now),
                "jti": new_uuid(),
            } | await scope_claims(storage, scopes, None)
            access = oidc_keys.sign(key, claims)
            return {"token_type": "Bearer", "access_token": access, "expires_in": client["id_token_ttl"]}
        entry = _take_code(codes, data.get("code"), now)
        if entry.client_id != client_id:
            raise OAuthError("invalid_grant", "authorization code was not issued to the client")
        if entry.provider != name:
            raise OAuthError("invalid_grant", "authorization code was not issued by the provider")
        redirect_uri = data.get("redirect_uri")
        if not redirect_uri:
            raise OAuthError("invalid_request", "redirect_uri parameter is required")
        if entry.redirect_uri != redirect_uri:
            raise OAuthError(
                "invalid_grant",
                "redirect_uri does not match the redirect_uri used in the authorization request",
            )
        entity = identity.entity(entry.entity_id)
        if entity is None:
            raise OAuthError("invalid_request", "identity entity associated with the request not found")
        if not await assigned(storage, entity, client["assignments"]):
            raise OAuthError("invalid_request", "identity entity not authorized by client assignment")
        _check_pkce(entry, data.get("code_verifier"), client["client_type"])
        expires = now + client["access_token_ttl"]
        await sweep_access_tokens(storage, now)
        access = f"{_bucket(expires)}.{secrets.token_urlsafe(32)}"
        record = {
            "client_id": client_id,
            "provider": name,
            "entity_id": entity.id,
            "scopes": list(entry.scopes),
            "expires": expires,
        }
        await put_json(storage, access_token_key(access), record)
        claims = {
            "iss": issuer,
            "namespace": "root",
            "sub": entity.id,
            "aud": client_id,
            "exp": int(now) + client["id_token_ttl"],
            "iat": int(now),
            "at_hash": _half_hash(key.algorithm, access),
            "c_hash": _half_hash(key.algorithm, data.get("code")),
        }
        if entry.nonce:
            claims["nonce"] = entry.nonce
        if entry.auth_time is not None:
            claims["auth_time"] = entry.auth_time
        claims |= await scope_claims(storage, entry.scopes, entity)
        return {
            "token_type": "Bearer",
            "access_token": access,
            "id_token": oidc_keys.sign(key, claims),
            "expires_in": client["access_token_ttl"],
        }

    async def userinfo(request: Request, data: FieldData) -> Response | None:
        return await _oauth_answer(user_claims(request, data))

    async def user_claims(request: Request, data: FieldData) -> dict[str, Any]:
        storage = storage_of(request)
        name = data.get("name")
        provider = await load(storage, PROVIDERS, name)
        if provider is None:
            raise OAuthError("invalid_request", "provider not found")
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            raise OAuthError("invalid_token", "access token must be sent as a Bearer token")
        stored_at = access_token_key(bearer.strip())
        record = await get_json(storage, stored_at) if stored_at else None
        if record is None or record["expires"] <= state.clock.now():
            if record is not None and stored_at:
                await storage.delete(stored_at)
            raise OAuthError("invalid_token", "access token is expired")
        if record["provider"] != name:
            raise OAuthError("invalid_token", "access token is malformed or invalid")
        client = await client_by_id(storage, record["client_id"])
        if client is None:
            raise OAuthError("access_denied", "client not found")
        entity = identity.entity(record["entity_id"])
        if entity is None:
            raise OAuthError("access_denied", "identity entity associated with the request not found")
        if not await assigned(storage, entity, client["assignments"]):
            raise OAuthError("access_denied", "identity entity not authorized by client assignment")
        if not _allowed(provider, record["client_id"]):
            raise OAuthError("access_denied", "client is not authorized to use the provider")
        scopes = tuple(s for s in record["scopes"] if s in provider["scopes_supported"])
        return {"sub": entity.id} | await scope_claims(storage, scopes, entity)

    name_field = {"name": Field(FieldType.STRING, "Name of the provider")}
    authorize_fields = {
        **name_field,
        **{
            field: Field(FieldType.STRING)
            for field in (
                "client_id",
                "scope",
                "redirect_uri",
                "response_type",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
            )
        },
        "max_age": Field(
            FieldType.INT, "The allowable elapsed time in seconds since the last authentication."
        ),
    }
    token_fields = {
        **name_field,
        **{
            field: Field(FieldType.STRING)
            for field in (
                "code",
                "grant_type",
                "redirect_uri",
                "code_verifier",
                "scope",
                "client_id",
                "client_secret",
            )
        },
    }
    return [
        Path(
            "oidc/provider/{name}/authorize",
            authorize_fields,
            {Operation.READ: authorize, Operation.UPDATE: authorize},
            synopsis="Provides the OIDC Authorization Endpoint.",
        ),
        Path(
            "oidc/provider/{name}/token",
            token_fields,
            {Operation.UPDATE: token},
            synopsis="Provides the OIDC Token Endpoint.",
        ),
        Path(
            "oidc/provider/{name}/userinfo",
            name_field,
            {Operation.READ: userinfo, Operation.UPDATE: userinfo},
            synopsis="Provides the OIDC UserInfo Endpoint.",
        ),
    ]


def _bucket(expires: float) -> int:
    """The hour an access token expires in: tokens are stored by it, so expired ones go an hour at a time."""
    return int(expires // 3600)


def access_token_key(access: str) -> str:
    """Where an access token's record is: under its expiry hour (which the token names), by its SHA-256;
    "" for a token of another shape."""
    bucket, _, _ = access.partition(".")
    if not bucket.isdigit():
        return ""
    return f"{ACCESS_TOKENS}{bucket}/{hashlib.sha256(access.encode()).hexdigest()}"


async def sweep_access_tokens(storage: Storage, now: float) -> None:
    """Delete the records of access tokens whose expiry hour has passed (a listing of hours, most of the
    time nothing to delete), so storage does not grow with every token ever issued."""
    for bucket in await storage.list(ACCESS_TOKENS):
        hour = bucket.rstrip("/")
        if hour.isdigit() and int(hour) < _bucket(now):
            for name in await storage.list(ACCESS_TOKENS + bucket):
                await storage.delete(ACCESS_TOKENS + bucket + name)


def _take_code(codes: dict[str, _Code], code: str, now: float) -> _Code:
    """The code's grant, removed so it is never used twice."""
    if not code:
        raise OAuthError("invalid_request", "code parameter is required")
    entry = codes.pop(code, None)
    if entry is None or entry.expires <= now:
        raise OAuthError("invalid_grant", "authorization grant is invalid or expired")
    return entry


def _check_pkce(entry: _Code, verifier: str, client_type: str) -> None:
    used = bool(entry.challenge and entry.method)
    if not used and client_type == "public":
        raise OAuthError("invalid_request", "PKCE is required for public clients")
    if not used and verifier:
        raise OAuthError("invalid_request", "unexpected code_verifier for token exchange")
    if used and not verifier:
        raise OAuthError("invalid_request", "expected code_verifier for token exchange")
    if used and not hmac.compare_digest(
        _challenge(verifier, entry.method).encode(), entry.challenge.encode()
    ):
        raise OAuthError("invalid_grant", "invalid code_verifier for token exchange")


def _basic_auth(request: Request) -> tuple[str | None, str]:
    """(client ID, secret) from HTTP Basic authentication, or (None, "") without it."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None, ""
    try:
        user, sep, password = base64.b64decode(value.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, ""
    return (user, password) if sep else (None, "")
