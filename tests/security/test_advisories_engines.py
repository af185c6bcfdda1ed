"""Advisories about secrets engines strongroom has: transit and PKI.

HCSEC-2023-28 / CVE-2023-4680: transit took a caller's `nonce` for a key that is not convergent, so two
encryptions under one nonce reused it (fatal for AES-GCM).
GHSA-8w8f-r2xv-4q4j (OpenBao 2.5.5): an RSA transit key created with `derived=true` crashed the server.
HCSEC-2023-11 / CVE-2023-0665: PKI's unauthenticated read paths (there `issuer/:ref/{json,der,pem}`) also
took writes and deletes without a token.
GHSA-g892-p242-8g86 (OpenBao 2.6.2): `allowed_ip_sans_cidr` held API-given IP SANs only; a CSR's IP SANs
went into the certificate unchecked.
"""

from __future__ import annotations

import base64
import ipaddress

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.security.advisories import BOTH, enable_secrets, errors_of, ok, target


@BOTH
def test_hcsec_2023_28_cve_2023_4680_transit_nonce_needs_convergent_key(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    nonce = base64.b64encode(b"\x00" * 12).decode()
    plaintext = base64.b64encode(b"the same message").decode()
    with running.client() as root:
        mount = enable_secrets(root, "transit")
        ok(root.post(f"/v1/{mount}/keys/plain", json={"type": "aes256-gcm96"}))
        answers = [
            root.post(f"/v1/{mount}/encrypt/plain", json={"plaintext": plaintext, "nonce": nonce})
            for _ in range(2)
        ]
    statuses = {answer.status_code for answer in answers}
    assert statuses <= {200, 400}, [answer.text for answer in answers]
    if statuses == {200}:
        # Ignoring the nonce is safe too; using it is not: the ciphertexts would repeat.
        first, second = (answer.json()["data"]["ciphertext"] for answer in answers)
        assert first != second


@BOTH
def test_ghsa_8w8f_r2xv_4q4j_transit_derived_rsa_key_does_not_crash(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount = enable_secrets(root, "transit")
        created = root.post(f"/v1/{mount}/keys/rsa", json={"type": "rsa-2048", "derived": True})
        # OpenBao refuses with a 500 of its own; what the advisory is about is the crash that followed.
        assert httpx.get(f"{running.address}/v1/sys/health", timeout=10).status_code == 200
        if created.status_code >= 300:
            return
        data = base64.b64encode(b"payload").decode()
        context = base64.b64encode(b"ctx").decode()
        for path, body in (
            ("encrypt/rsa", {"plaintext": data, "context": context}),
            ("sign/rsa", {"input": data, "context": context}),
            ("keys/rsa", None),
            ("keys/rsa/rotate", {}),
        ):
            answer = (
                root.post(f"/v1/{mount}/{path}", json=body)
                if body is not None
                else root.get(f"/v1/{mount}/{path}")
            )
            assert answer.status_code < 500, (path, answer.text)
    assert httpx.get(f"{running.address}/v1/sys/health", timeout=10).status_code == 200


def _pki_with_root(root: httpx.Client) -> str:
    mount = enable_secrets(root, "pki", config={"max_lease_ttl": "87600h"})
    ok(
        root.post(
            f"/v1/{mount}/root/generate/internal", json={"common_name": "Advisory Root", "ttl": "8760h"}
        )
    )
    return mount


@BOTH
def test_hcsec_2023_11_cve_2023_0665_pki_public_paths_take_no_writes(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount = _pki_with_root(root)
        ca_before = ok(root.get(f"/v1/{mount}/ca/pem")).text
    public = [f"{mount}/{p}" for p in ("ca", "ca/pem", "ca_chain", "crl", "crl/pem", "cert/ca")]
    public += [f"{mount}/issuer/default/{form}" for form in ("json", "der", "pem")]
    # The public paths answer without a token, so a refusal below is a refusal of the write itself.
    assert httpx.get(f"{running.address}/v1/{mount}/ca/pem", timeout=10).status_code == 200
    for path in public:
        for method, body in (("DELETE", None), ("POST", {"issuer_name": "pwned", "usage": "read-only"})):
            answer = httpx.request(method, f"{running.address}/v1/{path}", json=body, timeout=10)
            assert 400 <= answer.status_code < 500, (method, path, answer.status_code, answer.text)
    with running.client() as root:
        assert ok(root.get(f"/v1/{mount}/ca/pem")).text == ca_before
        issued = root.post(f"/v1/{mount}/roles/web", json={"allowed_domains": ["example.com"],
                                                            "allow_subdomains": True})  # fmt: skip
        assert issued.status_code < 300, issued.text
        assert ok(root.post(f"/v1/{mount}/issue/web", json={"common_name": "a.example.com"})).json()["data"]


def _csr_with_ips(*ips: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    names = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips])
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app.example.com")]))
        .add_extension(names, critical=False)
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


@BOTH
def test_ghsa_g892_p242_8g86_pki_csr_ip_sans_held_to_allowed_cidrs(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    with running.client() as root:
        mount = _pki_with_root(root)
        ok(root.post(f"/v1/{mount}/roles/net", json={
            "allowed_domains": ["example.com"], "allow_subdomains": True,
            "allowed_ip_sans_cidr": ["10.0.0.0/8"],
            "use_csr_sans": True, "key_type": "any",
        }))  # fmt: skip
        allowed = root.post(
            f"/v1/{mount}/sign/net", json={"csr": _csr_with_ips("10.1.2.3"), "common_name": "app.example.com"}
        )
        assert allowed.status_code == 200, allowed.text
        signed = root.post(
            f"/v1/{mount}/sign/net",
            json={"csr": _csr_with_ips("10.1.2.3", "192.168.7.7"), "common_name": "app.example.com"},
        )
        ok(root.post(f"/v1/{mount}/roles/net-api", json={
            "allowed_domains": ["example.com"], "allow_subdomains": True,
            "allowed_ip_sans_cidr": ["10.0.0.0/8"],
        }))  # fmt: skip
        from_api = root.post(
            f"/v1/{mount}/issue/net-api", json={"common_name": "app.example.com", "ip_sans": "192.168.7.7"}
        )
        assert from_api.status_code == 400, from_api.text
        assert errors_of(from_api) == ['the IP address "192.168.7.7" is not allowed in this role']
        bad_cidr = root.post(f"/v1/{mount}/roles/bad", json={"allowed_ip_sans_cidr": ["10.0.0.1"]})
        assert bad_cidr.status_code == 400, bad_cidr.text
    if signed.status_code == 200:
        certificate = x509.load_pem_x509_certificate(signed.json()["data"]["certificate"].encode())
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert ipaddress.ip_address("192.168.7.7") not in sans.get_values_for_type(x509.IPAddress)
    else:
        assert signed.status_code == 400, signed.text
