"""Endpoints that answer whatever the seal state: sys/health, sys/seal-status, sys/init (GET), sys/leader.

They need no token, as in Vault, and never pass through the request pipeline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from strongroom import errors

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}


class StatusSource(Protocol):
    """What these endpoints read from the core."""

    async def seal_status(self) -> dict[str, Any]:
        """Vault's sys/seal-status body (type, initialized, sealed, t, n, progress, nonce, version, ...)."""
        ...


async def serve(
    source: StatusSource, method: str, path: str, query: Mapping[str, str]
) -> tuple[int, bytes] | None:
    """The answer when `path` is one of these endpoints, else None."""
    endpoint = _ENDPOINTS.get(path.rstrip("/"))
    if endpoint is None:
        return None
    allowed, handler = endpoint
    if method not in allowed:
        raise errors.UnsupportedOperationError()
    status, body = await handler(source, query)
    return status, orjson.dumps(body)


async def _seal_status(source: StatusSource, _query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, await source.seal_status()


async def _init_status(source: StatusSource, _query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    status = await source.seal_status()
    return 200, {"initialized": status["initialized"]}


async def _leader(_source: StatusSource, _query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, {"ha_enabled": False}


def _code(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name, "")
    if not value:
        return default
    try:
        code = int(value)
    except ValueError:
        raise errors.InvalidRequestError(f"unable to parse {name} value: {value!r}") from None
    if code < 100 or code > 599:
        raise errors.InvalidRequestError(f"invalid {name} status code: {code}")
    return code


async def _health(source: StatusSource, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    status = await source.seal_status()
    if not status["initialized"]:
        code = _code(query, "uninitcode", 501)
    elif status["sealed"]:
        code = _code(query, "sealedcode", 503)
    else:
        code = _code(query, "activecode", 200)
    # Validated even when unused, so a typo in a monitoring probe shows at once.
    for name, default in (("standbycode", 429), ("perfstandbycode", 473), ("drsecondarycode", 472)):
        _code(query, name, default)
    body = {
        "initialized": status["initialized"],
        "sealed": status["sealed"],
        "standby": False,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": int(time.time()),
        "version": status["version"],
    }
    if status.get("cluster_name"):
        body["cluster_name"] = status["cluster_name"]
        body["cluster_id"] = status["cluster_id"]
    return code, body


_ENDPOINTS = {
    "/v1/sys/health": ({"GET", "HEAD"}, _health),
    "/v1/sys/seal-status": ({"GET"}, _seal_status),
    "/v1/sys/init": ({"GET"}, _init_status),
    "/v1/sys/leader": ({"GET"}, _leader),
}
