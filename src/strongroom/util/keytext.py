"""Key material written as text: hex or base64, the two forms Vault accepts. Bottom layer: stdlib only."""

from __future__ import annotations

import base64
import binascii


def hex_or_base64(text: str) -> bytes | None:
    """The bytes `text` spells in hex, else in strict base64; None when it is neither (the caller words
    the refusal, and never with the text, which may be a key)."""
    try:
        return bytes.fromhex(text)
    except ValueError:
        pass
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
