"""Keys fetched over HTTP: a JWKS URL's key set (cached, refetched on an unknown key at a bounded rate) and
OIDC discovery (the issuer's /.well-known/openid-configuration names its jwks_uri).

Layer: builtin. Imports httpx, PyJWT, the jwt package's validator, and util's clock; no framework.

Invariant: a key set holds public asymmetric keys only; symmetric ("oct") keys in a JWKS are ignored.
Invariant: a refetch caused by tokens happens at most once per MIN_REFETCH_INTERVAL, so tokens with made-up
key IDs cannot make the server hammer the identity provider.
Invariant: error messages name URLs and HTTP statuses, never a token.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from strongroom.builtin.auth.jwt.validator import (
    KNOWN_ALGS,
    PublicKey,
    SignatureError,
    parse_compact,
    payload_claims,
    verify_with,
)
from strongroom.util.clock import Clock

MIN_REFETCH_INTERVAL = 5.0
"""Seconds between two fetches of a key set caused by tokens whose key is not in the cached set."""
MAX_KEY_AGE = 600.0
"""Seconds a fetched key set is trusted before it is fetched again (so a removed key stops verifying)."""
FETCH_TIMEOUT = 10.0
MAX_DOCUMENT_BYTES = 1 << 20

_EXPECTED_ALGS = " ".join(f'"{alg}"' for alg in KNOWN_ALGS)


class FetchError(Exception):
    """A key set or discovery document could not be fetched or read; the message is safe to show."""


def tls_context(ca_pem: str) -> ssl.SSLContext | bool:
    """Certificate verification trusting `ca_pem` only, or the system roots when it is empty."""
    if not ca_pem:
        return True
    try:
        return ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError, TypeError):  # TypeError: cadata that is not ASCII
        raise FetchError("could not parse CA PEM value successfully") from None


async def fetch_json(url: str, ca_pem: str) -> Any:
    """GET `url` and decode its JSON body; FetchError on any failure."""
    verify = tls_context(ca_pem)
    try:
        async with httpx.AsyncClient(verify=verify, timeout=FETCH_TIMEOUT) as client:
            response = await client.get(url, headers={"Accept": "application/json"})
    except httpx.InvalidURL as exc:  # not an HTTPError: httpx refuses the URL before any request
        raise FetchError(f'parse "{url}": {exc}') from None
    except httpx.HTTPError as exc:
        raise FetchError(f'Get "{url}": {exc or type(exc).__name__}') from None
    if response.status_code != 200:
        raise FetchError(f"{response.status_code} {response.reason_phrase}")
    if len(response.content) > MAX_DOCUMENT_BYTES:
        raise FetchError(f'Get "{url}": response is larger than {MAX_DOCUMENT_BYTES} bytes')
    try:
        return response.json()
    except ValueError:
        raise FetchError(f'Get "{url}": the response is not JSON') from None


def parse_jwks(document: Any) -> list[tuple[str, PublicKey]]:
    """(kid, public key) for every usable asymmetric key of a JWKS document."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchError('the key set is not a JSON object with a "keys" list')
    keys: list[tuple[str, PublicKey]] = []
    for entry in document["keys"]:
        if not isinstance(entry, dict):
            continue
        try:
            key: Any = jwt.PyJWK(entry).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        if hasattr(key, "public_key") and not isinstance(key, PublicKey):
            key = key.public_key()
        if isinstance(key, PublicKey):
            kid = entry.get("kid")
            keys.append((kid if isinstance(kid, str) else "", key))
    return keys


class RemoteKeySet:
    """The keys at a JWKS URL, as go-oidc's RemoteKeySet uses them, with a bounded refetch rate."""

    def __init__(self, url: str, ca_pem: str, clock: Clock) -> None:
        self.url = url
        self._ca_pem = ca_pem
        self._clock = clock
        self._keys: list[tuple[str, PublicKey]] = []
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def _refresh(self, *, unless_fetched_after: float | None) -> None:
        async with self._lock:
            # Another login may have refreshed the set while this one waited for the lock.
            fetched = self._fetched_at
            if unless_fetched_after is not None and fetched is not None and fetched > unless_fetched_after:
                return
            try:
                self._keys = parse_jwks(await fetch_json(self.url, self._ca_pem))
            except FetchError as exc:
                raise SignatureError(f"fetching keys oidc: get keys failed: {exc}") from None
            self._fetched_at = self._clock.now()

    def _try(self, token: str, alg: str, kid: str) -> dict[str, Any] | None:
        for key_id, key in self._keys:
            if kid and key_id != kid:
                continue
            payload = verify_with(token, alg, key)
            if payload is not None:
                claims = payload_claims(payload)
                if claims is None:
                    raise SignatureError(
                        "json: cannot unmarshal the payload into Go value of type map[string]interface {}"
                    )
                return claims
        return None

    async def verify(self, token: str) -> dict[str, Any]:
        try:
            compact = parse_compact(token)
        except SignatureError as exc:
            raise SignatureError(f"oidc: malformed jwt: {exc}") from None
        if compact.alg not in KNOWN_ALGS:
            unexpected = f'unexpected signature algorithm "{compact.alg}"; expected [{_EXPECTED_ALGS}]'
            raise SignatureError(f"oidc: malformed jwt: {unexpected}")
        now = self._clock.now()
        if self._fetched_at is None or now - self._fetched_at >= MAX_KEY_AGE:
            await self._refresh(unless_fetched_after=self._fetched_at)
        claims = self._try(token, compact.alg, compact.kid)
        if claims is not None:
            return claims
        seen = self._fetched_at
        if seen is not None and now - seen >= MIN_REFETCH_INTERVAL:
            await self._refresh(unless_fetched_after=seen)
            claims = self._try(token, compact.alg, compact.kid)
            if claims is not None:
                return claims
        raise SignatureError("failed to verify id token signature")


@dataclass(frozen=True, slots=True)
class Discovery:
    """What strongroom reads of an OIDC discovery document."""

    issuer: str
    jwks_uri: str
    authorization_endpoint: str = ""
    token_endpoint: str = ""
    userinfo_endpoint: str = ""


async def check_jwks(url: str, ca_pem: str) -> None:
    """Fetch and read the key set at `url` now (the config-time check); FetchError when that fails."""
    parse_jwks(await fetch_json(url, ca_pem))


async def discover(issuer: str, ca_pem: str) -> Discovery:
    """The issuer's discovery document, checked as cap's NewOIDCDiscoveryKeySet checks it."""
    url = issuer.removesuffix("/") + "/.well-known/openid-configuration"
    document = await fetch_json(url, ca_pem)
    if not isinstance(document, dict):
        raise FetchError("failed to decode OIDC discovery document: it is not a JSON object")
    found_issuer, jwks_uri = document.get("issuer"), document.get("jwks_uri")
    if found_issuer != issuer:
        raise FetchError(
            f'issuer did not match the returned issuer, expected "{issuer}" got "{found_issuer}"'
        )
    if not isinstance(jwks_uri, str) or not jwks_uri:
        raise FetchError("the OIDC discovery document has no jwks_uri")

    def endpoint(name: str) -> str:
        value = document.get(name)
        return value if isinstance(value, str) else ""

    return Discovery(
        issuer=issuer,
        jwks_uri=jwks_uri,
        authorization_endpoint=endpoint("authorization_endpoint"),
        token_endpoint=endpoint("token_endpoint"),
        userinfo_endpoint=endpoint("userinfo_endpoint"),
    )
