"""Serve an ASGI application on a bound socket with granian's native (Rust, hyper) HTTP worker.

Bottom layer: stdlib and granian only; the server's listeners and the agent's API proxy both use it.

    server = HTTPServer(app, sock, tls=TLSFiles(cert, key))   # takes the bound socket over
    server.start()       # serves from now on; HTTP parsing and TLS run on a thread of granian's own
    server.reload()      # a fresh worker reads the certificate files again; the old one drains
    server.stop()        # stops accepting and closes the socket; connections in flight finish
    await server.wait()  # every worker has let go of every connection

The worker runs in our own asyncio loop: granian parses requests and speaks TLS on its thread and hands
each request to the loop as an ASGI call. granian's embedded Server class would bind the socket itself
with SO_REUSEPORT (so a second server on the same port would start and share it instead of failing) and
reconfigure the process's logging; here we bind the socket (it is given to us) and drive the worker
directly. The worker API is granian's internal one, so the dependency is pinned to one minor version.

The worker speaks ASGI, not granian's leaner RSGI (about 4 µs less per request, measured with a trivial
app): RSGI can refuse a WebSocket handshake only with an empty body, where Vault sends its JSON error, and
gives neither the raw path (which a standby forwards) nor header values that are not visible ASCII.
granian's own task scheduler (5 µs less than asyncio tasks) is not used either: its stand-in task cannot
be cancelled, so `asyncio.timeout` inside a request would never fire.

Each worker gets its own duplicate of the socket's file descriptor and closes it when it ends, so a
reload starts the new worker on the same accept queue before the old one stops: no connection is refused
or reset while certificates change. A stopping worker finishes the HTTP requests in flight but drops its
WebSockets at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import importlib.util
import os
import socket
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any


def _granian() -> tuple[ModuleType, ModuleType]:
    """granian's native module and its scheduler glue, loaded without running the package's __init__: that
    imports granian's process manager (multiprocessing, pickle, logging.config and more, 59 modules and a
    tenth of the server's import time) which an embedded worker never uses. A later `import granian`
    still works: it finds these two modules already loaded."""
    spec = None if "granian" in sys.modules else importlib.util.find_spec("granian")
    if spec is not None:
        sys.modules["granian"] = importlib.util.module_from_spec(spec)  # a bare package, not executed
    try:
        return importlib.import_module("granian._granian"), importlib.import_module("granian._futures")
    finally:
        if spec is not None:
            del sys.modules["granian"]


_native, _futures = _granian()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# rustls speaks TLS 1.2 and 1.3 only: Vault's lower minimums are served as TLS 1.2.
_TLS_PROTOCOLS = {"tls10": "tls1.2", "tls11": "tls1.2", "tls12": "tls1.2", "tls13": "tls1.3"}
_BACKLOG = 1024
# granian waits for a permit before each accept; Vault sets no connection limit, so neither do we in
# practice (idle keep-alive connections and event subscribers each hold one).
_MAX_CONNECTIONS = 1 << 20


@dataclass(frozen=True, slots=True)
class TLSFiles:
    """A TLS listener's files and options, with Vault's names for the minimum version."""

    cert_file: str
    key_file: str
    min_version: str = "tls12"
    client_ca_file: str = ""
    require_client_cert: bool = False


class HTTPServer:
    """One bound socket (TCP or unix) served by granian's worker: HTTP/1.1, HTTP/2 and WebSockets."""

    def __init__(
        self, app: ASGIApp, sock: socket.socket, tls: TLSFiles | None = None, *, websockets: bool = True
    ) -> None:
        self._app = app
        self._sock = sock
        self._tls = tls
        # Without WebSockets, an upgrade request reaches the app as a plain HTTP request.
        self._websockets = websockets
        self._workers: list[asyncio.Future[None]] = []
        self._current: Any = None  # the serving worker's granian WorkerSignal

    def start(self) -> None:
        """Serve from now on: the socket listens before this returns, so a client may connect at once."""
        self._sock.listen(_BACKLOG)
        self._current = self._spawn()

    def reload(self) -> None:
        """Serve new connections from a fresh worker, which reads the TLS files again; the old worker
        finishes its connections and ends."""
        old, self._current = self._current, self._spawn()
        if old is not None:
            old.set()

    def stop(self) -> None:
        """Stop accepting and close the socket; requests in flight finish, idle keep-alive connections
        close. New connections are refused as soon as the worker has left its accept loop (the socket
        lives on only in the worker's duplicate until then)."""
        current, self._current = self._current, None
        if current is not None:
            current.set()
        self._sock.close()

    async def wait(self) -> None:
        """Until every worker has ended (after `stop`)."""
        await asyncio.gather(*self._workers)

    def _spawn(self) -> Any:
        loop = asyncio.get_running_loop()
        signal = _native.WorkerSignal()
        ended: asyncio.Future[None] = loop.create_future()

        def release() -> None:  # runs on granian's thread once the worker has closed every connection
            # A drain that outlived its wait may end after the loop closed; the error would be raised in
            # granian's native thread, not in ours, where nothing could handle it.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, ended)

        signal.add_cb(release)
        unix = self._sock.family == socket.AF_UNIX
        holder = _native.SocketHolder(os.dup(self._sock.fileno()), unix, _BACKLOG)
        worker = _native.ASGIWorker(
            worker_id=len(self._workers) + 1,
            sock=(None, holder),
            ipc=None,
            backpressure=_MAX_CONNECTIONS,
            http_mode="auto",
            websockets_enabled=self._websockets,
            **_tls_options(self._tls),
        )
        call = _futures._future_watcher_wrapper(self._call)
        scheduler = _futures._new_cbscheduler(loop, call, impl_asyncio=True)
        serve = worker.serve_async_uds if unix else worker.serve_async
        serve(scheduler, loop, signal)
        self._workers.append(ended)
        return signal

    def _call(self, scope: Scope, protocol: Any) -> Awaitable[None]:
        # granian gives the peer's and our own port as text; ASGI (and Vault's audit log) want numbers.
        host, port = scope["client"]
        scope["client"] = (host, int(port or 0))
        host, port = scope["server"]
        scope["server"] = (host, int(port or 0))
        if scope["type"] == "websocket":
            return self._websocket(scope, protocol)
        return self._app(scope, protocol.receive, protocol.send)

    async def _websocket(self, scope: Scope, protocol: Any) -> None:
        # A stopping worker (a stop, a reload) cancels the calls serving its WebSockets at once: that is
        # how such a connection ends, not a fault for granian to log as one.
        with contextlib.suppress(asyncio.CancelledError):
            await self._app(scope, protocol.receive, protocol.send)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _tls_options(tls: TLSFiles | None) -> dict[str, Any]:
    if tls is None:
        return {"ssl_enabled": False}
    return {
        "ssl_enabled": True,
        "ssl_cert": tls.cert_file,
        "ssl_key": tls.key_file,
        "ssl_protocol_min": _TLS_PROTOCOLS[tls.min_version],
        "ssl_ca": tls.client_ca_file or None,
        "ssl_client_verify": bool(tls.client_ca_file) and tls.require_client_cert,
    }
