"""OpenPGP encryption of key shares and root tokens to their holders' public keys, as Vault's pgp_keys do.

Bottom layer: pysequoia (Sequoia-PGP) only, imported on first use: most servers never see a PGP key.
Keys arrive as Vault takes them: base64 of a binary (unarmored) public key. Messages leave binary, for the
caller to hex- or base64-encode; a holder opens one with `base64 -d | gpg -dq`.

Invariant: what is encrypted never appears in an error; errors carry Vault's wording and the parser's reason.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pysequoia import Cert

_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/=]")


class PGPKeyError(ValueError):
    """A public key that cannot be decoded or parsed; the message is Vault's."""


@dataclass(frozen=True, slots=True)
class PublicKey:
    """One holder's parsed public key."""

    cert: Cert
    fingerprint: str
    """Lower-case hex, as Vault reports it in pgp_fingerprints."""

    def encrypt(self, plaintext: bytes) -> bytes:
        """A binary OpenPGP message only this key's owner can open."""
        from pysequoia import encrypt

        return bytes(encrypt(plaintext, recipients=[self.cert], armor=False))


def parse_public_key(text: str) -> PublicKey:
    """The key in `text` (base64 of a binary public key); PGPKeyError in Vault's words otherwise."""
    raw = text.encode()
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        at = _bad_byte(raw)
        raise PGPKeyError(f"error decoding given PGP key: illegal base64 data at input byte {at}") from None
    from pysequoia import Cert

    try:
        cert = Cert.from_bytes(data)
    except Exception as exc:  # pysequoia raises its own untyped errors for any malformed packet
        raise PGPKeyError(f"error parsing given PGP key: {_reason(exc)}") from None
    if cert.has_secret_keys:
        # A private key would be accepted by the parser; refusing it keeps it out of stored configs.
        raise PGPKeyError("error parsing given PGP key: a private key was given; give the public key")
    return PublicKey(cert=cert, fingerprint=str(cert.fingerprint).lower())


def parse_public_keys(texts: list[str]) -> list[PublicKey]:
    """Every key of `texts`, in order."""
    return [parse_public_key(text) for text in texts]


def _bad_byte(raw: bytes) -> int:
    """Where Go's base64 decoder stops, near enough: the first character outside the alphabet, else the
    length (the padding is wrong)."""
    found = _NOT_BASE64.search(raw)
    return found.start() if found else len(raw) - len(raw) % 4


def _reason(exc: Exception) -> str:
    first = str(exc).strip().splitlines()
    return first[0] if first else "malformed key"


def public_key_text(data: bytes) -> str:
    """A key file's content as Vault's API takes it, read as the Vault CLI reads it: an armored key is
    de-armored, base64 text passes as it is, anything else (a binary key) is base64-encoded."""
    if data.lstrip().startswith(b"-----BEGIN PGP"):
        from pysequoia import Cert

        try:
            certs = Cert.split_bytes(data)
        except Exception as exc:  # pysequoia raises its own untyped errors for any malformed packet
            raise PGPKeyError(f"error parsing given PGP key: {_reason(exc)}") from None
        if len(certs) != 1:
            raise PGPKeyError("more than one key found in file")
        return base64.b64encode(bytes(certs[0])).decode()
    text = data.strip()
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return base64.b64encode(data).decode()
    return text.decode()
