"""The OCSP responder and CRLs over real HTTP: `openssl ocsp` and `openssl crl` against the dev server, the
same requests to OpenBao with the answers compared, and `cryptography.x509.ocsp` reading every answer."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from tests.servers import RunningServer

ROLE = {"allowed_domains": "example.com", "allow_subdomains": True, "key_type": "ec", "max_ttl": "24h"}


@dataclass(frozen=True)
class Pki:
    """A fresh pki mount with a root CA, a good and a revoked leaf."""

    server: RunningServer
    mount: str
    ca: x509.Certificate
    good: x509.Certificate
    revoked: x509.Certificate

    @property
    def url(self) -> str:
        return f"{self.server.address}/v1/{self.mount}"


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 204), response.text
    return response.json() if response.content else {}


def _setup(server: RunningServer, mount: str) -> Pki:
    with server.client() as client:
        _ok(client.post(f"/v1/sys/mounts/{mount}", json={"type": "pki"}))
        _ok(client.post(f"/v1/sys/mounts/{mount}/tune", json={"max_lease_ttl": "8760h"}))
        root = _ok(
            client.post(
                f"/v1/{mount}/root/generate/internal",
                json={"common_name": "ocsp.example.com", "ttl": "8760h", "key_type": "ec"},
            )
        )["data"]
        _ok(client.post(f"/v1/{mount}/roles/web", json=ROLE))
        leaves = [
            _ok(
                client.post(
                    f"/v1/{mount}/issue/web", json={"common_name": f"{name}.example.com", "ttl": "1h"}
                )
            )
            for name in ("good", "bad")
        ]
        _ok(client.post(f"/v1/{mount}/revoke", json={"serial_number": leaves[1]["data"]["serial_number"]}))

    def load(pem: str) -> x509.Certificate:
        return x509.load_pem_x509_certificate(pem.encode())

    return Pki(
        server,
        mount,
        load(root["certificate"]),
        load(leaves[0]["data"]["certificate"]),
        load(leaves[1]["data"]["certificate"]),
    )


@pytest.fixture
def pki(server: RunningServer, request: pytest.FixtureRequest) -> Iterator[Pki]:
    mount = f"ocsp{abs(hash(request.node.name)) % 10**8}"
    yield _setup(server, mount)
    with server.client() as client:
        client.delete(f"/v1/sys/mounts/{mount}")


def _request(leaf: x509.Certificate, issuer: x509.Certificate) -> bytes:
    built = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1()).build()
    return built.public_bytes(serialization.Encoding.DER)


def _unknown_serial(issuer: x509.Certificate) -> bytes:
    """A request for a serial the issuer never signed (OpenBao answers "good": only revocations are known)."""
    probe = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, hashes.SHA1()).build()
    name_hash = hashes.Hash(hashes.SHA1())
    name_hash.update(issuer.subject.public_bytes())
    built = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        name_hash.finalize(), probe.issuer_key_hash, 4242, hashes.SHA1()
    )
    return built.build().public_bytes(serialization.Encoding.DER)


def _encoded_with(issuer: x509.Certificate, character: str) -> str:
    """The base64 GET form of a request whose text holds `character` ("/" or "+"), for some serial."""
    probe = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, hashes.SHA1()).build()
    for serial in range(1, 10_000):
        built = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            probe.issuer_name_hash, probe.issuer_key_hash, serial, hashes.SHA1()
        )
        encoded = base64.b64encode(built.build().public_bytes(serialization.Encoding.DER)).decode()
        if character in encoded and "//" not in encoded:
            return encoded
    raise AssertionError(f"no serial below 10000 gives a {character!r}")


def _post(pki: Pki, body: bytes) -> httpx.Response:
    headers = {"Content-Type": "application/ocsp-request"}
    return httpx.post(f"{pki.url}/ocsp", content=body, headers=headers, timeout=10)


def _write_pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


def test_openssl_ocsp_reads_good_and_revoked(pki: Pki, tmp_path: Path) -> None:
    ca = _write_pem(tmp_path / "ca.pem", pki.ca)
    for name, leaf, expected in (("good", pki.good, "good"), ("bad", pki.revoked, "revoked")):
        cert = _write_pem(tmp_path / f"{name}.pem", leaf)
        done = subprocess.run(
            ["openssl", "ocsp", "-issuer", ca, "-cert", cert, "-CAfile", ca, "-url", f"{pki.url}/ocsp"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"{cert}: {expected}" in done.stdout
        assert "Response verify OK" in done.stderr


def test_get_and_post_answers_are_signed_by_the_issuer(pki: Pki) -> None:
    key = pki.ca.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    for leaf, status in ((pki.good, ocsp.OCSPCertStatus.GOOD), (pki.revoked, ocsp.OCSPCertStatus.REVOKED)):
        der = _request(leaf, pki.ca)
        encoded = base64.b64encode(der).decode()
        for answer in (_post(pki, der), httpx.get(f"{pki.url}/ocsp/{encoded}", timeout=10)):
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/ocsp-response"
            response = ocsp.load_der_ocsp_response(answer.content)
            assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
            assert response.certificate_status is status
            assert response.serial_number == leaf.serial_number
            assert response.responder_name == pki.ca.subject
            assert response.certificates == []
            assert response.signature_hash_algorithm is not None
            key.verify(
                response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm)
            )
            assert response.next_update_utc is not None
            assert response.this_update_utc is not None
            assert (response.next_update_utc - response.this_update_utc).total_seconds() == 12 * 3600
            if status is ocsp.OCSPCertStatus.REVOKED:
                assert response.revocation_reason is x509.ReasonFlags.unspecified


def _summary(pki: Pki, other_ca: x509.Certificate) -> list[Any]:
    """What the responder answers to a script of requests, as comparable values."""

    def read(answer: httpx.Response) -> Any:
        response = ocsp.load_der_ocsp_response(answer.content)
        shape: list[Any] = [answer.status_code, answer.headers["content-type"], response.response_status.name]
        if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL:
            shape += [response.certificate_status.name, response.next_update_utc is not None]
        return shape

    with pki.server.client() as client:
        answers = [
            read(_post(pki, _request(pki.good, pki.ca))),
            read(_post(pki, _request(pki.revoked, pki.ca))),
            read(_post(pki, b"garbage")),
            read(_post(pki, b"")),
            read(httpx.get(f"{pki.url}/ocsp/notbase64!", timeout=10)),
            read(_post(pki, _request(pki.good, other_ca))),
            read(_post(pki, _unknown_serial(pki.ca))),
            read(httpx.get(f"{pki.url}/ocsp/{_encoded_with(pki.ca, '/')}", timeout=10)),
            read(httpx.get(f"{pki.url}/ocsp/{_encoded_with(pki.ca, '+')}", timeout=10)),
        ]
        _ok(client.post(f"/v1/{pki.mount}/config/crl", json={"ocsp_expiry": "0"}))
        answers.append(read(_post(pki, _request(pki.good, pki.ca))))
        _ok(client.post(f"/v1/{pki.mount}/config/crl", json={"ocsp_disable": True}))
        answers.append(read(_post(pki, _request(pki.good, pki.ca))))
        _ok(client.post(f"/v1/{pki.mount}/config/crl", json={"ocsp_disable": False}))
        usage = {"usage": "read-only,issuing-certificates,crl-signing"}
        _ok(client.patch(f"/v1/{pki.mount}/issuer/default", json=usage,
                         headers={"Content-Type": "application/merge-patch+json"}))  # fmt: skip
        answers.append(read(_post(pki, _request(pki.good, pki.ca))))  # the issuer may no longer sign OCSP
        answers.append(read(_post(pki, _request(pki.good, other_ca))))  # nor answer "unknown"
    return answers


def test_ocsp_answers_match_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _setup(server, "ocspdiff")
    theirs = _setup(bao, "ocspdiff")
    try:
        # A request about another CA's certificate: each server answers "unknown", signed by its default.
        assert _summary(ours, theirs.ca) == _summary(theirs, ours.ca)
    finally:
        for target in (server, bao):
            with target.client() as client:
                client.delete("/v1/sys/mounts/ocspdiff")


def test_openssl_reads_the_crls(pki: Pki, tmp_path: Path) -> None:
    with pki.server.client() as client:
        _ok(client.post(f"/v1/{pki.mount}/config/crl", json={"auto_rebuild": True, "enable_delta": True}))
        complete = client.get(f"/v1/{pki.mount}/crl")
        delta = client.get(f"/v1/{pki.mount}/crl/delta/pem")
    assert complete.headers["content-type"] == "application/pkix-crl"
    assert delta.headers["content-type"] == "application/x-pem-file"
    (tmp_path / "crl.der").write_bytes(complete.content)
    (tmp_path / "delta.pem").write_bytes(delta.content)
    ca = _write_pem(tmp_path / "ca.pem", pki.ca)
    text = subprocess.run(
        ["openssl", "crl", "-inform", "DER", "-in", tmp_path / "crl.der", "-text", "-noout", "-CAfile", ca],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "verify OK" in text.stderr + text.stdout
    assert f"{pki.revoked.serial_number:X}" in text.stdout
    assert "Next Update" in text.stdout
    text = subprocess.run(
        ["openssl", "crl", "-in", tmp_path / "delta.pem", "-text", "-noout"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "Delta CRL Indicator: critical" in text.stdout
