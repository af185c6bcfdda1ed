"""Transit's keyless helpers: random[/<source>][/<bytes>][/<format>] and hash[/<algorithm>].

Layer: builtin. Imports framework, logical and the transit domain modules.
"""

from __future__ import annotations

import os

from strongroom.builtin.secrets.transit import encoding, operations
from strongroom.builtin.secrets.transit.common import user_errors
from strongroom.builtin.secrets.transit.models import TransitError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

MAX_RANDOM_BYTES = 128 * 1024
SOURCES = ("platform", "seal", "all")

RANDOM_FIELDS = {
    "source": Field(FieldType.STRING, "Entropy source: platform (default), seal or all"),
    "urlbytes": Field(FieldType.STRING, "The number of bytes to generate (in the URL)"),
    "bytes": Field(FieldType.INT, "The number of bytes to generate", default=32),
    "format": Field(FieldType.STRING, "Encoding of the output: base64 (default) or hex", default="base64"),
}
HASH_FIELDS = {
    "input": Field(FieldType.STRING, "The base64-encoded input data"),
    "algorithm": Field(FieldType.STRING, "Hash algorithm (default sha2-256)", default="sha2-256"),
    "urlalgorithm": Field(FieldType.STRING, "Hash algorithm (in the URL)"),
    "format": Field(FieldType.STRING, "Encoding of the output: hex (default) or base64", default="hex"),
}


def _encode(data: bytes, fmt: str, quote: bool) -> str:
    if fmt == "hex":
        return data.hex()
    if fmt == "base64":
        return encoding.b64encode(data)
    shown = f'"{fmt}"' if quote else fmt
    raise TransitError(f'unsupported encoding format {shown}; must be "hex" or "base64"')


def _byte_count(text: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise TransitError(
            f'error parsing url-set byte count: strconv.Atoi: parsing "{text}": invalid syntax'
        ) from None


@user_errors
async def random(request: Request, fields: FieldData) -> Response | None:
    # Vault's parsing: one URL segment is a source when it names one, else a byte count.
    source, url_bytes = fields.get("source"), fields.get("urlbytes")
    count = fields.get("bytes")
    if source and not url_bytes:
        if source not in SOURCES:
            count, source = _byte_count(source), "platform"
    elif url_bytes:
        count = _byte_count(url_bytes)
    source = source or "platform"
    if count < 1:
        raise TransitError("'bytes' cannot be less than 1")
    if count > MAX_RANDOM_BYTES:
        raise TransitError(f"'bytes' should be less than {MAX_RANDOM_BYTES}")
    fmt = fields.get("format")
    if fmt not in ("hex", "base64"):
        _encode(b"", fmt, quote=True)
    if source not in SOURCES:
        raise TransitError(f'unsupported entropy source "{source}"; must be "platform" or "seal", or "all"')
    return Response(data={"random_bytes": _encode(os.urandom(count), fmt, quote=True)})


@user_errors
async def hash_input(request: Request, fields: FieldData) -> Response | None:
    raw, given = fields.get_ok("input")
    if not given:
        raise TransitError("input missing")
    try:
        data = encoding.b64decode(raw)
    except TransitError as exc:
        raise TransitError(f"unable to decode input as base64: {exc}") from None
    fmt = fields.get("format")
    if fmt not in ("hex", "base64"):
        _encode(b"", fmt, quote=False)
    algorithm = fields.get("urlalgorithm") or fields.get("algorithm")
    return Response(data={"sum": _encode(operations.digest(algorithm, data), fmt, quote=False)})


def paths() -> list[Path]:
    """The random and hash declarations of a transit mount."""
    random_patterns = (
        "random",
        "random/{source}",
        "random/{source}/{urlbytes}",
        "random/{source}/{urlbytes}/{format}",
    )
    return [
        *(
            Path(
                pattern,
                fields=RANDOM_FIELDS,
                operations={Operation.UPDATE: random},
                synopsis="Generate random bytes",
            )
            for pattern in random_patterns
        ),
        *(
            Path(pattern, fields=HASH_FIELDS, operations={Operation.UPDATE: hash_input}, synopsis="Hash data")
            for pattern in ("hash", "hash/{urlalgorithm}")
        ),
    ]
