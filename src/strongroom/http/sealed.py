"""Endpoints that answer whatever the seal state: sys/health, sys/seal-status, sys/init (GET), sys/leader.

They need no token, as in Vault, and never pass through the request pipeline.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, Protocol

import orjson

from strongroom import __version__, errors

_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
# Vault answers a bad method or status-code parameter here with an empty error list.
_NO_DETAIL = b'{"errors":[]}'


class StatusSource(Protocol):
    """What these endpoints read from the core."""

    async def seal_status(self) -> dict[str, Any]:
        """Vault's sys/seal-status body (type, initialized, sealed, t, n, progress, nonce, version, ...)."""
        ...

    @property
    def standby(self) -> bool:
        """True while an HA server is unsealed but not the active one."""
        ...

    async def leader_status(self) -> dict[str, Any]:
        """Vault's sys/leader body."""
        ...

    async def health_status(self) -> tuple[bool, bool, Mapping[str, str]]:
        """Initialized, sealed, and the cluster's name and id while unsealed (else empty)."""
        ...


def serves(method: str, path: str) -> bool:
    """Whether `method path` is one of these endpoints with a method it answers: such a request needs
    neither its headers nor its body."""
    endpoint = _ENDPOINTS.get(path.rstrip("/"))
    return endpoint is not None and method in endpoint[0]


async def serve(
    source: StatusSource, method: str, path: str, query: Mapping[str, str]
) -> tuple[int, bytes] | None:
    """The answer when `path` is one of these endpoints, else None."""
    endpoint = _ENDPOINTS.get(path.rstrip("/"))
    if endpoint is None:
        return None
    if method not in endpoint[0]:
        return 405, _NO_DETAIL
    return await answer(source, path, query)


async def answer(source: StatusSource, path: str, query: Mapping[str, str]) -> tuple[int, bytes]:
    """The answer to a request that `serves` accepts."""
    status, body = await _ENDPOINTS[path.rstrip("/")][1](source, query)
    return status, orjson.dumps(body)


async def _seal_status(source: StatusSource, _query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, await source.seal_status()


async def _init_status(source: StatusSource, _query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    status = await source.seal_status()
    return 200, {"initialized": status["initialized"]}


async def _leader(source: StatusSource, _query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    return 200, await source.leader_status()


_DEFAULT_CODES = {"uninitcode": 501, "sealedcode": 503, "standbycode": 429, "activecode": 200}
_BOOLS = _TRUE | {"0", "f", "F", "FALSE", "false", "False", ""}
_CODE = re.compile(r"[+-]?[0-9]+")


def _code(query: Mapping[str, str], name: str, default: int) -> int:
    value = query.get(name)
    if value is None:
        return default
    # Go's Atoi: no blanks, no underscores, no empty string. Vault sends any code from 100 to 999 and drops
    # the connection for the others; a 400 says why instead.
    if not _CODE.fullmatch(value) or not 100 <= int(value) <= 999:
        raise errors.InvalidRequestError()
    return int(value)


async def _health(source: StatusSource, query: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    # Every flag is validated before the state is looked at (as OpenBao does), so a typo in a monitoring
    # probe shows at once rather than on the day the node seals.
    standby_ok = query.get("standbyok", "")
    if standby_ok not in _BOOLS:
        raise errors.InvalidRequestError()
    codes = (
        {name: _code(query, name, default) for name, default in _DEFAULT_CODES.items()}
        if query
        else _DEFAULT_CODES
    )
    initialized, sealed, cluster = await source.health_status()
    standby = source.standby
    if not initialized:
        code = codes["uninitcode"]
    elif sealed:
        code = codes["sealedcode"]
    elif standby and standby_ok not in _TRUE:
        code = codes["standbycode"]
    else:
        code = codes["activecode"]
    body = {
        "initialized": initialized,
        "sealed": sealed,
        "standby": standby,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": int(time.time()),
        "version": __version__,
    }
    if cluster.get("name"):
        body["cluster_name"] = cluster["name"]
        body["cluster_id"] = cluster["id"]
    return code, body


_ENDPOINTS = {
    "/v1/sys/health": (frozenset({"GET", "HEAD"}), _health),
    "/v1/sys/seal-status": (frozenset({"GET"}), _seal_status),
    "/v1/sys/init": (frozenset({"GET"}), _init_status),
    "/v1/sys/leader": (frozenset({"GET"}), _leader),
}
