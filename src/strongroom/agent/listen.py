"""The agent's listeners: bind each `listener "tcp" | "unix"` stanza and serve the API proxy on it.

Layer: agent. Imports util.http_server (the native HTTP server), httpx, stdlib, config.agent_model and
agent.proxy; never the server.

    listeners = Listeners(config, verify=tls, token=lambda: current_token)
    await listeners.start()        # ListenerError when an address is taken or a certificate unreadable
    ...
    await listeners.close()

Every socket is bound before any is served, so a bad listener stops the agent before it answers anything.
A unix socket gets its `socket_mode` before it listens (so no connection is accepted under the umask's
mode) and is removed on close. A stale socket file (nothing accepting on it) is replaced; a live one, or
any other file at the path, is refused. Each listener serves `agent.agent_api` in front of the proxy
(/agent/v1/metrics, quit, cache-clear; a `role = "metrics_only"` listener serves the metrics alone); with
`cache {}` the proxy answers KV reads from `agent.static_cache` and keeps leased answers and new tokens in
`agent.lease_cache`; one `agent.outage` records whether the server answers, for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import ssl
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from strongroom.agent.agent_api import AgentServices, ListenerApp
from strongroom.agent.lease_cache import LeaseCache
from strongroom.agent.outage import Outage
from strongroom.agent.persist import PersistentCache
from strongroom.agent.proxy import ProxyApp
from strongroom.agent.static_cache import StaticCache
from strongroom.config.agent_model import AgentConfig, Listener
from strongroom.util.http_server import HTTPServer, TLSFiles

# How long closing listeners let proxied requests in flight finish.
_DRAIN = 5


class ListenerError(Exception):
    """A listener that cannot be started; the message names it and the reason."""


@dataclass(frozen=True, slots=True)
class _Bound:
    listener: Listener
    sock: socket.socket
    tls: TLSFiles | None


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


def _tls(listener: Listener) -> TLSFiles | None:
    """The listener's TLS files, loaded once here so that an unreadable one is refused with its reason
    (the native server reads them again itself)."""
    if listener.tls_disable:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(listener.tls_cert_file, listener.tls_key_file)
    if listener.tls_client_ca_file:
        context.load_verify_locations(cafile=listener.tls_client_ca_file)
    return TLSFiles(
        cert_file=listener.tls_cert_file,
        key_file=listener.tls_key_file,
        min_version=listener.tls_min_version,
        client_ca_file=listener.tls_client_ca_file,
        require_client_cert=listener.tls_require_and_verify_client_cert,
    )


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


class Listeners:
    """The agent's listeners, all serving one API proxy to the server at `config.vault.address`."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        verify: ssl.SSLContext | bool,
        token: Callable[[], str],
        stop: Callable[[], None],
    ) -> None:
        self._config = config
        address = config.vault.address.rstrip("/") or "http://127.0.0.1:8200"
        # No overall timeout: a proxied request (sys/monitor, a long unwrap) lasts as long as the client
        # lets it; the client's own timeout governs.
        self._http = httpx.AsyncClient(
            base_url=address, verify=verify, timeout=httpx.Timeout(None, connect=10.0)
        )
        cache = config.cache
        outage = Outage(serving=cache is not None and cache.serve_during_outage)
        self._cache = (
            StaticCache(self._http, address, cache, tls=_websocket_tls(verify), outage=outage)
            if cache is not None
            else None
        )
        self._leases = (
            LeaseCache(self._http, cache, agent_token=token, outage=outage) if cache is not None else None
        )
        proxy = ProxyApp(
            self._http, config.api_proxy, token, cache=self._cache, leases=self._leases, outage=outage
        )
        self.services = AgentServices(proxy, self._cache, stop, kind=config.kind, leases=self._leases)
        self._served: list[tuple[HTTPServer, _Bound]] = []

    def import_cache(self, entries: Mapping[str, Mapping[str, Any]], store: PersistentCache | None) -> int:
        """Restore the lease cache from persisted `entries`, then write through to `store` (None: no more
        persisting); how many entries were restored."""
        if self._leases is None:
            return 0
        restored = self._leases.restore(entries)
        if store is not None:
            self._leases.persist_to(store)
        return restored

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
            # The proxy serves plain HTTP: an upgrade request is passed on as an ordinary request.
            server = HTTPServer(
                ListenerApp(item.listener, self.services), item.sock, item.tls, websockets=False
            )
            server.start()
            self._served.append((server, item))

    async def close(self) -> None:
        """Stop serving (requests in flight may finish), remove unix sockets, close the upstream client."""
        for server, _ in self._served:
            server.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(server.wait() for server, _ in self._served)), _DRAIN)
        for _, item in self._served:
            _release(item)
        self._served.clear()
        if self._cache is not None:
            await self._cache.close()
        if self._leases is not None:
            await self._leases.close()
        await self._http.aclose()


def _websocket_tls(verify: ssl.SSLContext | bool) -> ssl.SSLContext | None:
    """What the cache's event subscriptions verify the server with (None: the default trust store)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return None


def _release(item: _Bound) -> None:
    item.sock.close()
    if item.listener.type == "unix":
        with contextlib.suppress(FileNotFoundError):
            os.unlink(item.listener.address)
