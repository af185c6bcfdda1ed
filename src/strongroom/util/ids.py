"""Random identifiers in Vault's formats. Bottom layer: stdlib only.

Invariant: every identifier that grants access (token IDs, accessors) comes from `secrets`, never `random`.
"""

from __future__ import annotations

import os
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


def request_id() -> str:
    """A random (version 4) UUID for a request ID, drawn from a batch: every request pays for one, so the
    random bytes come 64 at a time and their UUIDs are formatted together (0.9 µs instead of 2.5). Only for
    identifiers that grant nothing: a batch waits in memory before use."""
    try:
        return _REQUEST_IDS.pop()
    except IndexError:
        _REQUEST_IDS.extend(_uuid_batch())
        return _REQUEST_IDS.pop()


_BATCH = 64
# The version (4) and variant (10xx) bits of every UUID in a batch, set by one big-integer mask.
_BATCH_KEEP = int.from_bytes(bytes.fromhex("ffffffffffff0fff3fffffffffffffff") * _BATCH)
_BATCH_SET = int.from_bytes(bytes.fromhex("00000000000040008000000000000000") * _BATCH)
_REQUEST_IDS: list[str] = []
# A forked child would otherwise hand out the same IDs as its parent.
os.register_at_fork(after_in_child=_REQUEST_IDS.clear)


def _uuid_batch() -> list[str]:
    h = (
        (int.from_bytes(secrets.token_bytes(16 * _BATCH)) & _BATCH_KEEP | _BATCH_SET)
        .to_bytes(16 * _BATCH)
        .hex()
    )
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-{h[i + 20 : i + 32]}"
        for i in range(0, 32 * _BATCH, 32)
    ]


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
