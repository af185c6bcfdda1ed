"""hvac's pki client on the revocation side, against a real strongroom dev server over HTTP: config/crl,
revocation and the CRL it lands on, CRL rotation, the delta CRL, tidy and the OCSP responder; and the same
paths driven by the real `bao` CLI."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import hvac
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.servers import RunningServer, bao_binary


@pytest.fixture
def pki(server: RunningServer) -> Iterator[tuple[hvac.Client, str]]:
    client = hvac.Client(url=server.address, token=server.root_token)
    mount = f"pkicrl-{uuid.uuid4().hex[:8]}"
    client.sys.enable_secrets_engine("pki", path=mount)
    yield client, mount
    client.sys.disable_secrets_engine(mount)
    client.adapter.close()


def test_crl_configuration_revocation_and_ocsp(pki: tuple[hvac.Client, str], server: RunningServer) -> None:
    client, mount = pki
    p = client.secrets.pki
    assert p.read_crl_configuration(mount_point=mount)["data"]["expiry"] == "72h"
    p.set_crl_configuration(
        expiry="48h", extra_params={"auto_rebuild": True, "enable_delta": True}, mount_point=mount
    )
    config = p.read_crl_configuration(mount_point=mount)["data"]
    assert (config["expiry"], config["auto_rebuild"], config["enable_delta"]) == ("48h", True, True)
    root = p.generate_root(
        type="internal", common_name="example.com", extra_params={"key_type": "ec"}, mount_point=mount
    )["data"]
    ca = x509.load_pem_x509_certificate(root["certificate"].encode())
    p.create_or_update_role(
        "web",
        {"allowed_domains": "example.com", "allow_subdomains": True, "key_type": "ec"},
        mount_point=mount,
    )
    leaf = p.generate_certificate("web", "a.example.com", extra_params={"ttl": "1h"}, mount_point=mount)[
        "data"
    ]
    serial = leaf["serial_number"]
    revoked = p.revoke_certificate(serial, mount_point=mount)["data"]
    assert revoked["state"] == "revoked"
    assert (
        p.read_certificate(serial, mount_point=mount)["data"]["revocation_time"] == revoked["revocation_time"]
    )
    with httpx.Client(base_url=f"{server.address}/v1/{mount}", timeout=10) as anonymous:
        # auto_rebuild: the complete CRL waits for its rebuild; the delta CRL lists it once rotated.
        assert list(x509.load_der_x509_crl(anonymous.get("/crl").content)) == []
        client.read(f"{mount}/crl/rotate-delta")
        delta = x509.load_der_x509_crl(anonymous.get("/crl/delta").content)
        assert [entry.serial_number for entry in delta] == [int(serial.replace(":", ""), 16)]
        p.rotate_crl(mount_point=mount)
        complete = x509.load_pem_x509_crl(anonymous.get("/crl/pem").content)
        assert [entry.serial_number for entry in complete] == [int(serial.replace(":", ""), 16)]
        assert complete.next_update_utc is not None
        assert complete.last_update_utc is not None
        assert (complete.next_update_utc - complete.last_update_utc).total_seconds() == 48 * 3600
        request = (
            ocsp.OCSPRequestBuilder()
            .add_certificate(x509.load_pem_x509_certificate(leaf["certificate"].encode()), ca, hashes.SHA1())
            .build()
            .public_bytes(serialization.Encoding.DER)
        )
        answer = ocsp.load_der_ocsp_response(
            anonymous.get(f"/ocsp/{base64.b64encode(request).decode()}").content
        )
        assert answer.certificate_status is ocsp.OCSPCertStatus.REVOKED
    listed = client.list(f"{mount}/certs/revoked")["data"]["keys"]
    assert listed == [serial]
    p.tidy(extra_params={"tidy_revoked_certs": True}, mount_point=mount)
    status = client.read(f"{mount}/tidy-status")["data"]
    assert status["state"] == "Finished"
    assert status["revoked_cert_deleted_count"] == 0  # not yet expired past the safety buffer


def test_bao_cli_drives_the_revocation_side(server: RunningServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}

    def bao(*args: str) -> str:
        done = subprocess.run(
            [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    mount = f"pkicli-{uuid.uuid4().hex[:8]}"
    bao("secrets", "enable", f"-path={mount}", "pki")
    try:
        bao("write", f"{mount}/config/crl", "expiry=24h", "ocsp_expiry=1h")
        assert bao("read", "-field=expiry", f"{mount}/config/crl") == "24h"
        bao("write", f"{mount}/root/generate/internal", "common_name=example.com", "key_type=ec")
        bao(
            "write",
            f"{mount}/roles/web",
            "allowed_domains=example.com",
            "allow_subdomains=true",
            "key_type=ec",
        )
        issued = json.loads(
            bao("write", "-format=json", f"{mount}/issue/web", "common_name=a.example.com", "ttl=1h")
        )
        serial = issued["data"]["serial_number"]
        assert "revoked" in bao("write", f"{mount}/revoke", f"serial_number={serial}")
        assert json.loads(bao("list", "-format=json", f"{mount}/certs/revoked")) == [serial]
        assert bao("read", "-field=state", f"{mount}/tidy-status") == "Inactive"
        crl = x509.load_pem_x509_crl(bao("read", "-field=certificate", f"{mount}/cert/crl").encode())
        assert [entry.serial_number for entry in crl] == [int(serial.replace(":", ""), 16)]
    finally:
        bao("secrets", "disable", mount)
