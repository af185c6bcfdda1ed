"""Listeners on the native HTTP server: several at once, a port already taken, requests in flight when
SIGTERM comes, SIGHUP leaving plain listeners' event streams alone, and the socket's peer as the client."""

from __future__ import annotations

import asyncio
import http.client
import json
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from tests.servers import (
    API_AUDIT,
    RunningServer,
    free_port,
    sqlite_config,
    strongroom_config_server,
    strongroom_dev_server,
)
from tests.tls import ScratchCA

INIT = b'{"secret_shares":1,"secret_threshold":1}'


def test_one_server_serves_several_listeners_plain_and_tls(tmp_path: Path) -> None:
    ca = ScratchCA(tmp_path)
    issued = ca.issue("server")
    plain, secure = free_port(), free_port()
    config = sqlite_config(tmp_path, plain) + (
        f'listener "tcp" {{\n  address = "127.0.0.1:{secure}"\n'
        f'  tls_cert_file = "{issued.cert}"\n  tls_key_file = "{issued.key}"\n}}\n'
    )
    with strongroom_config_server(tmp_path, config, plain) as server:
        assert httpx.put(f"{server.address}/v1/sys/init", content=INIT).status_code == 200
        trusted = ssl.create_default_context(cafile=str(ca.path))
        status = httpx.get(f"https://127.0.0.1:{secure}/v1/sys/seal-status", verify=trusted)
        assert (status.status_code, status.json()["initialized"]) == (200, True)


def test_a_port_in_use_stops_a_second_server_with_exit_code_1(tmp_path: Path) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port):
        other = tmp_path / "other"
        other.mkdir()
        (other / "server.hcl").write_text(sqlite_config(other, port))
        second = subprocess.run(
            [sys.executable, "-m", "strongroom", "server", f"-config={other / 'server.hcl'}"],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
    assert second.returncode == 1
    assert "Error initializing listener: [Errno 98] Address already in use" in second.stderr


def test_a_request_in_flight_when_sigterm_comes_is_answered(tmp_path: Path) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            head = f"PUT /v1/sys/init HTTP/1.1\r\nHost: x\r\nContent-Length: {len(INIT)}\r\n\r\n".encode()
            raw.sendall(head + INIT[:10])
            time.sleep(0.2)  # the server is now reading the body
            server.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _accepts(port):  # a stopping server takes no new connection
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.05)
            assert server.process.poll() is None, "the server left before answering the request in flight"
            raw.sendall(INIT[10:])
            answer = _read_response(raw)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        assert b'"root_token"' in answer
        assert server.process.wait(timeout=15) == 0


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _read_response(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


async def test_sighup_keeps_event_streams_on_plain_listeners(tmp_path: Path) -> None:
    with strongroom_dev_server(tmp_path) as server:
        url = server.address.replace("http://", "ws://") + "/v1/sys/events/subscribe/kv*?json=true"
        async with connect(url, additional_headers={"X-Vault-Token": "root"}) as ws:
            server.process.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while "reloaded TLS certificates" not in server.log.read_text():
                assert time.monotonic() < deadline, server.log.read_text()
                await asyncio.sleep(0.05)
            key = f"reload/{uuid.uuid4().hex[:8]}"
            with server.client() as client:
                assert client.post(f"/v1/secret/data/{key}", json={"data": {"a": "b"}}).status_code == 200
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["data"]["event"]["metadata"]["path"] == f"secret/data/{key}"


def test_the_audit_log_names_the_socket_peer_with_a_numeric_port(tmp_path: Path) -> None:
    with strongroom_dev_server(tmp_path, config=API_AUDIT) as server:
        log = tmp_path / "audit.log"
        with server.client() as client:
            enabled = client.put(
                "/v1/sys/audit/file", json={"type": "file", "options": {"file_path": str(log)}}
            )
            assert enabled.status_code == 204, enabled.text
        peer = _lookup_self_from_a_known_port(server)
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        lookup = next(
            e for e in entries if e["type"] == "response" and e["request"]["path"] == "auth/token/lookup-self"
        )
        assert (lookup["request"]["remote_address"], lookup["request"]["remote_port"]) == peer


def _lookup_self_from_a_known_port(server: RunningServer) -> tuple[str, int]:
    host, port = server.address.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.connect()
    assert connection.sock is not None
    peer: tuple[str, int] = connection.sock.getsockname()
    connection.request("GET", "/v1/auth/token/lookup-self", headers={"X-Vault-Token": "root"})
    assert connection.getresponse().status == 200
    connection.close()
    return peer
