"""TLS listeners: certificates, minimum version, client certificates, and reload on SIGHUP."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from websockets.asyncio.client import connect

from tests.api.test_cert_auth import tls_server
from tests.api.test_listeners import _accepts, _read_response
from tests.servers import ConfigServer, free_port, strongroom_config_server
from tests.tls import Issued, ScratchCA

RELAY = "  tls_request_client_certs = true\n"
"""The listener line that terminates TLS in Python to read client certificates (util/tls_relay.py)."""


@pytest.fixture(params=["", RELAY], ids=["rustls", "relay"])
def mode(request: pytest.FixtureRequest) -> str:
    """Listener lines for either TLS path: granian's rustls, or the relay."""
    value: str = request.param
    return value


def tls_config(tmp_path: Path, port: int, issued: Issued, extra: str = "") -> str:
    return (
        f'storage "sqlite" {{ path = "{tmp_path / "strongroom.db"}" }}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n'
        f'  tls_cert_file = "{issued.cert}"\n  tls_key_file = "{issued.key}"\n{extra}}}\n'
    )


def wait_tls(server: ConfigServer, context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log.read_text()
        try:
            httpx.get(f"{server.address}/v1/sys/seal-status", verify=context, timeout=1)
            return
        except httpx.ConnectError:
            time.sleep(0.05)
    raise AssertionError(server.log.read_text())


def served_serial(port: int, ca: ScratchCA) -> int:
    context = ssl.create_default_context(cafile=str(ca.path))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_serves_tls_with_its_certificate_and_refuses_unknown_cas(tmp_path: Path, mode: str) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    issued = ca.issue("server")
    with strongroom_config_server(
        tmp_path, tls_config(tmp_path, port, issued, mode), port, scheme="https"
    ) as server:
        trusted = ssl.create_default_context(cafile=str(ca.path))
        wait_tls(server, trusted)
        answer = httpx.get(f"{server.address}/v1/sys/seal-status", verify=trusted)
        assert answer.json()["initialized"] is False
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{server.address}/v1/sys/seal-status")


def test_minimum_tls_version_is_enforced(tmp_path: Path, mode: str) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    config = tls_config(tmp_path, port, ca.issue("server"), '  tls_min_version = "tls13"\n' + mode)
    with strongroom_config_server(tmp_path, config, port, scheme="https") as server:
        wait_tls(server, ssl.create_default_context(cafile=str(ca.path)))
        old = ssl.create_default_context(cafile=str(ca.path))
        old.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.address}/v1/sys/seal-status", verify=old)


def test_client_certificates_are_required_when_configured(tmp_path: Path, mode: str) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    extra = f'  tls_client_ca_file = "{ca.path}"\n  tls_require_and_verify_client_cert = true\n'
    config = tls_config(tmp_path, port, ca.issue("server"), extra + mode)
    client_cert = ca.issue("client", server=False)
    with_cert = ssl.create_default_context(cafile=str(ca.path))
    with_cert.load_cert_chain(client_cert.cert, client_cert.key)
    with strongroom_config_server(tmp_path, config, port, scheme="https") as server:
        wait_tls(server, with_cert)
        assert httpx.get(f"{server.address}/v1/sys/seal-status", verify=with_cert).status_code == 200
        without = ssl.create_default_context(cafile=str(ca.path))
        with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
            httpx.get(f"{server.address}/v1/sys/seal-status", verify=without)


def _serial_or_none(port: int, ca: ScratchCA) -> int | None:
    """The served certificate's serial, or None for a handshake cut short: a connection the old worker
    accepted just as the reload told it to stop can be closed before its handshake (a known race of the
    worker hand-over; the next connection reaches the new worker)."""
    try:
        return served_serial(port, ca)
    except (ssl.SSLEOFError, ConnectionResetError):
        return None


def test_sighup_reloads_the_certificate(tmp_path: Path, mode: str) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    first = ca.issue("server")
    with strongroom_config_server(
        tmp_path, tls_config(tmp_path, port, first, mode), port, scheme="https"
    ) as server:
        wait_tls(server, ssl.create_default_context(cafile=str(ca.path)))
        assert served_serial(port, ca) == first.serial
        second = ca.issue("server")  # same file names: the operator replaced the files in place
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while _serial_or_none(port, ca) != second.serial:
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.05)
        assert "reloaded TLS certificates" in server.log.read_text()


def test_the_cli_trusts_the_ca_from_flag_or_environment(tmp_path: Path) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    with strongroom_config_server(
        tmp_path, tls_config(tmp_path, port, ca.issue("server")), port, scheme="https"
    ) as server:
        wait_tls(server, ssl.create_default_context(cafile=str(ca.path)))
        base_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))
        }
        base_env |= {"HOME": str(tmp_path), "STRONGROOM_ADDR": server.address}

        def status(*flags: str, **env: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "strongroom", "status", *flags],
                capture_output=True, text=True, env=base_env | env, timeout=30, check=False,
            )  # fmt: skip

        untrusted = status()
        assert untrusted.returncode == 1
        assert "tls: failed to verify certificate: unable to get local issuer certificate" in untrusted.stderr
        # An uninitialized server makes `status` exit 2 after it has talked to it: TLS worked.
        assert status(f"-ca-cert={ca.path}").returncode == 2
        assert status(VAULT_CACERT=str(ca.path)).returncode == 2
        assert status("-tls-skip-verify").returncode == 2
        assert status(STRONGROOM_SKIP_VERIFY="true").returncode == 2


def test_a_client_certificate_no_listener_ca_trusts_is_accepted(tmp_path: Path, mode: str) -> None:
    """Vault requests a client certificate on a TLS listener without verifying it (auth/cert judges it);
    the relay does the same, and rustls does not ask: either way the handshake succeeds."""
    ca, other = ScratchCA(tmp_path), ScratchCA(tmp_path, "unrelated CA")
    port = free_port()
    client_cert = other.issue("client", server=False)
    context = ssl.create_default_context(cafile=str(ca.path))
    context.load_cert_chain(client_cert.cert, client_cert.key)
    with strongroom_config_server(
        tmp_path, tls_config(tmp_path, port, ca.issue("server"), mode), port, scheme="https"
    ) as server:
        wait_tls(server, context)
        assert httpx.get(f"{server.address}/v1/sys/seal-status", verify=context).status_code == 200


def test_tls_disable_client_certs_and_tls_request_client_certs_exclude_each_other(tmp_path: Path) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    config = tls_config(tmp_path, port, ca.issue("server"), RELAY + "  tls_disable_client_certs = true\n")
    with strongroom_config_server(tmp_path, config, port, scheme="https") as server:
        assert server.process.wait(timeout=30) == 1
        assert "'tls_disable_client_certs' and 'tls_request_client_certs' are mutually exclusive" in (
            server.log.read_text()
        )


async def test_the_relay_keeps_the_real_peer_request_limits_and_event_streams(tmp_path: Path) -> None:
    """Behind the relay the API sees the client's own address (audit log), refuses bodies over
    max_request_size, and serves event WebSockets over wss."""
    extra = "unsafe_allow_api_audit_creation = true\n"
    with tls_server(
        tmp_path, "strongroom", listener_extra=RELAY + "  max_request_size = 4096\n", extra=extra
    ) as srv:
        log = tmp_path / "audit.log"
        with srv.admin() as admin:
            admin.put("/v1/sys/audit/file", json={"type": "file", "options": {"file_path": str(log)}})
            admin.post("/v1/sys/mounts/secret", json={"type": "kv", "options": {"version": "2"}})
            assert admin.put("/v1/secret/data/big", content=b"x" * 8192).status_code == 413
        context = ssl.create_default_context(cafile=str(srv.ca.path))
        host, port = srv.address.removeprefix("https://").split(":")
        connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=10)
        connection.connect()
        peer = connection.sock.getsockname()[:2]
        connection.request("GET", "/v1/auth/token/lookup-self", headers={"X-Vault-Token": srv.root})
        assert connection.getresponse().status == 200
        connection.close()
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        lookup = next(e for e in entries if e["request"]["path"] == "auth/token/lookup-self")
        assert (lookup["request"]["remote_address"], lookup["request"]["remote_port"]) == tuple(peer)
        url = srv.address.replace("https://", "wss://") + "/v1/sys/events/subscribe/kv*?json=true"
        async with connect(url, additional_headers={"X-Vault-Token": srv.root}, ssl=context) as ws:
            with srv.admin() as admin:
                admin.post("/v1/secret/data/seen", json={"data": {"a": "b"}}).raise_for_status()
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert event["data"]["event"]["metadata"]["path"] == "secret/data/seen"


def test_a_request_in_flight_on_the_relay_when_sigterm_comes_is_answered(tmp_path: Path) -> None:
    ca = ScratchCA(tmp_path)
    port = free_port()
    config = tls_config(tmp_path, port, ca.issue("server"), RELAY)
    body = b'{"secret_shares":1,"secret_threshold":1}'
    context = ssl.create_default_context(cafile=str(ca.path))
    with strongroom_config_server(tmp_path, config, port, scheme="https") as server:
        wait_tls(server, context)
        with (
            socket.create_connection(("127.0.0.1", port)) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            head = f"PUT /v1/sys/init HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            tls.sendall(head + body[:10])
            time.sleep(0.3)  # the server is now reading the body
            server.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _accepts(port):  # a stopping server takes no new connection
                assert time.monotonic() < deadline, server.log.read_text()
                time.sleep(0.05)
            assert server.process.poll() is None, "the server left before answering the request in flight"
            tls.sendall(body[10:])
            answer = _read_response(tls)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
        assert b'"root_token"' in answer
        assert server.process.wait(timeout=15) == 0
