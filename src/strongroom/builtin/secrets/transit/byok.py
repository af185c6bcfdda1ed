"""Bring your own key: the mount's RSA-4096 wrapping key and the unwrapping of keys imported under it.

Layer: builtin (pure crypto; the `cryptography` library and the transit models, never the framework).
The import format is Vault's (CKM_RSA_AES_KEY_WRAP): base64 of the 512-byte RSA-OAEP encryption of an
ephemeral AES-256 key, followed by the AES key wrap with padding (RFC 5649) of the target key under that
ephemeral key. The target is the raw key for symmetric types and PKCS#8 DER for asymmetric ones.

Invariant: unwrapped material leaves this module only inside a KeyVersion; errors never carry it.
"""

from __future__ import annotations

import os

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from strongroom.builtin.secrets.transit import encoding, keygen
from strongroom.builtin.secrets.transit.models import KeyType, KeyVersion, TransitError

WRAPPING_KEY_BITS = 4096
ENCRYPTED_KEY_BYTES = WRAPPING_KEY_BITS // 8
OAEP_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "SHA1": hashes.SHA1,
    "SHA224": hashes.SHA224,
    "SHA256": hashes.SHA256,
    "SHA384": hashes.SHA384,
    "SHA512": hashes.SHA512,
}
_CURVE_NAMES = {KeyType.ECDSA_P256: "secp256r1", KeyType.ECDSA_P384: "secp384r1"}
_GO_CURVES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
_RSA_BYTES = {KeyType.RSA_2048: 256, KeyType.RSA_3072: 384, KeyType.RSA_4096: 512}


def new_wrapping_key() -> bytes:
    """A fresh RSA-4096 wrapping key as PKCS#8 DER."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=WRAPPING_KEY_BITS)
    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _load_wrapping_key(der: bytes) -> rsa.RSAPrivateKey:
    private = serialization.load_der_private_key(der, password=None)
    assert isinstance(private, rsa.RSAPrivateKey)
    return private


def public_pem(der: bytes) -> str:
    """The wrapping key's public half as PKIX PEM, as Vault serves it."""
    public = _load_wrapping_key(der).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def hash_function(name: str) -> hashes.HashAlgorithm:
    """The OAEP hash called `name` (any case), or Vault's refusal."""
    found = OAEP_HASHES.get(name.upper())
    if found is None:
        raise TransitError(f"unknown hash function: {name}")
    return found()


def unwrap(wrapping_der: bytes, ciphertext: str, oaep_hash: hashes.HashAlgorithm) -> bytes:
    """The target key carried by an import `ciphertext`."""
    blob = encoding.b64decode(ciphertext)
    if len(blob) <= ENCRYPTED_KEY_BYTES:
        raise TransitError("provided ciphertext is too short")
    oaep = padding.OAEP(mgf=padding.MGF1(oaep_hash), algorithm=oaep_hash, label=None)
    try:
        ephemeral = _load_wrapping_key(wrapping_der).decrypt(blob[:ENCRYPTED_KEY_BYTES], oaep)
    except ValueError:
        raise TransitError("crypto/rsa: decryption error") from None
    if len(ephemeral) != 32:
        raise TransitError("expected ephemeral AES key to be 256-bit")
    try:
        return aes_key_unwrap_with_padding(ephemeral, blob[ENCRYPTED_KEY_BYTES:])
    except (InvalidUnwrap, ValueError):
        raise TransitError("kwp: failed to unwrap the target key") from None


def _check_curve(key_type: KeyType, curve: ec.EllipticCurve) -> None:
    if curve.name != _CURVE_NAMES[key_type]:
        expected = _GO_CURVES[_CURVE_NAMES[key_type]]
        raise TransitError(f"invalid curve: expected {expected}, got {_GO_CURVES.get(curve.name)}")


def _check_rsa_size(key_type: KeyType, bits: int) -> None:
    size = (bits + 7) // 8
    if size != _RSA_BYTES[key_type]:
        raise TransitError(f"invalid key size: expected {_RSA_BYTES[key_type]} bytes, got {size} bytes")


def imported_version(key_type: KeyType, material: bytes, now: float, *, derived: bool) -> KeyVersion:
    """A key version holding imported `material`, or Vault's refusal of it for `key_type`."""
    if key_type is KeyType.HMAC:
        if not keygen.HMAC_MIN_KEY_SIZE <= len(material) <= keygen.HMAC_MAX_KEY_SIZE:
            raise TransitError(f"invalid key size {len(material)} bytes for key type {key_type}")
        return KeyVersion(material, material, now)
    hmac_key = os.urandom(keygen.HMAC_KEY_SIZE)
    if key_type.secret_bytes:
        if len(material) != keygen.SYMMETRIC_SIZE[key_type]:
            raise TransitError(f"invalid key size {len(material)} bytes for key type {key_type}")
        return KeyVersion(material, hmac_key, now)
    try:
        private = serialization.load_der_private_key(material, password=None)
    except (ValueError, TypeError):
        raise TransitError("error parsing asymmetric key: x509: failed to parse private key") from None
    if isinstance(private, ed25519.Ed25519PrivateKey):
        if key_type is not KeyType.ED25519:
            raise TransitError(f"invalid key type: expected {key_type}, got ed25519.PrivateKey")
        seed = private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return KeyVersion(seed, hmac_key, now, "" if derived else keygen.public_form(key_type, private))
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if not key_type.ecdsa:
            raise TransitError(f"invalid key type: expected {key_type}, got *ecdsa.PrivateKey")
        if private.curve.name != _CURVE_NAMES[key_type]:
            expected = _GO_CURVES[_CURVE_NAMES[key_type]]
            raise TransitError(
                f"invalid curve: expected {expected}, got {_GO_CURVES.get(private.curve.name)}"
            )
    elif isinstance(private, rsa.RSAPrivateKey):
        if not key_type.rsa:
            raise TransitError(f"invalid key type: expected {key_type}, got *rsa.PrivateKey")
        _check_rsa_size(key_type, private.key_size)
    else:
        raise TransitError(f"invalid key type: expected {key_type}")
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyVersion(der, hmac_key, now, keygen.public_form(key_type, private))


def imported_public_version(key_type: KeyType, pem: str, now: float, *, derived: bool) -> KeyVersion:
    """A version holding only the public key in `pem` (it verifies and, for RSA, encrypts; nothing more
    until its private key is imported)."""
    if key_type.secret_bytes:
        raise TransitError("provided type does not support public_key import")
    if key_type is KeyType.ED25519 and derived:
        raise TransitError(
            "unable to import only public key for derived Ed25519 key: imported key should not be an Ed25519 "
            "key pair but is instead an HKDF key"
        )
    if "-----BEGIN" not in pem:
        raise TransitError("error parsing public key: not in PEM format")
    try:
        public = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise TransitError("error parsing public key: x509: failed to parse public key") from None
    if isinstance(public, ed25519.Ed25519PublicKey):
        if key_type is not KeyType.ED25519:
            raise TransitError(f"invalid key type: expected {key_type}, got ed25519.PublicKey")
    elif isinstance(public, ec.EllipticCurvePublicKey):
        if not key_type.ecdsa:
            raise TransitError(f"invalid key type: expected {key_type}, got *ecdsa.PublicKey")
        _check_curve(key_type, public.curve)
    elif isinstance(public, rsa.RSAPublicKey):
        if not key_type.rsa:
            raise TransitError(f"invalid key type: expected {key_type}, got *rsa.PublicKey")
        _check_rsa_size(key_type, public.key_size)
    else:
        raise TransitError(f"invalid key type: expected {key_type}")
    return KeyVersion(b"", os.urandom(keygen.HMAC_KEY_SIZE), now, keygen.public_form(key_type, public))


def with_private_key(key_type: KeyType, version: KeyVersion, material: bytes) -> KeyVersion:
    """`version` (imported as its public key alone) completed with the private key in `material`."""
    completed = imported_version(key_type, material, version.creation_time, derived=False)
    if completed.public_key != version.public_key:
        raise TransitError("cannot import key, key pair does not match")
    return KeyVersion(completed.key, version.hmac_key, version.creation_time, version.public_key)
