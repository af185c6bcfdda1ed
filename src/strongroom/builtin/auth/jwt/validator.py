"""Validating a JWT: its signature (by a key set), its algorithm, and its registered claims (iss, sub, aud,
exp, nbf, iat with leeways), with the rules and error texts of hashicorp/cap's jwt.Validator, which Vault
and OpenBao use.

Layer: builtin, pure domain logic: PyJWT, cryptography and stdlib; no framework, no network (key sets that
fetch keys live in keysets.py and are passed in).

Invariant: only asymmetric algorithms verify a token ("none" and the HMAC family never do), so a public
key can never be used as a shared secret.
Invariant: no error message carries the token or any part of it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

KNOWN_ALGS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA")
"""What Vault accepts when jwt_supported_algs is empty, and the only algorithms it can be set to."""

DEFAULT_LEEWAY = 150
"""cap's default for not_before_leeway and expiration_leeway (used when a token lacks nbf or exp)."""
DEFAULT_CLOCK_SKEW = 60
"""go-jose's default clock-skew leeway applied to every time claim."""


class TokenError(ValueError):
    """The token is refused; the message is Vault's text after "error validating token: "."""


class SignatureError(ValueError):
    """No key verified the signature; the message is Vault's text after "error verifying token signature"."""


class KeySet(Protocol):
    """Verifies a compact JWS and returns its claims."""

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims when one of the set's keys verifies its signature, else SignatureError."""
        ...


@dataclass(frozen=True, slots=True)
class Expected:
    """What a token must assert. Empty strings and lists skip a check; leeways follow cap's conventions:
    0 means the default, a negative value means none."""

    issuer: str = ""
    subject: str = ""
    audiences: tuple[str, ...] = ()
    algorithms: tuple[str, ...] = ()
    not_before_leeway: int = 0
    expiration_leeway: int = 0
    clock_skew_leeway: int = 0


@dataclass(frozen=True, slots=True)
class Compact:
    """A compact JWS split into its parts, the header decoded."""

    header: Mapping[str, Any]
    alg: str
    kid: str


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def parse_compact(token: str) -> Compact:
    """The header of a compact JWS, or SignatureError with go-jose's words for a malformed one."""
    parts = token.split(".")
    if len(parts) != 3:
        raise SignatureError("go-jose/go-jose: compact JWS format must have three parts")
    try:
        header = json.loads(_b64decode(parts[0]))
    except (binascii.Error, ValueError):
        raise SignatureError("illegal base64 data in JWS header") from None
    if not isinstance(header, dict):
        raise SignatureError("go-jose/go-jose: invalid JWS header")
    alg, kid = header.get("alg"), header.get("kid", "")
    if not isinstance(alg, str) or not isinstance(kid, str):
        raise SignatureError("go-jose/go-jose: invalid JWS header")
    return Compact(header=header, alg=alg, kid=kid)


def parse_public_key_pem(text: str) -> PublicKey:
    """An RSA, EC or Ed25519 public key from a PEM public key or certificate (Vault's ParsePublicKeyPEM)."""
    data = text.encode()
    try:
        loaded: Any = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        try:
            loaded = x509.load_pem_x509_certificate(data).public_key()
        except ValueError:
            loaded = None
    if isinstance(loaded, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return loaded
    raise ValueError("data does not contain any valid public keys")


def _key_fits(alg: str, key: PublicKey) -> bool:
    if alg.startswith(("RS", "PS")):
        return isinstance(key, rsa.RSAPublicKey)
    if alg.startswith("ES"):
        return isinstance(key, ec.EllipticCurvePublicKey)
    return alg == "EdDSA" and isinstance(key, ed25519.Ed25519PublicKey)


def verify_with(token: str, alg: str, key: PublicKey) -> bytes | None:
    """The payload when `key` verifies `token` under the asymmetric algorithm `alg`, else None."""
    if alg not in KNOWN_ALGS or not _key_fits(alg, key):
        return None
    try:
        decoded = jwt.api_jws.PyJWS().decode_complete(token, key=key, algorithms=[alg])
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    payload = decoded["payload"]
    return payload if isinstance(payload, bytes) else None


def payload_claims(payload: bytes) -> dict[str, Any] | None:
    """The payload as a JSON object, or None."""
    try:
        claims = json.loads(payload)
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None


class StaticKeySet:
    """Verifies with locally configured public keys (jwt_validation_pubkeys)."""

    def __init__(self, keys: Sequence[PublicKey]) -> None:
        self._keys = tuple(keys)

    async def verify(self, token: str) -> dict[str, Any]:
        compact = parse_compact(token)
        for key in self._keys:
            payload = verify_with(token, compact.alg, key)
            claims = None if payload is None else payload_claims(payload)
            if claims is not None:
                return claims
        raise SignatureError("no known key successfully validated the token signature")


def _go_json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _registered(claims: Mapping[str, Any]) -> tuple[dict[str, str], list[str], dict[str, int]]:
    """iss/sub/jti, aud and exp/nbf/iat typed as go-jose's jwt.Claims reads them (null counts as absent)."""
    strings: dict[str, str] = {}
    for name in ("iss", "sub", "jti"):
        value = claims.get(name)
        if value is None:
            strings[name] = ""
        elif isinstance(value, str):
            strings[name] = value
        else:
            got = _go_json_type(value)
            raise TokenError(
                f"json: cannot unmarshal {got} into Go struct field Claims.{name} of type string"
            )
    raw_aud = claims.get("aud")
    audience: list[str]
    if raw_aud is None:
        audience = []
    elif isinstance(raw_aud, str):
        audience = [raw_aud]
    elif isinstance(raw_aud, list) and all(isinstance(item, str) for item in raw_aud):
        audience = list(raw_aud)
    else:
        raise TokenError("go-jose/go-jose/jwt: expected string or array value to unmarshal to Audience")
    times: dict[str, int] = {}
    for name in ("exp", "nbf", "iat"):
        value = claims.get(name)
        if value is None:
            times[name] = 0
        elif isinstance(value, int | float) and not isinstance(value, bool):
            times[name] = int(value)
        else:
            raise TokenError("go-jose/go-jose/jwt: expected number value to unmarshal NumericDate")
    return strings, audience, times


def _leeway(value: int, default: int) -> int:
    return 0 if value < 0 else (value or default)


def check_algorithm(alg: str, allowed: Sequence[str]) -> None:
    """TokenError unless `alg` is one of `allowed` (KNOWN_ALGS when empty)."""
    if alg not in (allowed or KNOWN_ALGS):
        raise TokenError("invalid algorithm (alg) header parameter: token signed with unexpected algorithm")


def check_claims(claims: Mapping[str, Any], expected: Expected, now: float) -> None:
    """TokenError unless iss, sub, aud and the time claims satisfy `expected` at `now`."""
    strings, audience, times = _registered(claims)
    if expected.issuer and expected.issuer != strings["iss"]:
        raise TokenError("invalid issuer (iss) claim")
    if expected.subject and expected.subject != strings["sub"]:
        raise TokenError("invalid subject (sub) claim")
    if expected.audiences and not any(aud in audience for aud in expected.audiences):
        raise TokenError("invalid audience (aud) claim: audience claim does not match any expected audience")
    exp, nbf, iat = times["exp"], times["nbf"], times["iat"]
    if not (exp or nbf or iat):
        raise TokenError("no issued at (iat), not before (nbf), or expiration time (exp) claims in token")
    if not exp:
        # A token without an expiry is good for the expiration leeway after it became valid.
        exp = max(iat, nbf) + _leeway(expected.expiration_leeway, DEFAULT_LEEWAY)
    if not nbf:
        nbf = iat or exp - _leeway(expected.not_before_leeway, DEFAULT_LEEWAY)
    skew = _leeway(expected.clock_skew_leeway, DEFAULT_CLOCK_SKEW)
    if now + skew < nbf:
        raise TokenError("invalid not before (nbf) claim: token not yet valid")
    if now - skew > exp:
        raise TokenError("invalid expiration time (exp) claim: token is expired")
    if iat and now + skew < iat:
        raise TokenError("invalid issued at (iat) claim: token issued in the future")


async def validate(token: str, key_set: KeySet, expected: Expected, now: float) -> dict[str, Any]:
    """The token's claims once its signature, algorithm and registered claims all pass; else TokenError."""
    try:
        claims = await key_set.verify(token)
    except SignatureError as exc:
        raise TokenError(f"error verifying token signature: {exc}") from None
    check_algorithm(parse_compact(token).alg, expected.algorithms)
    check_claims(claims, expected, now)
    return claims
