"""What every transit path module shares: the KeyStore of a request, Vault's user errors, batch running.

Layer: builtin. Imports framework, logical and the transit domain modules.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from strongroom.builtin.secrets.transit import encoding
from strongroom.builtin.secrets.transit.models import TransitError
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Handler
from strongroom.logical import Request, Response, Storage

NAME = Field(FieldType.STRING, "Name of the key")
BATCH = Field(FieldType.SLICE, "A list of items, each processed as a request of its own")


def storage_of(request: Request) -> Storage:
    if request.storage is None:
        raise InvalidRequestError("no storage bound to the request")
    return request.storage


def user_errors(handler: Handler) -> Handler:
    """`handler` with TransitError turned into a 400 in Vault's shape."""

    @functools.wraps(handler)
    async def wrapped(request: Request, fields: FieldData) -> Response | None:
        try:
            return await handler(request, fields)
        except TransitError as exc:
            raise InvalidRequestError(str(exc)) from None

    return wrapped


def decode_context(value: str) -> bytes | None:
    """A base64 `context` (or None when absent)."""
    return encoding.b64decode(value) if value else None


Item = Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]


async def run_batch(
    raw_items: list[Any], item: Item, error_fields: Mapping[str, Any], *, fail_status: bool
) -> Response:
    """Run `item` on each batch input; a failing item reports {"error", **error_fields}. With
    `fail_status`, any failure makes the answer a 400 (Vault's encrypt and decrypt do so)."""
    if not raw_items:
        raise TransitError("missing batch input to process")
    results: list[dict[str, Any]] = []
    failed = False
    for raw in raw_items:
        entry = raw if isinstance(raw, Mapping) else {}
        reference = str(entry.get("reference", "") or "")
        try:
            result = await item(entry)
        except TransitError as exc:
            failed = True
            result = {**error_fields, "error": str(exc)}
        results.append({**result, "reference": reference})
    return Response(data={"batch_results": results}, status=400 if failed and fail_status else None)


def text(entry: Mapping[str, Any], name: str) -> str:
    """A batch item's string field ("" when absent)."""
    value = entry.get(name)
    return "" if value is None else str(value)


def integer(entry: Mapping[str, Any], name: str) -> int:
    """A batch item's integer field (0 when absent)."""
    value = entry.get(name)
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TransitError(f"invalid {name}") from None
