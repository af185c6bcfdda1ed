"""Key material: generating a version, deriving a per-context key, and the public and exportable forms.

Layer: builtin (pure crypto; the `cryptography` library and the transit models, never the framework).
Material is stored as raw bytes: symmetric keys and ed25519 seeds as they are, ECDSA and RSA keys as
PKCS#8 DER.

Invariant: material leaves this module only inside a KeyVersion or through `export_form`.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from strongroom.builtin.secrets.transit.models import KeyType, KeyVersion, TransitError

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey

SYMMETRIC_SIZE = {
    KeyType.AES128_GCM96: 16,
    KeyType.AES256_GCM96: 32,
    KeyType.CHACHA20_POLY1305: 32,
    KeyType.AES128_CMAC: 16,
    KeyType.AES192_CMAC: 24,
    KeyType.AES256_CMAC: 32,
}
_CURVES = {KeyType.ECDSA_P256: ec.SECP256R1, KeyType.ECDSA_P384: ec.SECP384R1}
_RSA_BITS = {KeyType.RSA_2048: 2048, KeyType.RSA_3072: 3072, KeyType.RSA_4096: 4096}
HMAC_KEY_SIZE = 32
HMAC_MIN_KEY_SIZE, HMAC_MAX_KEY_SIZE = 256 // 8, 4096 // 8

MISSING_CONTEXT = (
    "missing 'context' for key derivation; the key was created using a derived key, which means additional, "
    "per-request information must be included in order to perform operations with the key"
)


def generate(key_type: KeyType, now: float, *, derived: bool = False, key_size: int = 0) -> KeyVersion:
    """A fresh version of `key_type` created at `now` (`key_size` bytes for an HMAC key)."""
    if key_type is KeyType.HMAC:
        if not HMAC_MIN_KEY_SIZE <= key_size <= HMAC_MAX_KEY_SIZE:
            bounds = f"{HMAC_MIN_KEY_SIZE} and {HMAC_MAX_KEY_SIZE}"
            raise TransitError(f"invalid key size for HMAC key, must be between {bounds} bytes")
        key = os.urandom(key_size)
        return KeyVersion(key, key, now)
    hmac_key = os.urandom(HMAC_KEY_SIZE)
    if key_type.secret_bytes:
        return KeyVersion(os.urandom(SYMMETRIC_SIZE[key_type]), hmac_key, now)
    if key_type is KeyType.ED25519:
        seed = os.urandom(32)
        public = "" if derived else public_form(key_type, _ed25519(seed))
        return KeyVersion(seed, hmac_key, now, public)
    private: PrivateKey
    if key_type.ecdsa:
        private = ec.generate_private_key(_CURVES[key_type]())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_BITS[key_type])
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyVersion(der, hmac_key, now, public_form(key_type, private))


def derive(master: bytes, context: bytes | None, derived: bool, length: int = 0) -> bytes:
    """The key to use: `master` itself, or for a derived key HKDF-SHA256 of it over `context` (`length`
    bytes, as long as `master` when 0)."""
    if not derived:
        return master
    if not context:
        raise TransitError(MISSING_CONTEXT)
    size = length or len(master)
    return HKDF(algorithm=hashes.SHA256(), length=size, salt=None, info=context).derive(master)


def private_key(key_type: KeyType, material: bytes) -> PrivateKey:
    """The asymmetric private key held in `material` (an ed25519 seed, or PKCS#8 DER)."""
    if key_type is KeyType.ED25519:
        return _ed25519(material)
    loaded = serialization.load_der_private_key(material, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TransitError(f"unexpected key material for key type {key_type}")
    return loaded


def _ed25519(seed: bytes) -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def public_key(key_type: KeyType, version: KeyVersion) -> PublicKey:
    """The public half of an asymmetric version, whether or not its private key was imported."""
    if version.key:
        return private_key(key_type, version.key).public_key()
    if key_type is KeyType.ED25519:
        return ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(version.public_key))
    loaded = serialization.load_pem_public_key(version.public_key.encode("ascii"))
    if not isinstance(loaded, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise TransitError(f"unexpected public key for key type {key_type}")
    return loaded


def public_form(key_type: KeyType, key: PrivateKey | PublicKey) -> str:
    """The public key as Vault shows it: base64 raw bytes for ed25519, PKIX PEM otherwise."""
    public = key if isinstance(key, PublicKey) else key.public_key()
    if isinstance(public, ed25519.Ed25519PublicKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return base64.b64encode(raw).decode("ascii")
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode("ascii")


def export_form(key_type: KeyType, version: KeyVersion, kind: str) -> str:
    """One version's material in Vault's export encoding for `kind` (encryption-key, signing-key,
    hmac-key, public-key)."""
    if kind == "hmac-key":
        return base64.b64encode(version.hmac_key).decode("ascii")
    if kind == "public-key":
        return version.public_key
    if key_type.symmetric:
        return base64.b64encode(version.key).decode("ascii")
    if not version.key:
        return ""  # Vault exports nothing for a version imported as its public key alone
    private = private_key(key_type, version.key)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        # Go's ed25519.PrivateKey: seed followed by the public key.
        return base64.b64encode(version.key + public).decode("ascii")
    if isinstance(private, ec.EllipticCurvePrivateKey):
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        # Vault trims the PEM of an ECDSA key (only that one) of its final newline.
        return pem.decode("ascii").strip()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return pem.decode("ascii")
