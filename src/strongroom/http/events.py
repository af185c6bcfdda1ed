"""sys/events/subscribe/<pattern>: Vault's event stream, one WebSocket per subscriber.

Layer: http. Imports the core only through the EventSource Protocol below, plus events (the feed and its
events) and http.translate (tokens, query strings, Vault's error shape).

The pattern is a glob over event types ("kv-v2/data-write", "kv*"). Events go out as text frames holding
Vault's CloudEvents JSON (json=true; Vault's protobuf frames are not offered). The server never reads
frames from the client; the stream ends when the client leaves, the server seals, or the token dies.

A browser cannot set headers on a WebSocket, and a token in the URL would land in logs and history, so a
browser offers two subprotocols instead (the pattern Kubernetes and Jupyter use): the marker
"vault-events.v1" and "vault-token.b64url.<the token as unpadded base64url>"; the server answers with the
marker only. X-Vault-Token and Authorization, when sent, win over the subprotocol.

Invariant: a request is refused before the upgrade unless its token may subscribe to the pattern; no frame
carries a secret value (events hold paths and metadata only); the token never comes from the URL.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Protocol

import orjson

from strongroom import errors
from strongroom.events import EventFeed, SubscriptionClosed
from strongroom.http.translate import error_body, parse_query, status_for, token_from

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIX = "/v1/sys/events/subscribe/"
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
# A WebSocket close reason must fit a control frame (Vault truncates to the same length).
_MAX_REASON = 123
_NORMAL_CLOSURE = 1000
BROWSER_PROTOCOL = "vault-events.v1"
_TOKEN_PROTOCOL = "vault-token.b64url."


class EventSource(Protocol):
    """What the subscribe endpoint needs of the core."""

    async def subscribe_events(self, token: str, pattern: str) -> EventFeed:
        """A feed of `pattern`'s events that `token` may read; PermissionDeniedError when it may not
        subscribe."""
        ...


def handles(path: str) -> bool:
    """Whether `path` is the subscribe endpoint (with or without a pattern)."""
    return path.startswith(PREFIX) or path == PREFIX.rstrip("/")


def browser_token(scope: Scope) -> str:
    """The token a browser offered as a subprotocol beside the marker ("" for none or a malformed one)."""
    offered: list[str] = list(scope.get("subprotocols") or ())
    if BROWSER_PROTOCOL not in offered:
        return ""
    encoded = [p[len(_TOKEN_PROTOCOL) :] for p in offered if p.startswith(_TOKEN_PROTOCOL)]
    if len(encoded) != 1:
        return ""
    try:
        return base64.urlsafe_b64decode(encoded[0] + "=" * (-len(encoded[0]) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""


def accepted(scope: Scope) -> Message:
    """The accept message: it names the marker when the browser offered it (a browser closes a connection
    whose answer names none of the subprotocols it offered)."""
    if BROWSER_PROTOCOL in (scope.get("subprotocols") or ()):
        return {"type": "websocket.accept", "subprotocol": BROWSER_PROTOCOL}
    return {"type": "websocket.accept"}


def client_headers(scope: Scope) -> dict[str, str]:
    """The handshake's headers by lower-case name, with a browser's subprotocol token as X-Vault-Token
    when no header carries a token."""
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    if not token_from(headers):
        token = browser_token(scope)
        if token:
            headers["x-vault-token"] = token
    return headers


async def open_feed(core: EventSource, path: str, headers: Mapping[str, str], raw_query: bytes) -> EventFeed:
    """Check the request as Vault does (a pattern, json=true, the subscribe capability) and subscribe."""
    pattern = path[len(PREFIX) :].strip() if path.startswith(PREFIX) else ""
    if not pattern:
        raise errors.InvalidRequestError("did not specify eventType to subscribe to")
    json = parse_query(raw_query).get("json", "")
    if json and json not in _TRUE | _FALSE:
        raise errors.InvalidRequestError(f"invalid parameter for JSON: {json}")
    if json not in _TRUE:
        raise errors.InvalidRequestError("only JSON event streams are supported: add json=true")
    return await core.subscribe_events(token_from(headers), pattern)


async def answer_plain_http(
    core: EventSource, path: str, headers: Mapping[str, str], raw_query: bytes
) -> tuple[int, bytes]:
    """A request without the WebSocket upgrade: the same checks, then 426 Upgrade Required (what Vault's
    WebSocket library answers). A failed check raises its refusal, as for any request."""
    feed = await open_feed(core, path, headers, raw_query)
    feed.close()
    return 426, orjson.dumps({"errors": ["could not accept as websocket"]})


async def serve(core: EventSource, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one WebSocket connection to the subscribe endpoint (any other WebSocket path is refused)."""
    if (await receive())["type"] != "websocket.connect":
        return
    headers = client_headers(scope)
    try:
        if not handles(scope["path"]):
            raise errors.NotFoundError("WebSocket connections are served only at sys/events/subscribe")
        feed = await open_feed(core, scope["path"], headers, scope.get("query_string", b""))
    except Exception as exc:  # every refusal becomes Vault's error shape, before the upgrade
        await deny(scope, send, status_for(exc), error_body(exc))
        return
    await send(accepted(scope))
    await _stream(feed, receive, send)


async def _stream(feed: EventFeed, receive: Receive, send: Send) -> None:
    """Forward the feed until it ends or the client leaves, whichever comes first."""
    forward = asyncio.create_task(_forward(feed, send))
    leave = asyncio.create_task(wait_for_disconnect(receive))
    try:
        await asyncio.wait({forward, leave}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (forward, leave):
            task.cancel()
        feed.close()
        await asyncio.gather(forward, leave, return_exceptions=True)
    if leave.done() and not leave.cancelled():
        return
    reason = forward.result() if not forward.cancelled() and forward.exception() is None else ""
    with contextlib.suppress(Exception):  # the client may already be gone; nothing is left to tell it
        await send({"type": "websocket.close", "code": _NORMAL_CLOSURE, "reason": reason[:_MAX_REASON]})


async def _forward(feed: EventFeed, send: Send) -> str:
    """Send each event as a text frame; returns why the feed ended."""
    while True:
        try:
            event = await feed.next()
        except SubscriptionClosed as closed:
            return closed.reason
        text = orjson.dumps(event.cloudevent(feed.pattern)).decode()
        await send({"type": "websocket.send", "text": text})


async def wait_for_disconnect(receive: Receive) -> None:
    # Vault expects no frames from subscribers: anything received is read and ignored.
    while (await receive())["type"] != "websocket.disconnect":
        pass


async def deny(scope: Scope, send: Send, status: int, body: bytes) -> None:
    """Refuse the upgrade with an HTTP answer where the server can send one (else a bare 403)."""
    if "websocket.http.response" in scope.get("extensions", {}):
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008})
