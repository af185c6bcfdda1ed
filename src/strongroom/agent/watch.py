"""What tells the agent to re-render: the server's event stream, and the polling fallback.

Layer: agent. Imports stdlib, orjson, websockets and the template engine's Dependency.

The event stream is sys/events/subscribe/*?json=true over a WebSocket: KV writes, and the database
engine's static role rotations (database/rotate, naming the role's static-creds path). Each event is
reduced to the API path of the data it changed (secret/data/db for any KV v2 event on key db,
database/static-creds/app for a rotation of role app), and a template is affected when one of its
dependencies names that path (or, for a list, a path under it). A server
without the event API (404, 400 or 405 on subscribe) or a token that may not subscribe (403) raises
EventsUnavailable: the agent then polls.

Invariant: events carry paths and metadata only; nothing read here is a secret, and the token travels in
the X-Vault-Token header of the upgrade request only.
"""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from strongroom.agent.template import Dependency

EVENT_PATTERN = "*"
_NO_EVENT_API = frozenset({400, 403, 404, 405})


class EventsUnavailable(Exception):
    """The server has no event API; `status` is what the subscribe request got."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the server refused the event subscription with {status}")
        self.status = status


def changed_path(event: dict[str, Any]) -> str | None:
    """The API path of the data an event changed, or None for an event that names none."""
    data = event.get("data") or {}
    metadata = (data.get("event") or {}).get("metadata") or {}
    if metadata.get("data_path"):
        return str(metadata["data_path"]).strip("/")
    path = str(metadata.get("path") or "").strip("/")
    if not path:
        return None
    mount = str((data.get("plugin_info") or {}).get("mount_path") or "")
    if str(data.get("event_type", "")).startswith("kv-v2/") and mount and path.startswith(mount):
        family, _, key = path[len(mount) :].partition("/")
        if family in ("delete", "destroy", "metadata", "undelete") and key:
            return f"{mount}data/{key}"
    return path


def affected(resolved: Iterable[Dependency], path: str) -> bool:
    """Whether a template whose dependencies resolve to `resolved` (API paths) reads `path`'s data."""
    for dependency in resolved:
        if dependency.kind == "list":
            prefix = dependency.path.replace("/metadata/", "/data/", 1).rstrip("/") + "/"
            if path.startswith(prefix) or path + "/" == prefix:
                return True
        elif dependency.path.strip("/") == path:
            return True
    return False


async def subscribe(
    address: str,
    token: str,
    on_path: Callable[[str], Awaitable[None]],
    *,
    on_open: Callable[[], Awaitable[None]],
    tls: ssl.SSLContext | None = None,
) -> None:
    """Stream events and call `on_path` for each changed path until the server ends the stream;
    `on_open` runs once the subscription is accepted, before the first event is read.

    Raises EventsUnavailable when the server has no event API; OSError and websockets' errors when the
    connection fails.
    """
    url = address.replace("http", "ws", 1).rstrip("/") + f"/v1/sys/events/subscribe/{EVENT_PATTERN}?json=true"
    try:
        async with connect(
            url, additional_headers={"X-Vault-Token": token}, ssl=tls if url.startswith("wss") else None
        ) as socket:
            await on_open()
            async for frame in socket:
                event = orjson.loads(frame)
                path = changed_path(event) if isinstance(event, dict) else None
                if path:
                    await on_path(path)
    except InvalidStatus as exc:
        if exc.response.status_code in _NO_EVENT_API:
            raise EventsUnavailable(exc.response.status_code) from None
        raise
