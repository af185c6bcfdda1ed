"""A TLS listener that asks every client for its certificate and hands it to the application.

Bottom layer: stdlib, pyOpenSSL and granian (through http_server) only.

granian's TLS (rustls) can demand a client certificate signed by a given CA, but never tells the
application which certificate a client presented, and the certificate auth method must read it. This
listener terminates TLS itself, in our asyncio loop, and relays the plaintext to the same ASGI app served
by a granian worker on a loopback socket of its own:

    client --TLS--> RelayedTLSServer (pyOpenSSL, memory BIOs) --plain HTTP--> granian on 127.0.0.1:<ephemeral>

Each relayed connection is remembered by the local port it connects from; when granian hands a request to
the app, that port names the real client's address and certificate chain, which the app receives as the
ASGI `tls` extension (`client_cert_chain`, PEM) and a `client` of the real peer.

pyOpenSSL and not the stdlib `ssl` module: Vault requests a client certificate on every TLS listener and
verifies it only when told to (Go's RequestClientCert); `ssl` can only request one it also verifies, so
a client certificate that only an auth/cert mount trusts would end the handshake. A verify callback that
accepts every certificate gives Go's behaviour; with tls_require_and_verify_client_cert the chain must
lead to tls_client_ca_file.

The relay speaks HTTP/1.1 only (ALPN offers nothing else), and costs about 0.15 ms of CPU a request and
1 ms a new connection more than granian's own TLS, which is why a listener uses it only when configured
with tls_request_client_certs. A certificate reload (SIGHUP) applies to connections accepted after it; a
stop lets the worker finish the requests in flight, and each client connection closes with its relayed one.

Invariant: the app serves only connections this relay opened; a request reaching the loopback socket from
any other process is refused (403), so no one can pose as a relayed client or bypass TLS.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from typing import Any, cast

from cryptography.hazmat.primitives.serialization import Encoding
from OpenSSL import SSL

from strongroom.util.http_server import ASGIApp, HTTPServer, Receive, Scope, Send, TLSFiles

_READ = 64 * 1024
_BACKLOG = 1024
_VERSIONS = {"tls10": SSL.TLS1_2_VERSION, "tls11": SSL.TLS1_2_VERSION, "tls12": SSL.TLS1_2_VERSION,
             "tls13": SSL.TLS1_3_VERSION}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Peer:
    """The real client behind one relayed connection."""

    address: tuple[str, int]
    certificates: tuple[str, ...]  # PEM, the leaf first; empty when the client sent none


def tls_context(tls: TLSFiles) -> SSL.Context:
    """A server context for `tls`: HTTP/1.1 only (the relay speaks plain HTTP/1.1 to granian), the
    client's certificate requested, and verified only when the listener requires one."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(_VERSIONS[tls.min_version])
    context.use_certificate_chain_file(tls.cert_file)
    context.use_privatekey_file(tls.key_file)
    context.check_privatekey()
    context.set_alpn_select_callback(_alpn)
    if tls.require_client_cert:
        if tls.client_ca_file:
            context.load_verify_locations(tls.client_ca_file)
        context.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, _verified)
    else:
        context.set_verify(SSL.VERIFY_PEER, _anything)
    return context


def _alpn(connection: SSL.Connection, offered: list[bytes]) -> bytes | SSL._NoOverlappingProtocols:
    return b"http/1.1" if b"http/1.1" in offered else SSL.NO_OVERLAPPING_PROTOCOLS


def _verified(connection: SSL.Connection, cert: Any, errno: int, depth: int, ok: int) -> bool:
    return bool(ok)


def _anything(connection: SSL.Connection, cert: Any, errno: int, depth: int, ok: int) -> bool:
    return True


class RelayedTLSServer:
    """A TLS listener in front of a loopback granian worker; the same lifecycle as HTTPServer."""

    def __init__(self, app: ASGIApp, sock: socket.socket, tls: TLSFiles) -> None:
        self._sock = sock
        self._tls = tls
        self._context = tls_context(tls)
        self._peers: dict[int, Peer] = {}
        self._connections: set[_Client] = set()
        self._closed = asyncio.Event()
        self._closed.set()
        inner = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        inner.bind(("127.0.0.1", 0))
        self._inner_address: tuple[str, int] = inner.getsockname()
        self._inner = HTTPServer(_Relayed(app, self._peers), inner)
        self._server: asyncio.Server | None = None
        self._serving: asyncio.Task[None]

    def start(self) -> None:
        """Serve from now on (the public socket listens before this returns)."""
        self._inner.start()
        self._sock.listen(_BACKLOG)
        self._sock.setblocking(False)
        # Connections wait in the backlog until the task has run (create_server is a coroutine only
        # because it may resolve a host name, which a bound socket does not need).
        self._serving = asyncio.get_running_loop().create_task(self._serve())

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._accepted, sock=self._sock, backlog=_BACKLOG)

    def reload(self) -> None:
        """New connections get the certificate files as they are now; open ones keep theirs."""
        self._context = tls_context(self._tls)

    def stop(self) -> None:
        """Stop accepting; requests in flight finish, then their connections close."""
        if self._server is not None:
            self._server.close()
        else:
            self._serving.cancel()
        self._sock.close()
        self._inner.stop()
        # A relayed connection closes when the worker closes its side (after its request in flight, or at
        # once when idle); one still in its handshake has nothing to finish.
        for client in list(self._connections):
            if not client.relaying:
                client.stop()

    async def wait(self) -> None:
        """Until the worker has ended and every client connection has closed (after `stop`)."""
        with contextlib.suppress(asyncio.CancelledError):
            await self._serving
        await self._inner.wait()
        await self._closed.wait()

    def _accepted(self) -> _Client:
        client = _Client(self)
        self._connections.add(client)
        self._closed.clear()
        return client

    def _forget(self, client: _Client) -> None:
        self._connections.discard(client)
        if not self._connections:
            self._closed.set()


class _Relayed:
    """The app behind the relay: requests carry their real client and certificate chain."""

    def __init__(self, app: ASGIApp, peers: dict[int, Peer]) -> None:
        self._app = app
        self._peers = peers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        peer = self._peers.get(scope["client"][1]) if scope["client"][0] == "127.0.0.1" else None
        if peer is None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await send({"type": "http.response.start", "status": 403, "headers": []})
                await send({"type": "http.response.body", "body": b""})
            return
        scope["client"] = peer.address
        scope["scheme"] = "https" if scope["type"] == "http" else "wss"
        tls = {"client_cert_chain": peer.certificates}
        scope["extensions"] = {**(scope.get("extensions") or {}), "tls": tls}
        await self._app(scope, receive, send)


class _Client(asyncio.Protocol):
    """One client connection: TLS in memory, the plaintext relayed to the loopback worker."""

    def __init__(self, server: RelayedTLSServer) -> None:
        self._server = server
        self._tls = SSL.Connection(server._context, None)
        self._tls.set_accept_state()
        self._transport: asyncio.Transport | None = None
        self._upstream: _Upstream | None = None
        self._pending: list[bytes] = []  # plaintext read before the loopback connection is up
        self._handshaken = False
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self._tls.bio_write(data)
        try:
            if not self._handshaken:
                try:
                    self._tls.do_handshake()
                except SSL.WantReadError:
                    return
                self._handshaken = True
                self._connect()
            self._read_plaintext()
        except SSL.Error:
            self.stop()
        finally:
            self._flush()

    def _read_plaintext(self) -> None:
        while True:
            try:
                chunk = self._tls.recv(_READ)
            except SSL.WantReadError:
                return
            except SSL.ZeroReturnError:  # the client's close_notify
                self.stop()
                return
            if self._upstream is not None and self._upstream.transport is not None:
                self._upstream.transport.write(chunk)
            else:
                self._pending.append(chunk)

    def _connect(self) -> None:
        chain = self._tls.get_peer_cert_chain(as_cryptography=True) or []
        leaf = self._tls.get_peer_certificate(as_cryptography=True)
        if leaf is not None and (not chain or chain[0] != leaf):
            chain = [leaf, *chain]
        assert self._transport is not None
        host, port = self._transport.get_extra_info("peername")[:2]
        peer = Peer((host, port), tuple(cert.public_bytes(Encoding.PEM).decode() for cert in chain))
        upstream = self._upstream = _Upstream(self, peer)
        loop = asyncio.get_running_loop()
        task = loop.create_task(loop.create_connection(lambda: upstream, *self._server._inner_address))
        task.add_done_callback(self._connected)

    def _connected(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is not None:
            self.stop()

    @property
    def relaying(self) -> bool:
        """Whether the handshake is done and the connection relayed to the worker."""
        return self._upstream is not None

    def upstream_ready(self) -> None:
        assert self._upstream is not None
        assert self._upstream.transport is not None
        for chunk in self._pending:
            self._upstream.transport.write(chunk)
        self._pending.clear()
        if self._closing:
            self._upstream.transport.close()

    def send(self, data: bytes) -> None:
        """Encrypt plaintext from the worker to the client."""
        if self._transport is None or self._transport.is_closing():
            return
        try:
            self._tls.sendall(data)
        except SSL.Error:
            self.stop()
            return
        self._flush()

    def stop(self) -> None:
        """End the connection (a TLS close_notify first when the handshake finished)."""
        if self._transport is None or self._transport.is_closing():
            return
        if self._handshaken:
            with contextlib.suppress(SSL.Error):
                self._tls.shutdown()
            self._flush()
        self._transport.close()

    def _flush(self) -> None:
        while True:
            try:
                data = self._tls.bio_read(_READ)
            except SSL.WantReadError:
                return
            if self._transport is not None and not self._transport.is_closing():
                self._transport.write(data)

    def pause_writing(self) -> None:
        if self._upstream is not None and self._upstream.transport is not None:
            self._upstream.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._upstream is not None and self._upstream.transport is not None:
            self._upstream.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._upstream is not None and self._upstream.transport is not None:
            self._upstream.transport.close()
        self._server._forget(self)


class _Upstream(asyncio.Protocol):
    """The loopback connection of one client, registered under its local port while it is open."""

    def __init__(self, client: _Client, peer: Peer) -> None:
        self._client = client
        self._peer = peer
        self._port = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self._port = transport.get_extra_info("sockname")[1]
        self._client._server._peers[self._port] = self._peer  # before the first byte reaches the worker
        self._client.upstream_ready()

    def data_received(self, data: bytes) -> None:
        self._client.send(data)

    def pause_writing(self) -> None:
        if self._client._transport is not None:
            self._client._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._client._transport is not None:
            self._client._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._client._server._peers.pop(self._port, None)
        self._client.stop()
