"""The TLS relay in process: the app behind it sees the real client and its certificate chain, a connection
to the loopback worker from anyone else is refused, and the certificate matching globs behave as Go's."""

from __future__ import annotations

import json
import socket
import ssl
from pathlib import Path

import httpx
from tests.tls import ScratchCA

from strongroom.builtin.auth.cert.verify import glob
from strongroom.util.http_server import Receive, Scope, Send, TLSFiles
from strongroom.util.tls_relay import RelayedTLSServer


async def _echo(scope: Scope, receive: Receive, send: Send) -> None:
    tls = scope.get("extensions", {}).get("tls", {})
    body = json.dumps({"client": list(scope["client"]), "chain": list(tls.get("client_cert_chain", ()))})
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": body.encode()})


async def test_the_app_sees_the_real_client_and_its_certificate(tmp_path: Path) -> None:
    ca = ScratchCA(tmp_path)
    issued, client_cert = ca.issue("server"), ca.issue("client", server=False)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    relay = RelayedTLSServer(_echo, sock, TLSFiles(str(issued.cert), str(issued.key)))
    relay.start()
    try:
        context = ssl.create_default_context(cafile=str(ca.path))
        context.load_cert_chain(client_cert.cert, client_cert.key)
        transport = httpx.AsyncHTTPTransport(verify=context, local_address="127.0.0.1")
        async with httpx.AsyncClient(transport=transport) as client:
            seen = (await client.get(f"https://127.0.0.1:{port}/")).json()
        # The client's own certificate first; OpenSSL also sends the CA it found in its trust store.
        assert seen["chain"][0] == client_cert.cert.read_text()
        assert seen["client"][0] == "127.0.0.1"
        without = ssl.create_default_context(cafile=str(ca.path))
        async with httpx.AsyncClient(verify=without) as client:
            assert (await client.get(f"https://127.0.0.1:{port}/")).json()["chain"] == []
        host, inner = relay._inner_address
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"http://{host}:{inner}/")).status_code == 403
    finally:
        relay.stop()
        await relay.wait()


def test_globs_match_as_go_glob_does() -> None:
    assert glob("*", "")
    assert glob("*.example.com", "a.example.com")
    assert not glob("*.example.com", "example.com")
    assert glob("a*b*c", "aXbYc")
    assert not glob("a*b*c", "aXcYb")
    assert glob("ab*ba", "aba") is False
    assert glob("exact", "exact")
    assert not glob("exact", "exactly")
