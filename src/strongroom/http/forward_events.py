"""Event-stream forwarding: a standby relays a sys/events/subscribe WebSocket to the active server.

Layer: http (imports websockets, on the first relayed subscription, and http.events for Vault's refusal
shape). The standby opens the same WebSocket on the active server's api_addr with the client's Vault
headers; a refusal there (403, 400) is the client's refusal here, before the upgrade, and once both sides
are open every text frame from the active server is passed on until either side leaves.

Invariant: a relayed frame or header is never logged (headers hold the token).
Invariant: a client is accepted only after the active server accepted the relayed subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import orjson

from strongroom.http.events import Receive, Scope, Send, accepted, client_headers, deny, wait_for_disconnect

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

# Only the headers that say who the client is travel on; the WebSocket handshake's own are the relay's.
_PASSED = ("x-vault-token", "x-vault-namespace", "authorization")
_OPEN_TIMEOUT = 10.0
_GOING_AWAY = 1001


async def relay(leader: str, scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one WebSocket connection by relaying it to the active server at `leader`."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus, WebSocketException

    if (await receive())["type"] != "websocket.connect":
        return
    base = leader.rstrip("/").replace("https://", "wss://", 1).replace("http://", "ws://", 1)
    query = scope.get("query_string", b"").decode("latin-1")
    url = base + scope["path"] + (f"?{query}" if query else "")
    # A browser's subprotocol token travels on as X-Vault-Token: the relay's own handshake offers none.
    headers = [(name, value) for name, value in client_headers(scope).items() if name in _PASSED]
    try:
        upstream = await connect(url, additional_headers=headers, open_timeout=_OPEN_TIMEOUT)
    except InvalidStatus as refused:
        await deny(
            scope, send, refused.response.status_code, bytes(refused.response.body or b'{"errors":[]}')
        )
        return
    except (OSError, TimeoutError, WebSocketException):
        body = orjson.dumps({"errors": ["error forwarding the request to the active node"]})
        await deny(scope, send, 503, body)
        return
    async with upstream:
        await send(accepted(scope))
        leave = asyncio.create_task(wait_for_disconnect(receive))
        pass_on = asyncio.create_task(_pass_on(upstream, send))
        try:
            await asyncio.wait({leave, pass_on}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (leave, pass_on):
                task.cancel()
            await asyncio.gather(leave, pass_on, return_exceptions=True)
        if leave.done() and not leave.cancelled():
            return
        code, reason = upstream.close_code or _GOING_AWAY, upstream.close_reason or ""
    with contextlib.suppress(Exception):  # the client may already be gone; nothing is left to tell it
        await send({"type": "websocket.close", "code": code, "reason": reason})


async def _pass_on(upstream: ClientConnection, send: Send) -> None:
    from websockets.exceptions import ConnectionClosed

    with contextlib.suppress(ConnectionClosed):
        async for message in upstream:
            if isinstance(message, str):
                await send({"type": "websocket.send", "text": message})
            else:
                await send({"type": "websocket.send", "bytes": message})
