"""Private keys for the pki engine: generation, Vault's key type rules, PEM/DER encodings, serial text.
Layer: builtin (pure domain logic; imports cryptography and errors only, never the framework).

Invariant: a private key leaves this module only as the encoding a caller asked for; no message carries one.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from strongroom.errors import InvalidRequestError

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

RSA_BITS = (2048, 3072, 4096, 8192)
EC_CURVES: dict[int, ec.EllipticCurve] = {
    224: ec.SECP224R1(),
    256: ec.SECP256R1(),
    384: ec.SECP384R1(),
    521: ec.SECP521R1(),
}
# Vault's PEM block names for each key type's default (not PKCS#8) encoding.
_PEM_TYPES = {"rsa": "RSA PRIVATE KEY", "ec": "EC PRIVATE KEY", "ed25519": "PRIVATE KEY"}


def validate_key_params(key_type: str, key_bits: int, *, allow_any: bool = False) -> tuple[str, int]:
    """Vault's certutil.ValidateKeyTypeLength: (type, bits with 0 filled by the type's default), or 400."""
    if key_type == "rsa":
        if key_bits == 0:
            return key_type, 2048
        if key_bits < 2048:
            raise InvalidRequestError(f"RSA keys < 2048 bits are unsafe and not supported: got {key_bits}")
        if key_bits not in RSA_BITS:
            raise InvalidRequestError(f"unsupported bit length for RSA key: {key_bits}")
        return key_type, key_bits
    if key_type == "ec":
        if key_bits == 0:
            return key_type, 256
        if key_bits not in EC_CURVES:
            raise InvalidRequestError(f"unsupported bit length for EC key: {key_bits}")
        return key_type, key_bits
    if key_type == "ed25519":
        return key_type, 0
    if key_type == "any" and allow_any:
        return key_type, 0
    raise InvalidRequestError(f"unknown key type {key_type}")


def generate_key(key_type: str, key_bits: int) -> PrivateKey:
    """A fresh key of a validated type and size."""
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=key_bits)
    if key_type == "ec":
        return ec.generate_private_key(EC_CURVES[key_bits])
    return ed25519.Ed25519PrivateKey.generate()


def key_type_of(key: PrivateKey | PublicKey) -> str:
    """Vault's name for the key's type: rsa, ec or ed25519."""
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return "rsa"
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return "ec"
    return "ed25519"


def key_bits_of(key: PublicKey) -> int:
    """The key's size as Vault compares it with a role's key_bits (0 for ed25519)."""
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        return key.key_size
    return 0


_SIGNATURE_HASHES: dict[int, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    256: hashes.SHA256,
    384: hashes.SHA384,
    512: hashes.SHA512,
}


def signature_hash(key: PrivateKey, bits: int = 0) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512 | None:
    """The digest Vault signs with: a role's signature_bits (256, 384 or 512) when set, else SHA-256, or for
    EC the one matching the curve; none for ed25519."""
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    if bits in _SIGNATURE_HASHES:
        return _SIGNATURE_HASHES[bits]()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.key_size > 384:
            return hashes.SHA512()
        if key.curve.key_size > 256:
            return hashes.SHA384()
        return hashes.SHA256()
    return hashes.SHA256()


def private_key_der(key: PrivateKey, *, pkcs8: bool = False) -> tuple[bytes, str]:
    """(DER bytes, PEM block name): PKCS#1 for RSA and SEC1 for EC as Vault gives them, unless `pkcs8`."""
    kind = key_type_of(key)
    if pkcs8 or kind == "ed25519":
        form = serialization.PrivateFormat.PKCS8
        block = "PRIVATE KEY"
    else:
        form = serialization.PrivateFormat.TraditionalOpenSSL
        block = _PEM_TYPES[kind]
    der = key.private_bytes(serialization.Encoding.DER, form, serialization.NoEncryption())
    return der, block


def encode_key(key: PrivateKey, output: str, *, pkcs8: bool = False) -> str:
    """The key as the response shows it: PEM (output "pem"/"pem_bundle") or base64 DER ("der")."""
    der, block = private_key_der(key, pkcs8=pkcs8)
    if output == "der":
        return base64.b64encode(der).decode()
    return pem_text(block, der)


def pem_text(block: str, der: bytes) -> str:
    """A PEM block without its final newline, as Vault's JSON fields carry it."""
    body = base64.b64encode(der).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return "\n".join([f"-----BEGIN {block}-----", *lines, f"-----END {block}-----"])


def dump_key(key: PrivateKey) -> str:
    """The key as stored (PKCS#8 PEM)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_key(text: str) -> PrivateKey:
    """A stored key back."""
    key = serialization.load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise InvalidRequestError("unsupported stored key type")
    return key


def public_key_der(key: PrivateKey | PublicKey) -> bytes:
    """The SubjectPublicKeyInfo, to match a key with a certificate."""
    public = key.public_key() if not isinstance(key, PublicKey) else key
    return public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def serial_text(serial: int) -> str:
    """Vault's serial form: the big-endian bytes in lowercase hex, colon-separated; of the absolute value,
    as Go's big.Int.Bytes() (a certificate sent to be revoked may carry a negative serial)."""
    raw = abs(serial).to_bytes(max(1, (serial.bit_length() + 7) // 8), "big")
    return ":".join(f"{byte:02x}" for byte in raw)


def normalize_serial(text: str) -> str:
    """A serial as given in a path or request (colons or hyphens, any case) in Vault's stored form."""
    return text.strip().lower().replace("-", ":")
