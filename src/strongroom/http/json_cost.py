"""What parsing a JSON request body would cost in memory, estimated before it is parsed.

Layer: http (stdlib only). A body of a few megabytes made of tiny values (`[[],[],...]`, `{"a":0,...}`)
parses into millions of Python objects, tens of bytes each: 32 MiB of `[],` took a server past 1 GiB for
one request without a token (HCSEC-2025-24 / CVE-2025-6203). OpenBao refuses such bodies by the estimated
cost of their values (`max_request_json_memory`, default 32.5 MiB); this is the same estimate, from a scan
that runs at C speed (no Python code per character or per value): string literals are cut out first, so
brackets and commas inside strings never count.

Invariant: a body whose estimate exceeds MAX_JSON_MEMORY, or that holds more than MAX_JSON_STRINGS strings,
is refused before any JSON parser sees it.
"""

from __future__ import annotations

import re

MAX_JSON_MEMORY = 32 * 1024 * 1024 + 512 * 1024
"""OpenBao's DefaultMaxJsonMemory: a body of plain strings up to max_request_size always fits."""

MAX_JSON_STRINGS = 1000
"""OpenBao's DefaultMaxJsonStrings (keys included): each string is one HMAC per audit device, and 100,000
of them in a 400 kB body held a server with one file device busy for 2.6 s, before the token was checked."""

_STRING = re.compile(rb'"[^"]*"')
"""A string literal once its escaped backslashes and escaped quotes are gone: every quote left delimits."""

# OpenBao's cost table: every value costs a pointer and a type (16), plus its own share.
_VALUE = 16
_STRING_COST = 16
_ARRAY_COST = 24
_OBJECT_COST = 72


def complexity_error(body: bytes) -> str:
    """Why parsing `body` would cost too much (OpenBao's words), or "" when it would not.

    Most bodies are settled by bounds alone: no byte costs more than an object's share, every string has
    two quotes, and counting structural bytes without telling strings apart can only overestimate; the
    exact scan runs only for bodies that fail the bounds.
    """
    quotes = body.count(b'"')
    if len(body) * (_VALUE + _OBJECT_COST) <= MAX_JSON_MEMORY and quotes <= 2 * MAX_JSON_STRINGS:
        return ""
    if _cost(body, quotes // 2, len(body)) <= MAX_JSON_MEMORY and quotes <= 2 * MAX_JSON_STRINGS:
        return ""
    # `\\` first, so the backslash of `\\"` is not taken for an escaped quote.
    unescaped = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure, strings = _STRING.subn(b'""', unescaped)
    if _cost(structure, strings, len(body) - len(structure)) > MAX_JSON_MEMORY:
        return "refused JSON input due to high complexity: exceeded maximum estimated memory limits"
    if strings > MAX_JSON_STRINGS:
        return "refused JSON input due to high complexity: exceeded maximum number of strings"
    return ""


def _cost(structure: bytes, strings: int, string_bytes: int) -> int:
    """The estimate, from the body with its string literals emptied (`structure`), their number and size.

    Every value but the last in a container is followed by a comma, and every object member has a colon,
    so values = commas + colons + containers + 1 bounds the count from above.
    """
    arrays, objects = structure.count(b"["), structure.count(b"{")
    values = structure.count(b",") + structure.count(b":") + arrays + objects + 1
    return (
        values * _VALUE
        + strings * _STRING_COST
        + string_bytes
        + arrays * _ARRAY_COST
        + objects * _OBJECT_COST
    )
