"""Named keys of identity tokens: key pairs, their rotation, and the public key set that verifies them.

Layer: identity; imports logical (Storage), util, cryptography and PyJWT. The identity backend hands it
the identity mount's storage (behind the barrier) and a clock.
Invariant: private keys leave this module only as signatures; storage and the published key set hold the
public halves under `oidc_tokens/public_keys/<kid>`.
Invariant: a key's public half stays published from its creation until `verification_ttl` after it stopped
signing, so every unexpired token stays verifiable across rotations.
Rotation by `rotation_period` is lazy: a key past its `next_rotation` rotates on its next use (a token
signed with it, the key set or an introspection read), not on a timer as in Vault; tokens and key set are
the same as if a timer had run at the moment of use.
"""

from __future__ import annotations

import asyncio
import functools
import json
from dataclasses import dataclass, replace
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from strongroom.logical import Storage
from strongroom.logical.storage import get_json, put_json
from strongroom.util.ids import new_uuid

NAMED_KEYS = "oidc_tokens/named_keys/"
PUBLIC_KEYS = "oidc_tokens/public_keys/"
ROLES = "oidc_tokens/roles/"

# Vault's order: discovery lists them so.
ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "EdDSA")
_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key pair: its ID (the JWT `kid`) and its private half as PKCS#8 PEM."""

    kid: str
    pem: str

    def private(self) -> PrivateKey:
        return _loaded(self.pem)


@dataclass(frozen=True, slots=True)
class NamedKey:
    """identity/oidc/key/<name>: the settings, the current and next key pair, and the ring of key IDs
    still published (with when each stops being published; 0 while it signs or will sign)."""

    name: str
    algorithm: str
    rotation_period: int
    verification_ttl: int
    allowed_client_ids: tuple[str, ...]
    next_rotation: float = 0.0
    signing: SigningKey | None = None
    next_signing: SigningKey | None = None
    ring: tuple[tuple[str, float], ...] = ()

    def allows(self, client_id: str) -> bool:
        """Whether a role or client with `client_id` may sign with this key."""
        return "*" in self.allowed_client_ids or client_id in self.allowed_client_ids

    def to_json(self) -> dict[str, Any]:
        def pair(key: SigningKey | None) -> dict[str, str] | None:
            return None if key is None else {"kid": key.kid, "pem": key.pem}

        return {
            "name": self.name,
            "algorithm": self.algorithm,
            "rotation_period": self.rotation_period,
            "verification_ttl": self.verification_ttl,
            "allowed_client_ids": list(self.allowed_client_ids),
            "next_rotation": self.next_rotation,
            "signing": pair(self.signing),
            "next_signing": pair(self.next_signing),
            "ring": [list(entry) for entry in self.ring],
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> NamedKey:
        def pair(value: dict[str, str] | None) -> SigningKey | None:
            return None if value is None else SigningKey(value["kid"], value["pem"])

        return cls(
            name=raw["name"],
            algorithm=raw["algorithm"],
            rotation_period=raw["rotation_period"],
            verification_ttl=raw["verification_ttl"],
            allowed_client_ids=tuple(raw["allowed_client_ids"]),
            next_rotation=raw["next_rotation"],
            signing=pair(raw["signing"]),
            next_signing=pair(raw["next_signing"]),
            ring=tuple((kid, float(at)) for kid, at in raw["ring"]),
        )


@functools.lru_cache(maxsize=64)
def _loaded(pem: str) -> PrivateKey:
    """A private key from its PEM, kept: loading an RSA key checks it at length (tens of milliseconds),
    and the same few keys sign every token."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey)
    return key


def _generate(algorithm: str) -> PrivateKey:
    if algorithm.startswith("RS"):
        # 2048 bits, as Vault: RSA Laboratories' minimum after 2015.
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm]())
    return ed25519.Ed25519PrivateKey.generate()


def public_jwk(key: PrivateKey, kid: str, algorithm: str) -> dict[str, Any]:
    """The public half as a JWK, with the fields Vault's key set gives each key."""
    # PyJWT loads on first use, not at server start (tests/unit/test_start_imports.py).
    from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

    public = key.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    # PyJWT names RSA keys' key_ops; Vault's key set does not, and "use" already says what they are for.
    jwk.pop("key_ops", None)
    return {"use": "sig", "kid": kid, "alg": algorithm, **jwk}


async def new_pair(storage: Storage, algorithm: str) -> SigningKey:
    """A fresh key pair for `algorithm`, its public half stored for the key set."""
    # RSA generation takes a tenth of a second or more: off the event loop, so other requests go on.
    private = await asyncio.to_thread(_generate, algorithm)
    kid = new_uuid()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    await put_json(storage, PUBLIC_KEYS + kid, public_jwk(private, kid, algorithm))
    return SigningKey(kid, pem)


async def load_key(storage: Storage, name: str) -> NamedKey | None:
    raw = await get_json(storage, NAMED_KEYS + name)
    return None if raw is None else NamedKey.from_json(raw)


async def store_key(storage: Storage, key: NamedKey) -> None:
    await put_json(storage, NAMED_KEYS + key.name, key.to_json())


async def with_new_pairs(storage: Storage, key: NamedKey) -> NamedKey:
    """`key` signing with a fresh pair and holding the next one (a new key, or a new algorithm)."""
    signing = await new_pair(storage, key.algorithm)
    following = await new_pair(storage, key.algorithm)
    ring = (*key.ring, (signing.kid, 0.0), (following.kid, 0.0))
    return replace(key, signing=signing, next_signing=following, ring=ring)


async def rotate(
    storage: Storage, key: NamedKey, now: float, verification_ttl: int | None = None
) -> NamedKey:
    """The next pair signs from now on; the one that signed stays published for `verification_ttl` (the
    key's own unless given). Stored before it is returned."""
    keep = key.verification_ttl if verification_ttl is None else verification_ttl
    retired = None if key.signing is None else key.signing.kid
    ring = tuple((kid, now + keep if kid == retired else at) for kid, at in key.ring)
    following = await new_pair(storage, key.algorithm)
    rotated = replace(
        key,
        signing=key.next_signing or await new_pair(storage, key.algorithm),
        next_signing=following,
        next_rotation=now + key.rotation_period,
        ring=(*ring, (following.kid, 0.0)),
    )
    await store_key(storage, rotated)
    return rotated


async def current(storage: Storage, key: NamedKey, now: float) -> NamedKey:
    """`key` as a timer would have left it by `now`: rotated when its rotation time has passed."""
    if key.next_rotation and now >= key.next_rotation:
        return await rotate(storage, key, now)
    return key


async def expire(storage: Storage, now: float) -> list[NamedKey]:
    """Every named key (rotated when due) without the key IDs whose publication has ended, and the public
    keys no named key holds any more deleted. Returns the keys as they now stand."""
    keys: list[NamedKey] = []
    for name in await storage.list(NAMED_KEYS):
        key = await load_key(storage, name)
        if key is None:
            continue
        key = await current(storage, key, now)
        live = tuple((kid, at) for kid, at in key.ring if not at or at >= now)
        if live != key.ring:
            key = replace(key, ring=live)
            await store_key(storage, key)
        keys.append(key)
    used = {kid for key in keys for kid, _ in key.ring}
    for kid in await storage.list(PUBLIC_KEYS):
        if kid not in used:
            await storage.delete(PUBLIC_KEYS + kid)
    return keys


async def key_set(storage: Storage, now: float, key_names: set[str]) -> list[dict[str, Any]]:
    """The published JWKs: every live key ID of the named keys in `key_names` (those some role uses)."""
    published: list[dict[str, Any]] = []
    for key in await expire(storage, now):
        if key.name not in key_names:
            continue
        for kid, _ in key.ring:
            jwk = await get_json(storage, PUBLIC_KEYS + kid)
            if jwk is not None:
                published.append(jwk)
    return published


def sign(key: NamedKey, claims: dict[str, Any]) -> str:
    """A compact JWS of `claims` by the key's current pair, its `kid` in the header."""
    if key.signing is None:
        raise ValueError("signing key is nil; rotate the key and try again")
    import jwt

    payload = json.dumps(claims, separators=(",", ":")).encode()
    return jwt.api_jws.encode(
        payload, key.signing.private(), algorithm=key.algorithm, headers={"kid": key.signing.kid}
    )


def verified_claims(token: str, published: list[dict[str, Any]]) -> dict[str, Any] | str:
    """The claims of `token` when a key of `published` signed it, else why not (go-jose's words where
    Vault shows them). Expiry, issuer and audience are the caller's to check."""
    import jwt

    if token.count(".") != 2:
        return "error parsing token: go-jose/go-jose: compact JWS format must have three parts"
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as exc:
        return f"error parsing token: {exc}"
    if header.get("alg") not in ALGORITHMS:
        return "error parsing token: unexpected signature algorithm"
    for jwk in published:
        try:
            return dict(
                jwt.decode(
                    token,
                    jwt.PyJWK(jwk).key,
                    algorithms=[jwk["alg"]],
                    options={
                        "verify_exp": False,
                        "verify_aud": False,
                        "verify_iss": False,
                        "verify_iat": False,
                    },
                )
            )
        except jwt.InvalidTokenError:
            continue
    return "unable to validate the token signature"
