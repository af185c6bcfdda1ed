"""Random identifiers in Vault's formats. Bottom layer: stdlib only.

Invariant: every identifier that grants access (token IDs, accessors) comes from `secrets`, never `random`.
"""

from __future__ import annotations

import secrets
import string

_BASE62 = string.ascii_letters + string.digits
# A version 4 UUID's variant digit is 10xx in binary: 8, 9, a or b, from two random bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
# Random bytes map to base62 characters by value mod 62; bytes at or above 248 (4 * 62) are dropped first so
# every character stays equally likely. One C-level translate replaces a secrets.choice call per character.
_ALPHABET = (_BASE62 * 4).encode().ljust(256, b"\0")
_UNEVEN = bytes(range(len(_BASE62) * 4, 256))


def base62(length: int) -> str:
    """A random base62 string of `length` characters."""
    drawn = b""
    while len(drawn) < length:
        drawn += secrets.token_bytes(length + 8).translate(_ALPHABET, _UNEVEN)
    return drawn[:length].decode()


def new_uuid() -> str:
    """A random (version 4) UUID in its canonical form, as Vault uses for request IDs and mount UUIDs."""
    # Formatted from hex directly: uuid.UUID costs three times as much, paid by every request.
    h = secrets.token_hex(16)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


def service_token_id() -> str:
    """A new service token ID: "s." and 24 base62 characters, as OpenBao issues them."""
    return "s." + base62(24)


def batch_token_id() -> str:
    """A new batch token ID: "b." and 24 base62 characters."""
    return "b." + base62(24)


def accessor_id() -> str:
    """A new token accessor: 24 base62 characters."""
    return base62(24)


def mount_accessor(mount_type: str) -> str:
    """A mount accessor such as "kv_735a1674"."""
    return f"{mount_type}_{secrets.token_hex(4)}"
