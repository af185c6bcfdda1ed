"""What every SQL plugin shares: Vault's statement splitting and {{key}} templating, the {{expiration}}
format, the usernames Vault's default templates make, and scrubbing secrets out of driver messages.

Layer: builtin (pure logic; stdlib, orjson and util only).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

import orjson

from strongroom.util import ids

# Go's "2006-01-02 15:04:05-0700", which Vault fills {{expiration}} with.
EXPIRATION_FORMAT = "%Y-%m-%d %H:%M:%S%z"
CONNECT_TIMEOUT = 10
REDACTED = "[redacted]"


def expiration_text(when: float) -> str:
    """`when` (epoch seconds) as {{expiration}} shows it."""
    return datetime.fromtimestamp(int(when), UTC).strftime(EXPIRATION_FORMAT)


def split_statements(statements: Sequence[str]) -> list[str]:
    """Vault's strutil.ParseArbitraryStringSlice over each statement: base64 is decoded, a JSON list is
    taken as its items, anything else is split on ";"; blank queries are dropped."""
    queries: list[str] = []
    for statement in statements:
        text = _maybe_base64(statement)
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            parsed = None
        items = [str(item) for item in parsed] if isinstance(parsed, list) else text.split(";")
        queries.extend(item.strip() for item in items if item.strip())
    return queries


def _maybe_base64(text: str) -> str:
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return text


def render(query: str, values: Mapping[str, str]) -> str:
    """Vault's dbutil.QueryHelper: each {{key}} replaced by its value, nothing else touched."""
    for key, value in values.items():
        query = query.replace("{{" + key + "}}", value)
    return query


def redact(message: str, *secrets: str) -> str:
    """`message` with every non-empty secret in it replaced."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, REDACTED)
    return message


def username_from_template(display_name: str, role: str, now: float, sizes: tuple[int, int, int]) -> str:
    """Vault's default username templates, `v-{{display_name|truncate D}}-{{role|truncate R}}-{{random 20}}-
    {{unix_time}}` truncated to L characters, for (D, R, L) = `sizes`; D = 0 leaves the display name out
    (the legacy MySQL template)."""
    display, role_size, limit = sizes
    parts = ["v", *([display_name[:display]] if display else []), role[:role_size], ids.base62(20)]
    if display:
        parts.append(str(int(now)))
    return "-".join(parts)[:limit]
