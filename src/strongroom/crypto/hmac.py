"""Salted hashes: Vault's identified HMAC for audit logs, and the hex hash that stores token IDs.

Bottom layer: stdlib only.

Invariant: a token ID or secret value is only ever stored or logged as one of these salted hashes.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac

HMAC_PREFIX = "hmac-sha256:"
_BLOCK = 64  # SHA-256's block size: HMAC's key pads are this long


class SaltedHasher:
    """HMAC-SHA256 under one salt, with the keyed inner and outer states computed once.

    Every request hashes its token (and an audit device every token, accessor and string it logs) under
    the same few salts: copying the two keyed states costs half of the one-shot digest, which re-derives
    them each time. The owner holds the hasher as long as it holds the salt, and drops both together.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, salt: bytes) -> None:
        key = hashlib.sha256(salt).digest() if len(salt) > _BLOCK else salt
        key = key.ljust(_BLOCK, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def __repr__(self) -> str:
        return "SaltedHasher(<salt>)"

    def hex(self, value: str | bytes) -> str:
        """Hex HMAC-SHA256 of `value` (as `salted_hash` with this salt)."""
        inner = self._inner.copy()
        inner.update(value.encode() if isinstance(value, str) else value)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def salted_hash(salt: bytes, value: str | bytes) -> str:
    """Hex HMAC-SHA256 of `value` keyed by `salt`: how token IDs and secret IDs are stored."""
    data = value.encode() if isinstance(value, str) else value
    # The one-shot digest runs in C without building an HMAC object.
    return _hmac.digest(salt, data, hashlib.sha256).hex()


def identified_hmac(salt: bytes, value: str | bytes) -> str:
    """`"hmac-sha256:<hex>"`, Vault's form for hashed values in audit logs."""
    return HMAC_PREFIX + salted_hash(salt, value)
