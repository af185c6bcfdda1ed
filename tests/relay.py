"""A TCP relay for tests that need a network partition between one server and the service it talks to.

`cut()` is a partition both ends see at once: every relayed connection is closed and new ones are closed as
soon as they arrive. `silence()` is one neither end sees: the relay stops forwarding but keeps every socket
open (the kernels on both sides still acknowledge, so TCP keepalives never fail; only the applications'
own timeouts can tell), and new connections are accepted and left without an answer. `restore()` ends
either: what was silenced is closed, and new connections are relayed again.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from enum import Enum


class Mode(Enum):
    OPEN = "open"
    CUT = "cut"
    SILENT = "silent"


class Relay:
    """Relays 127.0.0.1:`port` to 127.0.0.1:`upstream` on a thread of its own, until `close()`."""

    def __init__(self, upstream: int) -> None:
        self._upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._mode = Mode.OPEN
        self._applied = threading.Event()
        self._applied.set()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._parked: list[socket.socket] = []
        self._upstream_ends: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)
        self._thread.start()

    def cut(self) -> None:
        self._switch(Mode.CUT)

    def silence(self) -> None:
        self._switch(Mode.SILENT)

    def restore(self) -> None:
        self._switch(Mode.OPEN)

    def upstream_ports(self) -> list[int]:
        """The local ports of the relay's connections to the upstream (how the upstream sees them)."""
        with self._lock:
            return [end.getsockname()[1] for end in self._upstream_ends if end.fileno() != -1]

    def close(self) -> None:
        self._stopping = True
        self._thread.join(timeout=5)
        self._drop_all()
        self._listener.close()

    def _switch(self, mode: Mode) -> None:
        """Change mode; returns once the relay thread has acted on it."""
        with self._lock:
            self._mode = mode
            self._applied.clear()
        if not self._applied.wait(timeout=5):
            raise RuntimeError("the relay thread did not answer")

    def _drop_all(self) -> None:
        for sock in [*self._peers, *self._parked]:
            with contextlib.suppress(OSError):
                sock.close()
        self._peers.clear()
        self._parked.clear()
        self._upstream_ends.clear()

    def _run(self) -> None:
        while not self._stopping:
            with self._lock:
                mode = self._mode
                if not self._applied.is_set():
                    if mode is not Mode.SILENT:
                        self._drop_all()
                    self._applied.set()
            watched = [self._listener, *self._peers] if mode is Mode.OPEN else [self._listener]
            readable, _, _ = select.select(watched, [], [], 0.02)
            for sock in readable:
                if sock is self._listener:
                    self._accept(mode)
                elif sock in self._peers:
                    self._forward(sock)

    def _accept(self, mode: Mode) -> None:
        client, _ = self._listener.accept()
        if mode is Mode.CUT:
            client.close()
        elif mode is Mode.SILENT:
            self._parked.append(client)
        else:
            try:
                server = socket.create_connection(("127.0.0.1", self._upstream), timeout=5)
            except OSError:
                client.close()
                return
            server.settimeout(None)
            self._peers[client], self._peers[server] = server, client
            self._upstream_ends.add(server)

    def _forward(self, sock: socket.socket) -> None:
        peer = self._peers[sock]
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        for end in (sock, peer):
            self._peers.pop(end, None)
            self._upstream_ends.discard(end)
            with contextlib.suppress(OSError):
                end.close()
