"""SSH key pairs as Vault's SSH engine makes and reads them: generation by OpenSSH type or algorithm name,
the PEM forms Go writes (PKCS#1 for RSA, SEC1 for ECDSA, OpenSSH for Ed25519), authorized_keys lines.

Layer: builtin (pure functions over the cryptography library; no framework).
Invariant: private key text appears in no error message.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey

_CURVES: dict[str, ec.EllipticCurve] = {
    "ecdsa-sha2-nistp256": ec.SECP256R1(),
    "ecdsa-sha2-nistp384": ec.SECP384R1(),
    "ecdsa-sha2-nistp521": ec.SECP521R1(),
}
_BASE64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
_CURVE_BY_BITS: dict[int, ec.EllipticCurve] = {256: ec.SECP256R1(), 384: ec.SECP384R1(), 521: ec.SECP521R1()}


class SshKeyError(ValueError):
    """A user error about a key, worded as Vault words it."""


@dataclass(frozen=True, slots=True)
class KeyPair:
    """A generated pair: the authorized_keys line of the public half and the PEM of the private half."""

    public_key: str
    private_key: str


_RSA_MAX_BITS = 16384


def generate(key_type: str, key_bits: int) -> KeyPair:
    """A new pair of `key_type` ("ssh-rsa" or "rsa", an ECDSA type or "ec", "ssh-ed25519" or "ed25519")."""
    private: PrivateKey
    if key_type in ("ssh-rsa", "rsa"):
        bits = key_bits or 4096
        if bits < 2048:
            raise SshKeyError(f"refusing to generate weak {key_type} key: {bits} bits < 2048 bits")
        # Past OpenSSL's OPENSSL_RSA_MAX_MODULUS_BITS a key is unusable (and generating one would hold the
        # event loop for minutes, or fail inside OpenSSL); Go would try and hang.
        if bits > _RSA_MAX_BITS:
            raise SshKeyError(f"refusing to generate {key_type} key: {bits} bits > {_RSA_MAX_BITS} bits")
        private = rsa.generate_private_key(65537, bits)
        pem_format = serialization.PrivateFormat.TraditionalOpenSSL
    elif key_type in _CURVES or key_type == "ec":
        curve = _CURVES.get(key_type) or _CURVE_BY_BITS.get(key_bits or 256)
        if curve is None:
            raise SshKeyError(f"unknown ECDSA key pair algorithm and bits: {key_type} / {key_bits}")
        private = ec.generate_private_key(curve)
        pem_format = serialization.PrivateFormat.TraditionalOpenSSL
    elif key_type in ("ssh-ed25519", "ed25519"):
        private = ed25519.Ed25519PrivateKey.generate()
        pem_format = serialization.PrivateFormat.OpenSSH
    else:
        raise SshKeyError(f"unknown ssh key pair algorithm: {key_type}")
    pem = private.private_bytes(serialization.Encoding.PEM, pem_format, serialization.NoEncryption())
    return KeyPair(authorized_key(private.public_key()), pem.decode())


def authorized_key(public: PublicKey) -> str:
    """The authorized_keys line of `public`, newline-terminated (Go's ssh.MarshalAuthorizedKey)."""
    return (
        public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        + "\n"
    )


def parse_public(text: str) -> PublicKey:
    """The key of an authorized_keys line (or of its bare base64 part), as Vault reads one."""
    parts = text.split(" ")
    # Go's base64 decoder skips line breaks (an authorized_keys line ends with one).
    blob = (parts[1] if len(parts) > 1 else text).replace("\r", "").replace("\n", "")
    try:
        raw = base64.b64decode(blob, validate=True)
    except ValueError:
        offset = next((i for i, c in enumerate(blob) if c not in _BASE64), len(blob) - len(blob) % 4)
        raise SshKeyError(f"illegal base64 data at input byte {offset}") from None
    if len(raw) < 4:
        raise SshKeyError("ssh: short read")
    length = int.from_bytes(raw[:4], "big")
    kind = raw[4 : 4 + length]
    try:
        loaded = serialization.load_ssh_public_key(kind + b" " + base64.b64encode(raw))
    except UnsupportedAlgorithm:
        raise SshKeyError(f"ssh: unknown key algorithm: {kind.decode(errors='replace')}") from None
    except ValueError:
        raise SshKeyError("ssh: short read") from None
    if not isinstance(loaded, PublicKey):
        raise SshKeyError(f"ssh: unknown key algorithm: {kind.decode(errors='replace')}")
    return loaded


def parse_private(text: str) -> PrivateKey:
    """The key of a PEM private key in any form Go's ssh.ParsePrivateKey reads (PKCS#1, SEC1, PKCS#8,
    OpenSSH)."""
    data = text.encode()
    loaded: object
    try:
        if b"OPENSSH PRIVATE KEY" in data:
            loaded = serialization.load_ssh_private_key(data, password=None)
        else:
            loaded = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise SshKeyError("ssh: no key found") from None
    if not isinstance(loaded, PrivateKey):
        raise SshKeyError("ssh: unsupported key type")
    return loaded


def wire(public: PublicKey) -> bytes:
    """The SSH wire encoding of `public` (what Vault hashes for a key ID)."""
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return base64.b64decode(line.split(b" ")[1])


def public_key_hash(public: PublicKey) -> str:
    """Vault's {{public_key_hash}}: the SHA-256 of the key's wire encoding, in hex."""
    return hashlib.sha256(wire(public)).hexdigest()


def kind_and_bits(public: PublicKey) -> tuple[str, int]:
    """Vault's names for a key's type ("rsa", "ecdsa", "ed25519") and its size in bits (0 for Ed25519)."""
    if isinstance(public, rsa.RSAPublicKey):
        return "rsa", public.key_size
    if isinstance(public, ec.EllipticCurvePublicKey):
        return "ecdsa", public.curve.key_size
    return "ed25519", 0
