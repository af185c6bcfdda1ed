"""The agent's listeners: bind each `listener "tcp" | "unix"` stanza and serve the API proxy on it.

Layer: agent. Imports uvicorn, httpx, stdlib, config.agent_model and agent.proxy; never the server.

    listeners = Listeners(config, verify=tls, token=lambda: current_token)
    await listeners.start()        # ListenerError when an address is taken or a certificate unreadable
    ...
    await listeners.close()

Every socket is bound before any is served, so a bad listener stops the agent before it answers anything.
A unix socket gets its `socket_mode` before it listens (so no connection is accepted under the umask's
mode) and is removed on close. A stale socket file (nothing accepting on it) is replaced; a live one, or
any other file at the path, is refused. A listener with `role = "metrics_only"` serves no proxy: the
agent has no metrics endpoint, so it answers 404 to every request.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
import stat
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx
import uvicorn

from strongroom.agent.proxy import ProxyApp, Receive, Scope, Send
from strongroom.config.agent_model import AgentConfig, Listener

_TLS_VERSIONS = {
    "tls10": ssl.TLSVersion.TLSv1,
    "tls11": ssl.TLSVersion.TLSv1_1,
    "tls12": ssl.TLSVersion.TLSv1_2,
    "tls13": ssl.TLSVersion.TLSv1_3,
}


class ListenerError(Exception):
    """A listener that cannot be started; the message names it and the reason."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves SIGINT and SIGTERM to the agent, which stops every listener itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


@dataclass(frozen=True, slots=True)
class _Bound:
    listener: Listener
    sock: socket.socket
    tls: ssl.SSLContext | None


def describe(listener: Listener) -> str:
    """How errors and logs name a listener: `listener "tcp" (127.0.0.1:8100)`."""
    return f'listener "{listener.type}" ({listener.address})'


def _tcp(address: str) -> socket.socket:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"{address!r} is not host:port") from None
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, number))
    except OSError:
        sock.close()
        raise
    return sock


def _clear_stale_socket(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise OSError(errno.EEXIST, "a file that is not a socket is in the way")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except ConnectionRefusedError:
            os.unlink(path)
            return
    raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))


def _unix(listener: Listener) -> socket.socket:
    _clear_stale_socket(listener.address)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(listener.address)
        if listener.socket_mode is not None:
            os.chmod(listener.address, listener.socket_mode)
    except OSError:
        sock.close()
        raise
    return sock


def _tls(listener: Listener) -> ssl.SSLContext | None:
    if listener.tls_disable:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = _TLS_VERSIONS[listener.tls_min_version]
    context.load_cert_chain(listener.tls_cert_file, listener.tls_key_file)
    if listener.tls_client_ca_file:
        context.load_verify_locations(cafile=listener.tls_client_ca_file)
        context.verify_mode = (
            ssl.CERT_REQUIRED if listener.tls_require_and_verify_client_cert else ssl.CERT_OPTIONAL
        )
    return context


def _bind(listener: Listener) -> _Bound:
    try:
        tls = _tls(listener)
    except (OSError, ssl.SSLError) as exc:
        raise ListenerError(f"{describe(listener)}: cannot load its TLS certificate: {exc}") from None
    try:
        sock = _unix(listener) if listener.type == "unix" else _tcp(listener.address)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ListenerError(f"{describe(listener)}: cannot listen: {reason}") from None
    return _Bound(listener, sock, tls)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", b"14")]
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": b'{"errors":[]}\n'})


class Listeners:
    """The agent's listeners, all serving one API proxy to the server at `config.vault.address`."""

    def __init__(
        self, config: AgentConfig, *, verify: ssl.SSLContext | bool, token: Callable[[], str]
    ) -> None:
        self._config = config
        address = config.vault.address.rstrip("/") or "http://127.0.0.1:8200"
        # No overall timeout: a proxied request (sys/monitor, a long unwrap) lasts as long as the client
        # lets it; the client's own timeout governs.
        self._http = httpx.AsyncClient(
            base_url=address, verify=verify, timeout=httpx.Timeout(None, connect=10.0)
        )
        self._app = ProxyApp(self._http, config.api_proxy, token)
        self._served: list[tuple[_Server, asyncio.Task[None], _Bound]] = []

    async def start(self) -> None:
        """Bind every listener, then serve them all; ListenerError (nothing left open) if one cannot."""
        bound: list[_Bound] = []
        try:
            for listener in self._config.listeners:
                bound.append(_bind(listener))
        except ListenerError:
            for done in bound:
                _release(done)
            await self._http.aclose()
            raise
        for item in bound:
            app = _not_found if item.listener.role == "metrics_only" else self._app
            config = uvicorn.Config(
                app,
                # h11, not httptools: llhttp refuses the LIST method that Vault clients send.
                http="h11",
                ws="none",
                lifespan="off",
                log_config=None,
                log_level="warning",
                access_log=False,
                server_header=False,
                date_header=False,
                timeout_graceful_shutdown=5,
            )
            config.load()
            config.ssl = item.tls
            server = _Server(config)
            self._served.append((server, asyncio.create_task(server.serve(sockets=[item.sock])), item))
        while not all(server.started or task.done() for server, task, _ in self._served):
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Stop serving (requests in flight may finish), remove unix sockets, close the upstream client."""
        for server, _, _ in self._served:
            server.should_exit = True
        await asyncio.gather(*(task for _, task, _ in self._served), return_exceptions=True)
        for _, _, item in self._served:
            _release(item)
        self._served.clear()
        await self._http.aclose()


def _release(item: _Bound) -> None:
    item.sock.close()
    if item.listener.type == "unix":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(item.listener.address)
