"""Longest-prefix routing from an API path to a mounted backend.

Invariant: a route remembered for a path is dropped whenever the mount table changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from strongroom.logical import Backend
from strongroom.router.mounts import MountEntry

# Routes remembered by path (see Router.route).
ROUTES_KEPT = 4096


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: the mount, its backend, and the path relative to the mount."""

    entry: MountEntry
    backend: Backend
    relative_path: str


class Router:
    """Maps API paths ("secret/data/db", "auth/token/create") to mounted backends."""

    def __init__(self) -> None:
        self._mounts: dict[str, tuple[MountEntry, Backend]] = {}
        # Routes by path: every request is routed (and routed again for its metrics' labels), mostly on
        # the same few paths. Paths are the client's, so the memo is bounded; any mount change clears it.
        self._routes: dict[str, Route | None] = {}

    def mount(self, entry: MountEntry, backend: Backend) -> None:
        """Route `entry.api_path` and everything under it to `backend`."""
        self._mounts[entry.api_path] = (entry, backend)
        self._routes.clear()

    def unmount(self, api_path: str) -> tuple[MountEntry, Backend] | None:
        """Stop routing `api_path`; returns what was mounted there."""
        self._routes.clear()
        return self._mounts.pop(api_path, None)

    def replace_entry(self, entry: MountEntry) -> None:
        """Swap the entry (after a tune) keeping the backend."""
        _, backend = self._mounts[entry.api_path]
        self._mounts[entry.api_path] = (entry, backend)
        self._routes.clear()

    def route(self, path: str) -> Route | None:
        """The mount with the longest prefix of `path`, or None."""
        if path in self._routes:
            return self._routes[path]
        found = self._longest_prefix(path)
        if len(self._routes) >= ROUTES_KEPT:
            del self._routes[next(iter(self._routes))]  # the oldest first
        self._routes[path] = found
        return found

    def _longest_prefix(self, path: str) -> Route | None:
        candidate = path if path.endswith("/") else path + "/"
        while candidate:
            found = self._mounts.get(candidate)
            if found is not None:
                entry, backend = found
                return Route(entry=entry, backend=backend, relative_path=path[len(candidate) :])
            candidate = candidate[: candidate.rstrip("/").rfind("/") + 1]
        return None

    def conflict(self, api_path: str) -> str | None:
        """The mounted path that `api_path` would overlap (one a prefix of the other), or None."""
        for mounted in self._mounts:
            if mounted.startswith(api_path) or api_path.startswith(mounted):
                return mounted
        return None

    def entries(self) -> list[MountEntry]:
        """Every mounted entry, sorted by API path."""
        return [entry for _, (entry, _) in sorted(self._mounts.items())]

    def entry_by_accessor(self, accessor: str) -> MountEntry | None:
        """The mount with that accessor."""
        return next((e for e, _ in self._mounts.values() if e.accessor == accessor), None)


_NEVER_PASSED = frozenset({"x-vault-token"})
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


def passthrough_headers(headers: Mapping[str, str], allowed: tuple[str, ...]) -> Mapping[str, str]:
    """The request headers a mount's backend sees: only those its `passthrough_request_headers` names,
    compared without case, and never the token header (Vault's router filters them the same way).
    `headers` has lower-case names, as the HTTP layer gives them."""
    if not allowed:
        return _NO_HEADERS
    names = {name.lower() for name in allowed} - _NEVER_PASSED
    return {name: value for name, value in headers.items() if name in names}


def allowed_headers(headers: Mapping[str, str], allowed: tuple[str, ...]) -> Mapping[str, str]:
    """The response headers a mount's backend may send: those its `allowed_response_headers` names,
    compared without case (Vault's filteredHeaders)."""
    if not allowed:
        return _NO_HEADERS
    names = {name.lower() for name in allowed}
    return {name: value for name, value in headers.items() if name.lower() in names}
