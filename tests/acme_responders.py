"""Challenge responders an ACME client runs while a server validates it: http-01 (an HTTP server on
loopback serving key authorizations) and tls-alpn-01 (a TLS server on loopback that negotiates
"acme-tls/1" and shows RFC 8737's self-signed certificate) and dns-01 (a UDP DNS server on loopback)."""

from __future__ import annotations

import datetime
import hashlib
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
PREFIX = "/.well-known/acme-challenge/"


class Http01:
    """Serves `answers[token]` at /.well-known/acme-challenge/<token>; counts the fetches."""

    def __init__(self) -> None:
        self.answers: dict[str, str] = {}
        self.fetches: list[str] = []
        responder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                token = self.path.removeprefix(PREFIX)
                responder.fetches.append(token)
                answer = responder.answers.get(token) if self.path.startswith(PREFIX) else None
                body = (answer or "").encode()
                self.send_response(200 if answer else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])

    @contextmanager
    def running(self) -> Iterator[Http01]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join()


def alpn_certificate(domain: str, key_authorization: str) -> tuple[bytes, bytes]:
    """RFC 8737's certificate for `domain`: self-signed, one DNS SAN, the critical acmeIdentifier."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.UTC)
    digest = hashlib.sha256(key_authorization.encode()).digest()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .add_extension(x509.UnrecognizedExtension(ACME_IDENTIFIER, b"\x04\x20" + digest), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), key_pem


class TlsAlpn01:
    """A TLS server on loopback speaking only acme-tls/1, with the certificate set by `serve`."""

    def __init__(self, workdir: Path) -> None:
        self._workdir = workdir
        self._context: ssl.SSLContext | None = None
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])
        self.handshakes = 0
        self._stop = threading.Event()

    def serve(self, domain: str, key_authorization: str) -> None:
        cert_pem, key_pem = alpn_certificate(domain, key_authorization)
        (self._workdir / "alpn.crt").write_bytes(cert_pem)
        (self._workdir / "alpn.key").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["acme-tls/1"])
        context.load_cert_chain(self._workdir / "alpn.crt", self._workdir / "alpn.key")
        self._context = context

    def _loop(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with connection, suppress(OSError, ssl.SSLError):
                if self._context is None:
                    continue
                connection.settimeout(5)
                with self._context.wrap_socket(connection, server_side=True):
                    self.handshakes += 1

    @contextmanager
    def running(self) -> Iterator[TlsAlpn01]:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._socket.close()


class Dns01:
    """A UDP DNS server on loopback answering TXT queries from `records` (name -> values); config/acme's
    dns_resolver points at it."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.queries: list[str] = []
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.2)
        self.port = int(self._socket.getsockname()[1])
        self._stop = threading.Event()

    def _answer(self, message: bytes) -> bytes:
        query_id = message[:2]
        offset, labels = 12, []
        while message[offset]:
            length = message[offset]
            labels.append(message[offset + 1 : offset + 1 + length].decode())
            offset += 1 + length
        question = message[12 : offset + 5]
        name = ".".join(labels)
        self.queries.append(name)
        values = self.records.get(name, [])
        answers = b""
        for value in values:
            rdata = bytes([len(value)]) + value.encode()
            answers += b"\xc0\x0c" + struct.pack(">HHIH", 16, 1, 60, len(rdata)) + rdata
        rcode = 0 if values else 3  # NXDOMAIN when nothing is published
        header = query_id + struct.pack(">HHHHH", 0x8180 | rcode, 1, len(values), 0, 0)
        return header + question + answers

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                message, peer = self._socket.recvfrom(512)
            except TimeoutError:
                continue
            except OSError:
                return
            with suppress(IndexError, UnicodeDecodeError, OSError):
                self._socket.sendto(self._answer(message), peer)

    @contextmanager
    def running(self) -> Iterator[Dns01]:
        thread = threading.Thread(target=self._loop, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()
            self._socket.close()
