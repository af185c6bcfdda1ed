"""Transit's wire encodings: Go-compatible base64 decoding errors and the "vault:vN:" envelope.

Layer: builtin (pure; stdlib and the transit models only). Vault's clients parse the envelope, so its
prefix stays "vault:v" and its error texts stay Vault's.
"""

from __future__ import annotations

import base64
import binascii

from strongroom.builtin.secrets.transit.models import TransitError

PREFIX = "vault:v"
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str) -> bytes:
    """Standard base64 as Go's StdEncoding reads it (newlines ignored), or its error text."""
    raw = text.replace("\r", "").replace("\n", "").encode("utf-8", "surrogatepass")
    body = raw.rstrip(b"=")
    for index, char in enumerate(body):
        if char not in _ALPHABET:
            raise TransitError(f"illegal base64 data at input byte {index}")
    if len(raw) % 4:
        raise TransitError(f"illegal base64 data at input byte {len(raw) - len(raw) % 4}")
    try:
        return base64.b64decode(raw, validate=True)
    except binascii.Error:
        raise TransitError(f"illegal base64 data at input byte {len(body)}") from None


def wrap(version: int, payload: str) -> str:
    """The envelope of an encoded ciphertext, signature or HMAC made with key `version`."""
    return f"{PREFIX}{version}:{payload}"


def unwrap(value: str, what: str) -> tuple[int, str]:
    """(version, encoded payload) of an envelope; `what` names it in errors as Vault does
    ("ciphertext", "signature", "HMAC")."""
    if not value.startswith(PREFIX):
        prefix = "invalid HMAC to verify" if what == "HMAC" else f"invalid {what}"
        raise TransitError(f"{prefix}: no prefix")
    version_text, sep, payload = value[len(PREFIX) :].partition(":")
    if not sep:
        raise TransitError(f"invalid {what}: wrong number of fields")
    try:
        version = int(version_text, 10)
    except ValueError:
        raise TransitError(f"invalid {what}: version number could not be decoded") from None
    # Vault's legacy ciphertexts carried v0 for what is now version 1.
    return (version or 1), payload
