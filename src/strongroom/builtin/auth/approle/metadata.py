"""Secret ID metadata as Vault reads it (strutil.ParseArbitraryKeyValues). Layer: builtin (stdlib only).

The value is a string: optionally base64, then either a JSON object of strings or "k1=v1,k2=v2".
"""

from __future__ import annotations

import base64
import contextlib
import json


class MetadataError(ValueError):
    """Metadata that does not parse; the message is Vault's."""


def parse_metadata(text: str) -> dict[str, str]:
    """The key/value pairs in `text` ({} for blank input)."""
    text = text.strip()
    if not text:
        return {}
    # Not base64 (binascii.Error), not text once decoded (UnicodeDecodeError), or not ASCII at all.
    with contextlib.suppress(ValueError):
        text = base64.b64decode(text, validate=True).decode()
    result = _json_object(text)
    if result is None:
        result = _key_values(text)
    for key, value in result.items():
        if key and not value:
            raise MetadataError(f'invalid value for key "{key}"')
    return result


def _json_object(text: str) -> dict[str, str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return None
    return {str(k): v for k, v in value.items()}


def _key_values(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in text.split(","):
        shards = item.split("=")
        key, value = (shards[0].strip(), shards[1].strip()) if len(shards) == 2 else ("", "")
        if not key or not value:
            raise MetadataError("failed to parse the input: invalid <key,value> format")
        result[key] = value
    return result
