"""The JOSE subset ACME speaks (RFC 7515, 7517, 7638): flattened JWS objects, public JWKs, thumbprints and
signature checks. Layer: builtin (pure; stdlib, orjson and cryptography).

The algorithms are OpenBao's: ES256/384/512, EdDSA (Ed25519), RS256/384/512 and PS256/384/512 for account
keys; HS256/384/512 for external account bindings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem

AccountKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

ACCOUNT_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "EdDSA", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
EAB_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_CURVE_ALGORITHMS = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}
_CURVES: dict[str, tuple[type[ec.EllipticCurve], str]] = {
    "P-256": (ec.SECP256R1, "ES256"),
    "P-384": (ec.SECP384R1, "ES384"),
    "P-521": (ec.SECP521R1, "ES512"),
}
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x")}


def b64decode(text: Any, what: str) -> bytes:
    """base64url without padding, as JOSE writes it; malformed when it is not."""
    if not isinstance(text, str):
        raise AcmeProblem("malformed", f"failed to parse '{what}' field", lead=False)
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise AcmeProblem("malformed", f"failed to base64 parse '{what}'", lead=False) from None


def b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class Jws:
    """A flattened JWS as ACME posts it: the protected header (decoded), the payload bytes, and what the
    signature covers."""

    header: Mapping[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes
    protected: str


def parse_jws(body: Mapping[str, Any]) -> Jws:
    """The parts of a flattened JWS body; malformed when a part is missing or unreadable."""
    for name in ("protected", "payload", "signature"):
        if name not in body:
            raise AcmeProblem("malformed", f"missing required field '{name}'")
    if body.get("header"):
        raise AcmeProblem("malformed", "request had unprotected headers")
    protected, payload = body["protected"], body["payload"]
    header = _json_object(b64decode(protected, "protected"), "protected")
    return Jws(
        header=header,
        payload=b64decode(payload, "payload"),
        signing_input=f"{protected}.{payload}".encode(),
        signature=b64decode(body["signature"], "signature"),
        protected=protected,
    )


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise AcmeProblem("malformed", f"failed to json unmarshal '{what}'") from None
    if not isinstance(value, dict):
        raise AcmeProblem("malformed", f"failed to json unmarshal '{what}'")
    return value


def payload_object(jws: Jws) -> dict[str, Any]:
    """The payload as a JSON object; an empty payload (POST-as-GET) is an empty object."""
    return _json_object(jws.payload, "payload") if jws.payload else {}


def _int(value: Any) -> int:
    return int.from_bytes(b64decode(value, "jwk"), "big")


def public_key(jwk: Any) -> AccountKey:
    """The public key a JWK describes; malformed when it is not an RSA, EC or Ed25519 public key."""
    if not isinstance(jwk, dict):
        raise AcmeProblem("malformed", "received invalid jwk")
    kty = jwk.get("kty")
    try:
        if kty == "RSA":
            return rsa.RSAPublicNumbers(_int(jwk.get("e")), _int(jwk.get("n"))).public_key()
        if kty == "EC" and jwk.get("crv") in _CURVES:
            curve = _CURVES[jwk["crv"]][0]()
            return ec.EllipticCurvePublicNumbers(_int(jwk.get("x")), _int(jwk.get("y")), curve).public_key()
        if kty == "OKP" and jwk.get("crv") == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(b64decode(jwk.get("x"), "jwk"))
    except ValueError:
        pass
    raise AcmeProblem("badPublicKey", "received invalid jwk")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """The RFC 7638 SHA-256 thumbprint of a public JWK, base64url: what keys an account."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")), ())
    canonical = orjson.dumps({name: jwk.get(name) for name in members}, option=orjson.OPT_SORT_KEYS)
    return b64encode(hashlib.sha256(canonical).digest())


def verify(algorithm: str, key: AccountKey, signing_input: bytes, signature: bytes) -> bool:
    """Whether `signature` over `signing_input` is `key`'s under `algorithm` (which must suit the key)."""
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if algorithm != "EdDSA":
                return False
            key.verify(signature, signing_input)
            return True
        digest = _HASHES.get(algorithm[2:])
        if digest is None:
            return False
        if isinstance(key, rsa.RSAPublicKey):
            if algorithm.startswith("RS"):
                key.verify(signature, signing_input, padding.PKCS1v15(), digest())
            elif algorithm.startswith("PS"):
                pss = padding.PSS(mgf=padding.MGF1(digest()), salt_length=padding.PSS.DIGEST_LENGTH)
                key.verify(signature, signing_input, pss, digest())
            else:
                return False
            return True
        if _CURVE_ALGORITHMS.get(key.curve.name) != algorithm:
            return False
        size = (key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return False
        der = encode_dss_signature(
            int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
        )
        key.verify(der, signing_input, ec.ECDSA(digest()))
        return True
    except InvalidSignature:
        return False


def verify_hmac(algorithm: str, secret: bytes, signing_input: bytes, signature: bytes) -> bool:
    """Whether `signature` is the HMAC of `signing_input` under `secret` (an EAB's HS256/384/512)."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}.get(algorithm)
    if digest is None:
        return False
    return hmac.compare_digest(hmac.new(secret, signing_input, digest).digest(), signature)
