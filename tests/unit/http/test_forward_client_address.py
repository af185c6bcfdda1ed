"""A standby's forwarded request carries the client address it settled on, never the client's own header;
its answer brings back the headers the active server's backend set."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from strongroom.http.forward import Forwarder


class _Echo(BaseHTTPRequestHandler):
    """An active server stand-in that answers with the X-Forwarded-For lines it received."""

    def do_GET(self) -> None:
        body = "|".join(self.headers.get_all("X-Forwarded-For") or []).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Replay-Nonce", "nonce-from-the-active-node")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def active() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_the_clients_header_is_replaced_by_the_settled_address(active: str) -> None:
    forwarder = Forwarder()
    try:
        headers = {"x-forwarded-for": "6.6.6.6", "x-vault-token": "t"}
        status, body, _ = await forwarder.forward(
            active, "GET", "/v1/secret/x", query=b"", headers=headers, body=b"", client="10.1.2.3"
        )
        assert (status, body) == (200, b"10.1.2.3")
        _, without, _ = await forwarder.forward(active, "GET", "/v1/x", query=b"", headers=headers, body=b"")
        assert without == b""
    finally:
        await forwarder.aclose()


async def test_headers_the_active_servers_backend_set_come_back_with_the_answer(active: str) -> None:
    forwarder = Forwarder()
    try:
        extra: dict[str, str] = {}
        await forwarder.forward(
            active, "GET", "/v1/pki/acme/new-nonce", query=b"", headers={}, body=b"", extra=extra
        )
        assert extra == {"replay-nonce": "nonce-from-the-active-node"}
    finally:
        await forwarder.aclose()
