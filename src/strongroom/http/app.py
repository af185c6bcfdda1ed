"""The ASGI application: one dynamic dispatcher in front of Core.handle.

Invariant: no request ever gets a traceback; faults become 500 "internal error" and are logged without
request data (which may hold secrets).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from strongroom import errors
from strongroom.http import lifecycle, sealed
from strongroom.http.translate import build_request, error_body, parse_query, render, render_help, status_for
from strongroom.logical import Operation, Request, Response
from strongroom.util.ids import new_uuid

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024

log = logging.getLogger("strongroom.http")


class CoreAPI(sealed.StatusSource, lifecycle.Lifecycle, Protocol):
    """What the HTTP layer needs of the core: its status, its seal lifecycle, and request handling."""

    async def handle(self, request: Request) -> Response | None:
        """Serve one logical request."""
        ...


class VaultAPI:
    """ASGI app serving /v1/ from a core."""

    def __init__(self, core: CoreAPI, *, max_request_size: int = 0) -> None:
        self._core = core
        self._max = max_request_size or DEFAULT_MAX_REQUEST_SIZE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = new_uuid()
        method: str = scope["method"]
        try:
            status, body = await self._serve(scope, receive, request_id)
        except Exception as exc:  # every failure becomes Vault's error shape
            status = status_for(exc)
            if status == 500:
                log.error("internal error serving %s %s: %s", method, scope["path"], type(exc).__name__,
                          exc_info=not isinstance(exc, errors.StrongroomError))  # fmt: skip
            body = error_body(exc)
        await _send(send, status, b"" if method == "HEAD" or status == 204 else body)

    async def _serve(self, scope: Scope, receive: Receive, request_id: str) -> tuple[int, bytes]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_query(scope.get("query_string", b""))
        path: str = scope["path"]
        body = await _read_body(receive, self._max, headers)
        answer = await lifecycle.serve(self._core, scope["method"], path, body, headers)
        if answer is None:
            answer = await sealed.serve(self._core, scope["method"], path, query)
        if answer is not None:
            return answer
        request = build_request(
            method=scope["method"],
            raw_path=path,
            query=query,
            headers=headers,
            body=body,
            client=scope.get("client"),
            request_id=request_id,
        )
        response = await self._core.handle(request)
        if request.operation is Operation.HELP and response is not None:
            return render_help(response)
        if request.operation is Operation.LIST and (
            response is None or not (response.data or {}).get("keys")
        ):
            return 404, b'{"errors":[]}'
        if response is None or _is_empty(response):
            if request.operation is Operation.READ and (response is None or response.status is None):
                return 404, b'{"errors":[]}'
            return (response.status if response and response.status else 204), b""
        return render(response, request_id)


def _is_empty(response: Response) -> bool:
    return (
        not response.data
        and response.auth is None
        and not response.warnings
        and response.wrap_info is None
        and response.raw_body is None
        and response.status is None
    )


async def _read_body(receive: Receive, limit: int, headers: dict[str, str]) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLargeError("http: request body too large")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise errors.PayloadTooLargeError("http: request body too large")
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def _send(send: Send, status: int, body: bytes) -> None:
    headers = [(b"cache-control", b"no-store")]
    if body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
