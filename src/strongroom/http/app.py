"""The ASGI application: one dynamic dispatcher in front of Core.handle.

Invariant: no request ever gets a traceback; faults become 500 "internal error" and are logged without
request data (which may hold secrets).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, Protocol

from strongroom import errors
from strongroom.http import events, forward_events, lifecycle, sealed, snapshot
from strongroom.http.forward import Forwarder, is_local
from strongroom.http.forwarded import NOT_TRUSTED, ForwardedFor
from strongroom.http.translate import (
    UnknownMethodError,
    build_request,
    error_body,
    operation_for,
    parse_query,
    render,
    render_help,
    status_for,
)
from strongroom.http.ui import WebUI
from strongroom.logical import Operation, Request, Response
from strongroom.telemetry import Telemetry, metrics_format
from strongroom.util import ids

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024
JSON = "application/json"
_NO_DETAIL = b'{"errors":[]}'
_JSON_BYTES = JSON.encode()
_NO_STORE = (b"cache-control", b"no-store")
_HTTP1 = frozenset({"1.0", "1.1"})
_SYS = "/v1/sys/"

log = logging.getLogger("strongroom.http")


class CoreAPI(sealed.StatusSource, lifecycle.Lifecycle, events.EventSource, snapshot.Snapshots, Protocol):
    """What the HTTP layer needs of the core: its status, its seal lifecycle, request handling, and the
    telemetry that times requests and serves sys/metrics."""

    telemetry: Telemetry

    async def handle(self, request: Request) -> Response | None:
        """Serve one logical request."""
        ...

    async def active_address(self) -> str | None:
        """Where a standby forwards requests (the active server's api_addr), or None when unknown."""
        ...


class VaultAPI:
    """ASGI app serving /v1/ from a core."""

    def __init__(
        self,
        core: CoreAPI,
        *,
        max_request_size: int = 0,
        unauthenticated_metrics: bool = False,
        unauthed_generate_root: bool = False,
        unauthed_rekey: bool = False,
        forwarded_for: ForwardedFor = NOT_TRUSTED,
        ui: bool = False,
    ) -> None:
        self._core = core
        # Vault's `ui = true`: the web UI's files at /ui/, outside the API (not counted, never forwarded).
        self._ui = WebUI() if ui else None
        self._forwarded_for = forwarded_for
        self._max = max_request_size or DEFAULT_MAX_REQUEST_SIZE
        # A listener's unauthenticated_metrics_access: sys/metrics is served to anyone, sealed or not.
        self._unauthenticated_metrics = unauthenticated_metrics
        # The listener's disable_unauthed_*_endpoints set to false: sys/generate-root/*, sys/rekey/* served.
        self._unauthed = lifecycle.Unauthed(generate_root=unauthed_generate_root, rekey=unauthed_rekey)
        self._forwarder = Forwarder()

    async def aclose(self) -> None:
        """Close the connections a standby opened to forward requests."""
        await self._forwarder.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            scope = self._forwarded_for.rewrite(scope)
        except errors.InvalidRequestError as exc:
            await _refuse(scope, send, exc)
            return
        kind = scope["type"]
        if kind != "http":
            if kind == "websocket":
                leader = await self._core.active_address() if self._core.standby else None
                if leader is not None:
                    await forward_events.relay(leader, scope, receive, send)
                else:
                    await events.serve(self._core, scope, receive, send)
            return
        if self._ui is not None and self._ui.handles(scope["path"]):
            await self._ui.serve(scope, send)
            return
        request_id = ids.request_id()
        method: str = scope["method"]
        path: str = scope["path"]
        self._core.telemetry.request_started(
            request_id, method=method, path=path, remote_address=_remote_address(scope.get("client"))
        )
        query = parse_query(scope.get("query_string", b""))
        # The node's own status (sys/health and its kin, which load balancers poll) is answered before
        # anything reads the request's headers or body, and is not counted as a handled request.
        status_request = sealed.serves(method, path)
        status, content_type = 500, JSON  # what a request cut short by cancellation counts as
        # Headers a backend sets on its answer (ACME's Replay-Nonce, Location, Link), and a rate limit's
        # (Retry-After and Vault's X-Ratelimit-*), which a refusal carries too.
        extra: dict[str, str] = {}
        try:
            if status_request:
                status, body = await sealed.answer(self._core, path, query)
            else:
                status, body, content_type = await self._serve(scope, query, receive, request_id, extra)
        except Exception as exc:  # every failure becomes Vault's error shape
            status = status_for(exc)
            if status == 500:
                _log_fault(request_id, method, exc)
            elif isinstance(exc, errors.RequestError):
                extra = dict(exc.headers)
            body = error_body(exc)
        finally:
            if status_request:
                self._core.telemetry.status_request_finished(request_id)
            else:
                self._finished(request_id, method, query, status)
        body = b"" if method == "HEAD" or status == 204 else body
        await _send(send, status, body, content_type, extra)

    def _finished(self, request_id: str, method: str, query: dict[str, str], status: int) -> None:
        """Count the request and log it at debug level: its mount and outcome, never its path or data."""
        operation = _operation(method, query)
        finished = self._core.telemetry.request_finished(request_id, operation=operation, status=status)
        if finished is not None:
            log.debug("request %s: %s on mount %r answered %d in %.1fms", request_id, operation,
                      finished.mount_point, status, finished.milliseconds)  # fmt: skip

    async def _serve(
        self, scope: Scope, query: dict[str, str], receive: Receive, request_id: str, extra: dict[str, str]
    ) -> tuple[int, bytes, str]:
        # ASGI servers give header names in lower case.
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        path: str = scope["path"]
        if snapshot.handles(path) and not self._core.standby:
            # A snapshot may exceed max_request_size (OpenBao exempts it too); the token is checked first.
            def read_snapshot() -> Awaitable[bytes]:
                return _read_body(receive, snapshot.MAX_SIZE, headers, scope.get("http_version", ""))

            client = scope.get("client")
            return await snapshot.serve(
                self._core, scope["method"], path, read_snapshot, headers, client=client
            )
        body = await _read_body(receive, self._max, headers, scope.get("http_version", ""))
        if self._unauthenticated_metrics and path.rstrip("/") == "/v1/sys/metrics":
            if scope["method"] != "GET":
                return 405, _NO_DETAIL, JSON
            fmt = metrics_format(query.get("format", ""), headers.get("accept", ""))
            rendered = await self._core.telemetry.render(fmt)
            return rendered.status, rendered.body, rendered.content_type
        if self._core.standby and not is_local(path):
            return await self._forward(scope, headers, body, extra)
        # The endpoints served outside the pipeline all live under sys/: other paths skip their checks.
        if path.startswith(_SYS):
            if events.handles(path):
                raw_query = scope.get("query_string", b"")
                return *await events.answer_plain_http(self._core, path, headers, raw_query), JSON
            answer = await lifecycle.serve(
                self._core, scope["method"], path, body, headers, unauthed=self._unauthed
            )
            if answer is None:
                answer = await sealed.serve(self._core, scope["method"], path, query)
            if answer is not None:
                return *answer, JSON
        request = build_request(
            method=scope["method"],
            raw_path=path,
            query=query,
            headers=headers,
            body=body,
            client=scope.get("client"),
            request_id=request_id,
            peer_certificates=_peer_certificates(scope),
        )
        response = await self._core.handle(request)
        if response is not None:
            extra.update(response.headers)
        if request.operation is Operation.HELP and response is not None:
            return *render_help(response), JSON
        if request.operation is Operation.LIST and (
            response is None or (response.wrap_info is None and not (response.data or {}).get("keys"))
        ):
            return 404, _NO_DETAIL, JSON
        if response is None or _is_empty(response):
            if request.operation is Operation.READ and (response is None or response.status is None):
                return 404, _NO_DETAIL, JSON
            return (response.status if response and response.status else 204), b"", JSON
        return *render(response, request_id), response.content_type

    async def _forward(
        self, scope: Scope, headers: dict[str, str], body: bytes, extra: dict[str, str]
    ) -> tuple[int, bytes, str]:
        leader = await self._core.active_address()
        if leader is None:
            raise errors.ServiceUnavailableError("local node not active but active cluster node not found")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        return await self._forwarder.forward(
            leader,
            scope["method"],
            raw_path.decode("latin-1"),
            query=scope.get("query_string", b""),
            headers=headers,
            body=body,
            client=(scope.get("client") or ("", 0))[0],
            extra=extra,
        )


def _is_empty(response: Response) -> bool:
    return (
        not response.data
        and response.auth is None
        and not response.warnings
        and response.wrap_info is None
        and not response.lease_id
        and response.raw_body is None
        and response.status is None
    )


async def _read_body(receive: Receive, limit: int, headers: dict[str, str], http_version: str) -> bytes:
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise errors.PayloadTooLargeError("http: request body too large")
    # An HTTP/1 request with neither header has no body (RFC 9112 6.3); HTTP/2 may send one without a
    # length. Not asking for it saves a trip through granian's thread (~15 µs of CPU), on every GET.
    if declared == "0" or (not declared and http_version in _HTTP1 and "transfer-encoding" not in headers):
        return b""
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):  # most requests: the whole body in one message
        if len(body) > limit:
            raise errors.PayloadTooLargeError("http: request body too large")
        return body
    chunks = [body]
    size = len(body)
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


def _peer_certificates(scope: Scope) -> tuple[str, ...]:
    """The client's certificate chain from ASGI's TLS extension (a listener relaying TLS sets it)."""
    tls = (scope.get("extensions") or {}).get("tls")
    return tuple(tls.get("client_cert_chain") or ()) if tls else ()


def _remote_address(client: tuple[str, int] | None) -> str:
    """HOST:PORT as Go joins them (IPv6 hosts in brackets); empty when the server does not know."""
    if client is None:
        return ""
    host, port = client
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _operation(method: str, query: dict[str, str]) -> str:
    """The logical operation of a request, as a metric label ("unknown" for a method the API lacks)."""
    try:
        return operation_for(method, query).value
    except UnknownMethodError:
        return "unknown"


def _log_fault(request_id: str, method: str, exc: BaseException) -> None:
    """Log a server fault with its stack frames but without its message or the path: either may carry a
    secret value (a failed conversion quotes its input)."""
    frames = (
        "" if isinstance(exc, errors.StrongroomError) else "".join(traceback.format_tb(exc.__traceback__))
    )
    log.error(
        "internal error serving request %s (%s): %s\n%s", request_id, method, type(exc).__name__, frames
    )


async def _send(
    send: Send, status: int, body: bytes, content_type: str = JSON, extra: Mapping[str, str] | None = None
) -> None:
    if body:
        encoded = _JSON_BYTES if content_type == JSON else content_type.encode()
        headers = [_NO_STORE, (b"content-type", encoded), (b"content-length", b"%d" % len(body))]
    else:
        headers = [_NO_STORE]
    if extra:
        headers += [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra.items()
        ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Send, exc: errors.RequestError) -> None:
    """Refuse a request before it reaches the API: a 400 in Vault's shape, or a WebSocket handshake
    closed unaccepted."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
    else:
        await _send(send, 400, error_body(exc))
