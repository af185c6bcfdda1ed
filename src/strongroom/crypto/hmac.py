"""Salted hashes: Vault's identified HMAC for audit logs, and the hex hash that stores token IDs.

Bottom layer: stdlib only.

Invariant: a token ID or secret value is only ever stored or logged as one of these salted hashes.
"""

from __future__ import annotations

import hashlib
import hmac as _hmac

HMAC_PREFIX = "hmac-sha256:"


def salted_hash(salt: bytes, value: str | bytes) -> str:
    """Hex HMAC-SHA256 of `value` keyed by `salt`: how token IDs and secret IDs are stored."""
    data = value.encode() if isinstance(value, str) else value
    # The one-shot digest runs in C without building an HMAC object: several per request.
    return _hmac.digest(salt, data, hashlib.sha256).hex()


def identified_hmac(salt: bytes, value: str | bytes) -> str:
    """`"hmac-sha256:<hex>"`, Vault's form for hashed values in audit logs."""
    return HMAC_PREFIX + salted_hash(salt, value)
