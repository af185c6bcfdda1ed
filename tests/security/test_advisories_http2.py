"""HCSEC-2023-32 / CVE-2023-44487, HTTP/2 "rapid reset": a client opens streams and cancels each at once;
the server starts work for every stream, and one connection exhausts it.

strongroom's listeners speak HTTP/2 (granian, hyper), in cleartext too (h2c with prior knowledge), so the
attack applies. OpenBao serves HTTP/2 only over TLS (Go's net/http has no h2c on a plain listener), so the
test runs on strongroom's plain dev listener alone. A server with the flaw accepts every one of the
streams; a fixed one ends the connection after a bounded number of resets, and keeps serving others.
"""

from __future__ import annotations

import select
import socket
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import httpx

from tests.servers import RunningServer

STREAMS = 20_000
BOUND = 1_000
"""A fixed server ends the connection well before this many reset streams (hyper: after about 100)."""


def _h2c(address: str) -> tuple[socket.socket, h2.connection.H2Connection, list[tuple[str, str]]]:
    url = urlsplit(address)
    assert url.hostname is not None
    assert url.port is not None
    sock = socket.create_connection((url.hostname, url.port), timeout=10)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    headers = [
        (":method", "GET"),
        (":path", "/v1/sys/health"),
        (":scheme", "http"),
        (":authority", url.netloc),
    ]
    return sock, conn, headers


def _ended(sock: socket.socket, conn: h2.connection.H2Connection) -> bool:
    """Whether the server has closed the connection or sent GOAWAY (reads what has arrived, no waiting)."""
    while select.select([sock], [], [], 0)[0]:
        data = sock.recv(65536)
        if not data:
            return True
        events = conn.receive_data(data)
        if any(isinstance(event, h2.events.ConnectionTerminated) for event in events):
            return True
    return False


def _one_request(address: str) -> int:
    """The status of one ordinary HTTP/2 request on a connection of its own."""
    sock, conn, headers = _h2c(address)
    with sock:
        conn.send_headers(conn.get_next_available_stream_id(), headers, end_stream=True)
        sock.sendall(conn.data_to_send())
        while True:
            data = sock.recv(65536)
            assert data, "the server closed an ordinary HTTP/2 connection"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    return int(dict(event.headers)[b":status"])
            sock.sendall(conn.data_to_send())


def test_hcsec_2023_32_cve_2023_44487_rapid_reset_ends_the_connection(server: RunningServer) -> None:
    assert _one_request(server.address) == 200  # the listener does speak HTTP/2: the attack applies
    sock, conn, headers = _h2c(server.address)
    sent, ended = 0, False
    with sock:
        try:
            while sent < STREAMS and not ended:
                for _ in range(50):
                    stream = conn.get_next_available_stream_id()
                    conn.send_headers(stream, headers, end_stream=True)
                    conn.reset_stream(stream)
                    sent += 1
                sock.sendall(conn.data_to_send())
                ended = _ended(sock, conn)
        except (OSError, h2.exceptions.ProtocolError):
            ended = True
    assert ended, f"the server took all {sent} reset streams on one connection"
    assert sent < BOUND, f"the server ended the connection only after {sent} reset streams"
    assert _one_request(server.address) == 200
    assert httpx.get(f"{server.address}/v1/sys/health", timeout=10).status_code == 200
