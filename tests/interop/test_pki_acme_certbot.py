"""Certbot (Debian's) against the pki engine's ACME server: register, obtain a certificate for localhost by
http-01 with its own standalone responder, renew it, revoke it. The certificates verify against the
mount's CA as a TLS client would verify a server."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store

from tests.servers import RunningServer, free_port

CERTBOT = shutil.which("certbot")
pytestmark = pytest.mark.skipif(CERTBOT is None, reason="certbot is missing: run scripts/test-tools")


def _certbot(workdir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CERTBOT is not None
    dirs = ["--config-dir", str(workdir / "config"), "--work-dir", str(workdir / "work")]
    argv = [CERTBOT, *dirs, "--logs-dir", str(workdir / "logs"), "--non-interactive", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done


def _serial(certificate: x509.Certificate) -> str:
    raw = certificate.serial_number.to_bytes(20, "big").lstrip(b"\0")
    return ":".join(f"{byte:02x}" for byte in raw)


def test_certbot_obtains_renews_and_revokes(server: RunningServer, tmp_path: Path) -> None:
    port = free_port()
    path = "pki-certbot"
    with server.client() as root:
        root.post(
            f"/v1/sys/mounts/{path}",
            json={
                "type": "pki",
                "options": {"acme_http_01_port": str(port)},
                "config": {"allowed_response_headers": ["Replay-Nonce", "Link", "Location"]},
            },
        ).raise_for_status()
        root.post(
            f"/v1/{path}/root/generate/internal", json={"common_name": "Certbot Root"}
        ).raise_for_status()
        root.post(
            f"/v1/{path}/config/cluster", json={"path": f"{server.address}/v1/{path}"}
        ).raise_for_status()
        root.post(f"/v1/{path}/config/acme", json={"enabled": True}).raise_for_status()
        ca = x509.load_pem_x509_certificate(root.get(f"/v1/{path}/ca/pem").content)
    directory = f"{server.address}/v1/{path}/acme/directory"
    standalone = ["--standalone", "--http-01-port", str(port), "--http-01-address", "127.0.0.1"]
    _certbot(
        tmp_path, "certonly", *standalone, "--agree-tos", "--register-unsafely-without-email",
        "--server", directory, "-d", "localhost",
    )  # fmt: skip
    # Without a terminal certbot first sleeps up to 8 minutes before renewing (spreading load on real CAs).
    _certbot(tmp_path, "renew", "--force-renewal", "--no-random-sleep-on-renew", *standalone)

    archive = tmp_path / "config" / "archive" / "localhost"
    first, second = (
        x509.load_pem_x509_certificates((archive / f"fullchain{n}.pem").read_bytes())[0] for n in (1, 2)
    )
    assert first.serial_number != second.serial_number
    verifier = PolicyBuilder().store(Store([ca])).build_server_verifier(x509.DNSName("localhost"))
    for leaf in (first, second):
        verifier.verify(leaf, [])

    _certbot(
        tmp_path, "revoke", "--server", directory, "--cert-path", str(archive / "cert2.pem"),
        "--no-delete-after-revoke",
    )  # fmt: skip
    revoked = httpx.get(f"{server.address}/v1/{path}/cert/{_serial(second)}").json()["data"]
    assert revoked["revocation_time"] > 0
    untouched = httpx.get(f"{server.address}/v1/{path}/cert/{_serial(first)}").json()["data"]
    assert untouched["revocation_time"] == 0
