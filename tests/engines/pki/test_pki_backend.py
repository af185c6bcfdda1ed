"""The pki engine in the in-process harness: CA generation, roles, issue/sign, revocation, CRLs and tidy,
with every certificate checked by `cryptography` (chain, names, usages, validity)."""

from __future__ import annotations

import base64
import ipaddress
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Operation
from strongroom.util.clock import ManualClock
from tests.engines.pki.conftest import NOW

DAY = 24 * 3600


def cert_of(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def data(response: Any) -> dict[str, Any]:
    assert response is not None
    assert response.data is not None
    return dict(response.data)


def verify_signed_by(leaf: x509.Certificate, ca: x509.Certificate) -> None:
    """Raises unless `ca`'s key signed `leaf`."""
    leaf.verify_directly_issued_by(ca)


async def make_root(pki: BackendHarness, **extra: Any) -> dict[str, Any]:
    body = {"common_name": "example.com", "ttl": "240h", "key_type": "ec", **extra}
    return data(await pki.write("root/generate/internal", body))


async def make_role(pki: BackendHarness, name: str = "web", **settings: Any) -> dict[str, Any]:
    body = {"allowed_domains": "example.com", "allow_subdomains": True, "max_ttl": "72h", **settings}
    return data(await pki.write(f"roles/{name}", body))


async def refused(pki: BackendHarness, path: str, body: dict[str, Any]) -> str:
    with pytest.raises(InvalidRequestError) as caught:
        await pki.write(path, body)
    return caught.value.errors[0]


async def test_root_generate_internal_is_a_self_signed_ca(pki: BackendHarness) -> None:
    answer = await make_root(pki, issuer_name="root-1")
    assert sorted(answer) == [
        "certificate", "expiration", "issuer_id", "issuer_name", "issuing_ca", "key_id", "key_name",
        "serial_number",
    ]  # fmt: skip
    root = cert_of(answer["certificate"])
    assert answer["issuing_ca"] == answer["certificate"]
    assert answer["issuer_name"] == "root-1"
    verify_signed_by(root, root)
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    usage = root.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_cert_sign
    assert usage.crl_sign
    assert not usage.digital_signature
    assert root.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "example.com"
    assert root.not_valid_after_utc.timestamp() == NOW + 240 * 3600
    assert root.not_valid_before_utc.timestamp() == NOW - 30
    assert answer["expiration"] == int(NOW + 240 * 3600)
    width = (root.serial_number.bit_length() + 7) // 8
    assert answer["serial_number"] == ":".join(f"{b:02x}" for b in root.serial_number.to_bytes(width, "big"))
    assert "private_key" not in answer


async def test_root_generate_exported_returns_the_key_once(pki: BackendHarness) -> None:
    answer = data(await pki.write("root/generate/exported", {"common_name": "r", "key_type": "rsa"}))
    assert answer["private_key_type"] == "rsa"
    assert answer["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(answer["private_key"].encode(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    assert key.key_size == 2048
    root = cert_of(answer["certificate"])
    assert root.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]


async def test_root_ttl_is_clamped_to_the_mount_maximum_with_vaults_warning(pki: BackendHarness) -> None:
    response = await pki.write(
        "root/generate/internal", {"common_name": "r", "ttl": "8760h", "key_type": "ec"}
    )
    assert response is not None
    assert (
        response.warnings[0]
        == 'TTL "8760h0m0s" is longer than permitted maxTTL "768h0m0s", so maxTTL is being used'
    )
    assert data(response)["expiration"] == int(NOW + 32 * DAY)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"key_type": "foo"}, "unknown key type foo"),
        (
            {"key_type": "rsa", "key_bits": 1000},
            "RSA keys < 2048 bits are unsafe and not supported: got 1000",
        ),
        ({"key_type": "ec", "key_bits": 100}, "unsupported bit length for EC key: 100"),
        ({"format": "xml"}, 'the "format" path parameter must be "pem", "der", or "pem_bundle"'),
    ],
)
async def test_root_generate_refusals(pki: BackendHarness, body: dict[str, Any], message: str) -> None:
    assert await refused(pki, "root/generate/internal", {"common_name": "x", **body}) == message


async def test_root_generate_refuses_an_unknown_type_and_a_taken_issuer_name(pki: BackendHarness) -> None:
    assert await refused(pki, "root/generate/bogus", {"common_name": "x"}) == (
        'the "exported" path parameter must be "internal", "existing", exported" or "kms"'
    )
    await make_root(pki, issuer_name="main")
    assert (
        await refused(pki, "root/generate/internal", {"issuer_name": "main"}) == "issuer name already in use"
    )


async def test_issuers_default_and_fetch_paths(pki: BackendHarness) -> None:
    first = await make_root(pki, issuer_name="first")
    second = await make_root(pki, common_name="second.example")
    listed = data(await pki.list("issuers"))
    assert sorted(listed["keys"]) == sorted([first["issuer_id"], second["issuer_id"]])
    assert listed["key_info"][first["issuer_id"]]["is_default"] is True
    assert listed["key_info"][second["issuer_id"]]["is_default"] is False
    assert listed["key_info"][first["issuer_id"]]["issuer_name"] == "first"
    issuer = data(await pki.read("issuer/default"))
    assert issuer["issuer_id"] == first["issuer_id"]
    assert issuer["certificate"] == first["certificate"] + "\n"
    assert issuer["ca_chain"] == [first["certificate"] + "\n"]
    assert issuer["revocation_signature_algorithm"] == "ECDSAWithSHA256"
    assert data(await pki.read("issuer/first"))["issuer_id"] == first["issuer_id"]
    with pytest.raises(InvalidRequestError, match="unable to find PKI issuer for reference: nope"):
        await pki.read("issuer/nope")
    pem = await pki.read("ca/pem")
    assert pem is not None
    assert pem.raw_body == first["certificate"].encode()
    assert pem.content_type == "application/pem-certificate-chain"
    der = await pki.read("ca")
    assert der is not None
    assert x509.load_der_x509_certificate(der.raw_body or b"") == cert_of(first["certificate"])
    assert data(await pki.read("cert/ca"))["certificate"] == first["certificate"]
    assert (
        data(await pki.write("config/issuers", {"default": second["issuer_id"]}))["default"]
        == second["issuer_id"]
    )
    assert data(await pki.read("config/issuers")) == {
        "default": second["issuer_id"],
        "default_follows_latest_issuer": False,
    }
    listed_certs = data(await pki.list("certs"))["keys"]
    assert sorted(listed_certs) == sorted([first["serial_number"], second["serial_number"]])


async def test_fetch_paths_without_a_ca_answer_empty(pki: BackendHarness) -> None:
    for path in ("ca", "ca/pem", "crl", "crl/pem"):
        response = await pki.read(path)
        assert response is not None
        assert response.status == 204
        assert response.raw_body == b""
    with pytest.raises(InvalidRequestError, match="no default issuer currently configured"):
        await pki.read("cert/ca")


async def test_role_write_read_list_delete(pki: BackendHarness) -> None:
    written = await make_role(pki, organization="Acme", key_type="ec")
    read = data(await pki.read("roles/web"))
    assert read == written
    assert read["allowed_domains"] == ["example.com"]
    assert read["max_ttl"] == 72 * 3600
    assert read["key_bits"] == 256
    assert read["key_usage"] == ["DigitalSignature", "KeyAgreement", "KeyEncipherment"]
    assert read["generate_lease"] is False
    assert read["allow_localhost"] is True
    assert read["organization"] == ["Acme"]
    assert data(await pki.list("roles"))["keys"] == ["web"]
    # A write replaces the role: what it leaves out returns to the default.
    rewritten = data(await pki.write("roles/web", {"allow_any_name": True}))
    assert rewritten["allowed_domains"] == []
    assert rewritten["key_type"] == "rsa"
    assert rewritten["key_bits"] == 2048
    await pki.delete("roles/web")
    assert await pki.read("roles/web") is None


async def test_role_with_generate_lease_warns(pki: BackendHarness) -> None:
    response = await pki.write("roles/leased", {"allow_any_name": True, "generate_lease": True})
    assert response is not None
    assert response.warnings[0].startswith("it is encouraged to disable generate_lease")


async def test_issue_certificate_verifies_against_the_ca(pki: BackendHarness) -> None:
    root = await make_root(pki)
    await pki.write(
        "config/urls",
        {
            "issuing_certificates": "http://ca.test/v1/pki/ca",
            "crl_distribution_points": "http://ca.test/v1/pki/crl",
        },
    )
    await make_role(pki, organization="Acme")
    response = await pki.write(
        "issue/web",
        {"common_name": "a.example.com", "alt_names": "b.example.com", "ip_sans": "127.0.0.1", "ttl": "1h"},
    )
    answer = data(response)
    assert sorted(answer) == [
        "ca_chain", "certificate", "expiration", "issuing_ca", "not_before", "private_key",
        "private_key_type", "serial_number",
    ]  # fmt: skip
    leaf = cert_of(answer["certificate"])
    verify_signed_by(leaf, cert_of(root["certificate"]))
    assert answer["issuing_ca"] == root["certificate"]
    assert answer["ca_chain"] == [root["certificate"]]
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["a.example.com", "b.example.com"]
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert leaf.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "Acme"
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature
    assert usage.key_encipherment
    assert usage.key_agreement
    assert not usage.key_cert_sign
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == ["http://ca.test/v1/pki/ca"]
    crl_dp = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert [p.full_name[0].value for p in crl_dp if p.full_name] == ["http://ca.test/v1/pki/crl"]
    assert leaf.not_valid_after_utc.timestamp() == NOW + 3600
    assert answer["expiration"] == int(NOW + 3600)
    assert answer["not_before"] == int(NOW - 30)
    key = serialization.load_pem_private_key(answer["private_key"].encode(), None)
    assert answer["private_key_type"] == "rsa"
    assert key.public_key().public_bytes(  # type: ignore[union-attr]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert response is not None
    assert response.secret is None
    stored = data(await pki.read("cert/" + answer["serial_number"].replace(":", "-")))
    assert stored == {
        "certificate": answer["certificate"],
        "revocation_time": 0,
        "revocation_time_rfc3339": "",
    }


async def test_issue_ttl_is_clamped_by_max_ttl_and_refused_past_the_ca(pki: BackendHarness) -> None:
    await make_root(pki, ttl="100h")
    await make_role(pki)
    response = await pki.write("issue/web", {"common_name": "a.example.com", "ttl": "90h"})
    assert response is not None
    assert response.warnings == (
        'TTL "90h0m0s" is longer than permitted maxTTL "72h0m0s", so maxTTL is being used',
    )
    assert cert_of(data(response)["certificate"]).not_valid_after_utc.timestamp() == NOW + 72 * 3600
    await make_role(pki, max_ttl="200h")
    message = await refused(pki, "issue/web", {"common_name": "a.example.com", "ttl": "150h"})
    assert message == (
        "cannot satisfy request, as TTL would result in notAfter of 2023-11-21T04:13:20Z that is beyond the "
        "expiration of the CA certificate at 2023-11-19T02:13:20Z"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"common_name": "a.other.com"}, "common name a.other.com not allowed by this role"),
        ({"common_name": "example.com"}, "common name example.com not allowed by this role"),
        (
            {"common_name": "bad_host.example.com"},
            "common name bad_host.example.com not allowed by this role",
        ),
        (
            {"common_name": "a.example.com", "alt_names": "x.other.com"},
            "subject alternate name x.other.com not allowed by this role",
        ),
        ({"common_name": "a.example.com", "ip_sans": "nope"}, 'the value "nope" is not a valid IP address'),
        (
            {"common_name": "a.example.com", "uri_sans": "spiffe://x"},
            "URI Subject Alternative Names are not allowed in this role, but were provided via the API",
        ),
        (
            {},
            "the common_name field is required, or must be provided in a CSR with "
            '"use_csr_common_name" set to true, unless "require_cn" is set to false',
        ),
        (
            {"common_name": "a.example.com", "format": "bad"},
            'the "format" path parameter must be "pem", "der", or "pem_bundle"',
        ),
    ],
)
async def test_issue_refusals(pki: BackendHarness, body: dict[str, Any], message: str) -> None:
    await make_root(pki)
    await make_role(pki)
    assert await refused(pki, "issue/web", body) == message


async def test_issue_for_an_unknown_role_or_without_a_ca(pki: BackendHarness) -> None:
    assert await refused(pki, "issue/nope", {"common_name": "a"}) == "unknown role: nope"
    await make_role(pki)
    with pytest.raises(InvalidRequestError, match="no default issuer currently configured"):
        await pki.write("issue/web", {"common_name": "a.example.com"})


@pytest.mark.parametrize(
    ("settings", "allowed", "refused_names"),
    [
        ({"allow_bare_domains": True}, ["example.com", "a.example.com"], ["other.com"]),
        (
            {"allow_subdomains": False, "allow_glob_domains": True, "allowed_domains": "web-*.example.com"},
            ["web-1.example.com"],
            ["db.example.com"],
        ),
        ({}, ["*.example.com", "localhost", "x.y.example.com"], ["*.*.example.com", "a*b*.example.com"]),
        ({"allow_localhost": False}, ["a.example.com"], ["localhost"]),
        ({"allow_wildcard_certificates": False}, ["a.example.com"], ["*.example.com"]),
        ({"allow_any_name": True}, ["anything.test", "host"], ["bad name"]),
        ({"allow_any_name": True, "enforce_hostnames": False}, ["under_score.test", "bad name"], []),
    ],
)
async def test_role_name_rules(
    pki: BackendHarness, settings: dict[str, Any], allowed: list[str], refused_names: list[str]
) -> None:
    await make_root(pki)
    await make_role(pki, key_type="ec", **settings)
    for name in allowed:
        assert data(await pki.write("issue/web", {"common_name": name}))["serial_number"]
    for name in refused_names:
        assert (
            await refused(pki, "issue/web", {"common_name": name})
            == f"common name {name} not allowed by this role"
        )


async def test_issue_formats_and_key_types(pki: BackendHarness) -> None:
    root = await make_root(pki)
    await make_role(pki, key_type="ec", key_bits=384)
    der = data(
        await pki.write(
            "issue/web", {"common_name": "a.example.com", "format": "der", "private_key_format": "pkcs8"}
        )
    )
    leaf = x509.load_der_x509_certificate(base64.b64decode(der["certificate"]))
    verify_signed_by(leaf, cert_of(root["certificate"]))
    key = serialization.load_der_private_key(base64.b64decode(der["private_key"]), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.curve.key_size == 384
    assert der["private_key_type"] == "ec"
    bundle = data(await pki.write("issue/web", {"common_name": "a.example.com", "format": "pem_bundle"}))
    assert bundle["certificate"].startswith("-----BEGIN EC PRIVATE KEY-----")
    assert bundle["certificate"].count("-----BEGIN CERTIFICATE-----") == 2
    assert bundle["certificate"].endswith(root["certificate"])


async def test_generate_lease_issues_a_non_renewable_lease_revoked_with_the_cert(
    pki: BackendHarness, clock: ManualClock
) -> None:
    await make_root(pki)
    await pki.write(
        "roles/leased", {"allow_any_name": True, "generate_lease": True, "ttl": "1h", "key_type": "ec"}
    )
    response = await pki.write("issue/leased", {"common_name": "svc"})
    assert response is not None
    assert response.secret is not None
    assert response.secret.lease.renewable is False
    assert response.secret.lease.ttl == 3600
    serial = data(response)["serial_number"]
    assert response.secret.internal["serial_number"] == serial
    request = pki.make_request(Operation.DELETE, "issue/leased")
    await pki.backend.revoke_secret(request, response.secret)  # type: ignore[attr-defined]
    assert data(await pki.read("cert/" + serial))["revocation_time"] == int(NOW)
    crl = x509.load_der_x509_crl((await pki.read("crl")).raw_body or b"")  # type: ignore[union-attr]
    assert crl.get_revoked_certificate_by_serial_number(int(serial.replace(":", ""), 16)) is not None


async def test_no_store_keeps_no_record(pki: BackendHarness) -> None:
    await make_root(pki)
    await make_role(pki, no_store=True, key_type="ec")
    serial = data(await pki.write("issue/web", {"common_name": "a.example.com"}))["serial_number"]
    assert await pki.read("cert/" + serial) is None


async def test_sign_uses_the_csr_key_and_checks_its_names(pki: BackendHarness) -> None:
    root = await make_root(pki)
    await make_role(pki, key_type="ec")
    key = ec.generate_private_key(ec.SECP256R1())
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "c.example.com")]))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("d.example.com")]), critical=False)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
        .decode()
    )
    response = await pki.write("sign/web", {"csr": csr, "common_name": "ignored.example.com"})
    answer = data(response)
    assert "private_key" not in answer
    leaf = cert_of(answer["certificate"])
    verify_signed_by(leaf, cert_of(root["certificate"]))
    assert leaf.public_key() == key.public_key()
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == ["c.example.com", "d.example.com"]
    assert response is not None
    assert response.warnings[0] == (
        'the common_name field was provided but the role is set with "use_csr_common_name" set to true'
    )
    await make_role(pki, key_type="rsa")
    assert await refused(pki, "sign/web", {"csr": csr}) == "role requires keys of type rsa"
    assert await refused(pki, "sign/web", {"csr": "garbage"}) == "csr contains no data"
    verbatim = data(await pki.write("sign-verbatim", {"csr": csr, "ttl": "1h"}))
    assert cert_of(verbatim["certificate"]).subject.rfc4514_string() == "CN=c.example.com"


async def test_revoke_crl_and_rotate(pki: BackendHarness, clock: ManualClock) -> None:
    root = await make_root(pki)
    await make_role(pki, key_type="ec")
    serial = data(await pki.write("issue/web", {"common_name": "a.example.com"}))["serial_number"]
    clock.advance(10)
    revoked = data(await pki.write("revoke", {"serial_number": serial}))
    assert revoked == {
        "revocation_time": int(NOW + 10),
        "revocation_time_rfc3339": "2023-11-14T22:13:30Z",
        "state": "revoked",
    }
    clock.advance(10)
    assert data(await pki.write("revoke", {"serial_number": serial.replace(":", "-")})) == revoked
    read = data(await pki.read("cert/" + serial))
    assert read["revocation_time"] == int(NOW + 10)
    assert read["issuer_id"] == root["issuer_id"]
    crl_der = await pki.read("crl")
    assert crl_der is not None
    assert crl_der.content_type == "application/pkix-crl"
    crl = x509.load_der_x509_crl(crl_der.raw_body or b"")
    assert crl.is_signature_valid(cert_of(root["certificate"]).public_key())  # type: ignore[arg-type]
    assert [r.serial_number for r in crl] == [int(serial.replace(":", ""), 16)]
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert data(await pki.read("crl/rotate")) == {"success": True}
    rotated = x509.load_pem_x509_crl((await pki.read("crl/pem")).raw_body or b"")  # type: ignore[union-attr]
    # As in Vault, the delta CRL built after each complete CRL takes the number in between.
    assert rotated.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number == number + 2
    assert data(await pki.read("cert/crl"))["certificate"].startswith("-----BEGIN X509 CRL-----")
    assert (
        await refused(pki, "revoke", {"serial_number": "00:11"}) == "certificate with serial 00:11 not found."
    )
    assert await refused(pki, "revoke", {}) == "The serial number or certificate to revoke must be provided."
    assert (await refused(pki, "revoke", {"serial_number": root["serial_number"]})).startswith(
        "adding issuer"
    )


async def test_tidy_removes_expired_certificates(pki: BackendHarness, clock: ManualClock) -> None:
    root = await make_root(pki)
    await make_role(pki, key_type="ec")
    short = data(await pki.write("issue/web", {"common_name": "a.example.com", "ttl": "1h"}))["serial_number"]
    long = data(await pki.write("issue/web", {"common_name": "a.example.com", "ttl": "48h"}))["serial_number"]
    await pki.write("revoke", {"serial_number": short})
    nothing = await pki.write("tidy", {})
    assert nothing is not None
    assert nothing.status == 202
    assert nothing.warnings[0].startswith("Manual tidy requested")
    clock.advance(2 * 3600)
    response = await pki.write("tidy", {"tidy_cert_store": True, "safety_buffer": "30m"})
    assert response is not None
    assert response.status == 202
    # A revoked certificate stays until tidy_revoked_certs is asked for too.
    assert sorted(data(await pki.list("certs"))["keys"]) == sorted([root["serial_number"], short, long])
    await pki.write("tidy", {"tidy_cert_store": True, "tidy_revoked_certs": True, "safety_buffer": "30m"})
    assert sorted(data(await pki.list("certs"))["keys"]) == sorted([root["serial_number"], long])
    status = data(await pki.read("tidy-status"))
    assert status["state"] == "Finished"
    assert status["cert_store_deleted_count"] == 1
    crl = x509.load_der_x509_crl((await pki.read("crl")).raw_body or b"")  # type: ignore[union-attr]
    assert list(crl) == []


async def test_intermediate_ca_chain(pki: BackendHarness, clock: ManualClock) -> None:
    root = await make_root(pki)
    inter = await BackendHarness.create(SECRETS_ENGINES["pki"], "pki", clock=clock)
    generated = data(
        await inter.write("intermediate/generate/internal", {"common_name": "Int CA", "key_type": "ec"})
    )
    assert sorted(generated) == ["csr", "key_id"]
    signed = data(
        await pki.write(
            "root/sign-intermediate", {"csr": generated["csr"], "common_name": "Int CA", "ttl": "48h"}
        )
    )
    intermediate = cert_of(signed["certificate"])
    verify_signed_by(intermediate, cert_of(root["certificate"]))
    assert intermediate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    imported = data(
        await inter.write(
            "intermediate/set-signed", {"certificate": signed["certificate"] + "\n" + root["certificate"]}
        )
    )
    # As in Vault, every certificate of the bundle becomes an issuer; only the intermediate has its key here.
    issuer_id, root_copy = imported["imported_issuers"]
    assert imported["mapping"] == {issuer_id: generated["key_id"], root_copy: ""}
    await make_role(inter, key_type="ec")
    leaf = data(await inter.write("issue/web", {"common_name": "a.example.com", "ttl": "1h"}))
    verify_signed_by(cert_of(leaf["certificate"]), intermediate)
    assert leaf["ca_chain"] == [signed["certificate"], root["certificate"]]
    message = await refused(inter, "issue/web", {"common_name": "a.example.com", "ttl": "60h"})
    assert message.startswith("cannot satisfy request, as TTL would result in notAfter of")
