"""The requests a server is serving right now (sys/in-flight-req), and Vault's client ID of a caller.

Layer: telemetry (a service). Imports util and the stdlib only.

Invariant: an entry holds where a request came from, its method and path, and a client ID derived from the
token's policies; never a token, a header or a body.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom.util.clock import rfc3339

# Vault's separators when it hashes a token's policies into a client ID (TokenEntry.CreateClientID).
_POLICY_SEPARATOR = "\x7f"
_NAMESPACE_SEPARATOR = "\x00"
ROOT_NAMESPACE_ID = "root"


def client_id(entity_id: str, policies: Sequence[str]) -> str:
    """Vault's client ID: the entity when there is one, else a hash of the sorted policies and namespace."""
    if entity_id:
        return entity_id
    return _policies_client_id(tuple(policies))


@functools.lru_cache(maxsize=1024)  # every request names its caller; tokens share few policy sets
def _policies_client_id(policies: tuple[str, ...]) -> str:
    joined = (
        "".join(_POLICY_SEPARATOR + p for p in sorted(policies)) + _NAMESPACE_SEPARATOR + ROOT_NAMESPACE_ID
    )
    return base64.b64encode(hashlib.sha256(joined[1:].encode()).digest()).decode()


@dataclass(frozen=True, slots=True)
class InFlightRequest:
    """One request being served. `started` is on the monotonic clock, `start_time` on the wall clock."""

    start_time: float
    started: float
    remote_address: str
    path: str
    method: str

    def to_json(self, client_id: str) -> dict[str, Any]:
        """Vault's shape for one entry of sys/in-flight-req, with the caller's client ID ("" if unknown)."""
        return {
            "start_time": rfc3339(self.start_time),
            "client_remote_address": self.remote_address,
            "request_path": self.path,
            "request_method": self.method,
            "client_id": client_id,
        }


class InFlightRequests:
    """A table of the requests in flight, keyed by request ID."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time
    ) -> None:
        self._clock = clock
        self._wall_clock = wall_clock
        # Every request passes through here, sys/health probes too: each entry is kept as the plain tuple
        # of an InFlightRequest's fields (a frozen dataclass costs 3 µs to build) and becomes one only when
        # sys/in-flight-req asks.
        self._entries: dict[str, tuple[float, float, str, str, str]] = {}
        # Set once the caller is known, beside the entry: a copy of the frozen entry would cost every
        # authenticated request a microsecond and a half.
        self._clients: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def begin(self, request_id: str, *, method: str, path: str, remote_address: str) -> None:
        """A request has arrived."""
        self._entries[request_id] = (self._wall_clock(), self._clock(), remote_address, path, method)

    def identify(self, request_id: str, client: str) -> None:
        """The core has authenticated the request's caller: record its client ID."""
        if request_id in self._entries:
            self._clients[request_id] = client

    def end(self, request_id: str) -> tuple[str, float] | None:
        """The request is answered: drop it; its path and how long it took (seconds)."""
        entry = self._entries.pop(request_id, None)
        if entry is None:
            return None
        if self._clients:
            self._clients.pop(request_id, None)
        return entry[3], self._clock() - entry[1]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Vault's sys/in-flight-req body: request ID -> entry."""
        clients = self._clients
        return {
            rid: InFlightRequest(*entry).to_json(clients.get(rid, "")) for rid, entry in self._entries.items()
        }
