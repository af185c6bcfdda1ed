"""Leased secrets the agent holds between renders: reused, renewed and replaced as consul-template does.

Layer: agent. Imports stdlib, the template engine's SecretSource and Dependency; the runner supplies the
renewal call.

A template reading database/creds/app must not mint new credentials at every render (each poll, each
event for another path it reads). So a read whose answer carries a lease, and every write-and-read (a
`secret "pki/issue/web" "common_name=..."`), is held and served again from memory until its time comes:

- a renewable lease is renewed at about two thirds of its duration (Vault's lifetime watcher does the
  same); once the server caps a renewal (the lease reached its max TTL) it is treated as non-renewable;
- a non-renewable lease is fetched anew at 85-95% of its duration (consul-template's stagger, so many
  agents do not all ask at once); a write without a lease after `fallback` seconds;
- a failed renewal drops the secret at once.

A dropped secret's dependency is handed back to the runner, which renders the templates that read it:
they get a new secret. Plain KV answers (no lease ID) pass through untouched, so events and polling keep
seeing every change.

Invariant: held bodies stay in memory only; log lines and errors name paths and statuses, never values
or lease IDs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.agent.template import Dependency, SecretSource

# The share of a renewable lease after which it is renewed.
RENEW_AT = 2 / 3
# The stagger within which a non-renewable lease is fetched anew: 85% to 95% of its duration.
REFETCH_FROM, REFETCH_TO = 0.85, 0.95

Renew = Callable[[str, int], Awaitable[Mapping[str, Any]]]
"""(lease ID, increment in seconds) -> the renewal's response body; raises on failure."""


@dataclass(slots=True)
class Held:
    """One held answer: what a template gets back, and when the keeper next acts on it (monotonic)."""

    dependency: Dependency
    body: Mapping[str, Any] = field(repr=False)
    lease_id: str = field(repr=False)
    renewable: bool
    duration: int
    due: float


def _lease(body: Mapping[str, Any] | None) -> tuple[str, bool, int]:
    if not body:
        return "", False, 0
    duration = body.get("lease_duration")
    seconds = duration if isinstance(duration, int) and not isinstance(duration, bool) else 0
    return str(body.get("lease_id") or ""), body.get("renewable") is True, max(seconds, 0)


class LeaseCache:
    """A SecretSource over `inner` that holds leased answers and writes until the keeper lets them go."""

    def __init__(self, inner: SecretSource, *, fallback: int, clock: Callable[[], float] = time.monotonic):
        self._inner = inner
        self._fallback = max(fallback, 1)
        self._clock = clock
        self._held: dict[tuple[str, str, tuple[tuple[str, str], ...]], Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    async def read(self, path: str) -> Mapping[str, Any] | None:
        key = ("read", path, ())
        if key in self._held:
            return self._held[key].body
        body = await self._inner.read(path)
        if body is not None and _lease(body)[0]:
            self._hold(key, Dependency("read", path), body)
        return body

    async def write(self, path: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        key = ("write", path, tuple(sorted((str(k), str(v)) for k, v in data.items())))
        if key in self._held:
            return self._held[key].body
        body = await self._inner.write(path, data)
        self._hold(key, Dependency("write", path), body or {})
        return body

    async def list(self, path: str) -> list[str]:
        return await self._inner.list(path)

    def _hold(
        self,
        key: tuple[str, str, tuple[tuple[str, str], ...]],
        dependency: Dependency,
        body: Mapping[str, Any],
    ) -> None:
        lease_id, renewable, duration = _lease(body)
        renewable = renewable and bool(lease_id) and duration > 0
        due = self._due(renewable, duration)
        self._held[key] = Held(dependency, body, lease_id, renewable, duration, due)

    def _due(self, renewable: bool, duration: int) -> float:
        if not duration:
            return self._clock() + self._fallback
        share = RENEW_AT if renewable else random.uniform(REFETCH_FROM, REFETCH_TO)
        return self._clock() + duration * share

    def next_due(self) -> float | None:
        """When the keeper next has something to do (monotonic), or None while nothing is held."""
        return min((held.due for held in self._held.values()), default=None)

    def clear(self) -> None:
        """Forget everything held: after a new login the old token's leases may be gone with it."""
        self._held.clear()

    async def keep(self, renew: Renew) -> set[Dependency]:
        """Act on every held answer that is due: renew it, or drop it. The dependencies dropped, whose
        templates must render again to fetch anew."""
        now = self._clock()
        dropped: set[Dependency] = set()
        for key, held in list(self._held.items()):
            if held.due > now:
                continue
            if held.renewable:
                try:
                    answer = await renew(held.lease_id, held.duration)
                except Exception:  # any failed renewal: the secret is fetched anew, which may succeed
                    answer = None
                granted = _lease(answer)[2]
                if granted > 0:
                    # A renewal cut short by the max TTL cannot be extended again: use what is left of it.
                    still_renewable = granted >= held.duration
                    held.renewable = still_renewable
                    held.due = self._due(still_renewable, granted)
                    held.duration = granted
                    continue
            del self._held[key]
            dropped.add(held.dependency)
        return dropped
