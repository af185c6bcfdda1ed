"""config/crl, delta CRLs, revoke-with-key, certs/revoked and tidy-status in the in-process harness, with a
manual clock so expiry, auto_rebuild and delta_rebuild_interval can be stepped through."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock
from tests.engines.pki.conftest import NOW
from tests.engines.pki.test_pki_backend import cert_of, data, make_role, make_root

HOUR = 3600


async def crl(pki: BackendHarness, path: str = "crl") -> x509.CertificateRevocationList:
    response = await pki.read(path)
    assert response is not None
    assert response.raw_body
    return x509.load_der_x509_crl(response.raw_body)


def serials(revocations: x509.CertificateRevocationList) -> list[int]:
    return sorted(entry.serial_number for entry in revocations)


def number(revocations: x509.CertificateRevocationList) -> int:
    return revocations.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


async def issued(pki: BackendHarness, **extra: Any) -> dict[str, Any]:
    return data(await pki.write("issue/web", {"common_name": "a.example.com", "ttl": "1h", **extra}))


def as_int(serial: str) -> int:
    return int(serial.replace(":", ""), 16)


async def test_config_crl_defaults_and_vaults_refusals(pki: BackendHarness) -> None:
    assert data(await pki.read("config/crl")) == {
        "allow_expired_cert_revocation": False, "auto_rebuild": False, "auto_rebuild_grace_period": "12h",
        "delta_rebuild_interval": "15m", "disable": False, "enable_delta": False, "expiry": "72h",
        "ocsp_disable": False, "ocsp_expiry": "12h",
    }  # fmt: skip
    cases = [
        ({"enable_delta": True}, "Delta CRLs cannot be enabled when auto rebuilding is disabled as the "
         "complete CRL is always regenerated!"),
        ({"expiry": "bogus"}, 'given expiry could not be decoded: time: invalid duration "bogus"'),
        ({"auto_rebuild": True, "auto_rebuild_grace_period": "100h"}, "CRL auto-rebuilding grace period "
         "(100h) must be strictly shorter than CRL expiry (72h) value when auto-rebuilding of CRLs is "
         "enabled"),
        ({"ocsp_expiry": "-1s"}, "ocsp_expiry must be greater than or equal to 0 got: -1s"),
        ({"auto_rebuild": True, "enable_delta": True, "delta_rebuild_interval": "80h"}, "CRL delta rebuild "
         "window (80h) must be strictly shorter than CRL expiry (72h) value when delta CRLs are enabled"),
    ]  # fmt: skip
    for body, message in cases:
        with pytest.raises(InvalidRequestError) as caught:
            await pki.write("config/crl", body)
        assert caught.value.errors == (message,)
    written = data(await pki.write("config/crl", {"expiry": "24h", "ocsp_expiry": "0"}))
    assert written["expiry"] == "24h"
    assert written["ocsp_expiry"] == "0"
    assert data(await pki.read("config/crl")) == written


async def test_expiry_sets_next_update_and_disable_signs_an_empty_crl(
    pki: BackendHarness, clock: ManualClock
) -> None:
    await make_root(pki)
    await make_role(pki)
    serial = (await issued(pki))["serial_number"]
    await pki.write("config/crl", {"expiry": "24h"})
    await pki.write("revoke", {"serial_number": serial})
    current = await crl(pki)
    assert serials(current) == [as_int(serial)]
    assert current.next_update_utc is not None
    assert current.next_update_utc.timestamp() == NOW + 24 * HOUR
    await pki.write("config/crl", {"disable": True})
    emptied = await crl(pki)
    assert serials(emptied) == []
    assert number(emptied) > number(current)
    other = (await issued(pki))["serial_number"]
    await pki.write("revoke", {"serial_number": other})
    assert serials(await crl(pki)) == []  # disabled: revocations no longer reach a CRL
    assert data(await pki.read("crl/rotate")) == {"success": True}
    assert number(await crl(pki)) == number(emptied)
    await pki.write("config/crl", {"disable": False})
    assert serials(await crl(pki)) == sorted([as_int(serial), as_int(other)])


async def test_auto_rebuild_rebuilds_within_the_grace_period(pki: BackendHarness, clock: ManualClock) -> None:
    await pki.write("config/crl", {"auto_rebuild": True, "expiry": "48h", "auto_rebuild_grace_period": "12h"})
    await make_root(pki)
    await make_role(pki)
    first = await crl(pki)
    serial = (await issued(pki, ttl="72h"))["serial_number"]
    await pki.write("revoke", {"serial_number": serial})
    assert number(await crl(pki)) == number(first)  # auto_rebuild: a revocation waits for the rebuild
    clock.advance(35 * HOUR)
    assert serials(await crl(pki)) == []
    clock.advance(2 * HOUR)  # now inside the last 12 hours of the CRL's validity
    rebuilt = await crl(pki, "issuer/default/crl/der")  # each issuer's CRL path rebuilds it too
    assert serials(rebuilt) == [as_int(serial)]
    assert number(rebuilt) > number(first)


async def test_delta_crls(pki: BackendHarness, clock: ManualClock) -> None:
    root = await make_root(pki)
    ca_key = cert_of(root["certificate"]).public_key()
    assert isinstance(ca_key, ec.EllipticCurvePublicKey)
    await make_role(pki)
    # Vault writes no URLs at all while none of issuing_certificates, crl_distribution_points and ocsp_servers
    # is set, so the delta CRL's address alone would not appear.
    urls = {
        "crl_distribution_points": "http://ca.test/v1/pki/crl",
        "delta_crl_distribution_points": "http://ca.test/v1/pki/crl/delta",
    }
    await pki.write("config/urls", urls)
    answer = data(
        await pki.write(
            "config/crl", {"auto_rebuild": True, "enable_delta": True, "delta_rebuild_interval": "1h"}
        )
    )
    assert answer["enable_delta"] is True
    complete = await crl(pki)
    freshest = complete.extensions.get_extension_for_class(x509.FreshestCRL).value
    assert [p.full_name for p in freshest] == [
        [x509.UniformResourceIdentifier("http://ca.test/v1/pki/crl/delta")]
    ]
    delta = await crl(pki, "crl/delta")
    indicator = delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    assert indicator.critical
    assert indicator.value.crl_number == number(complete)
    assert number(delta) == number(complete) + 1
    leaf = await issued(pki)
    assert cert_of(leaf["certificate"]).extensions.get_extension_for_class(x509.FreshestCRL)
    await pki.write("revoke", {"serial_number": leaf["serial_number"]})
    assert serials(await crl(pki, "crl/delta")) == []  # within delta_rebuild_interval
    assert data(await pki.read("crl/rotate-delta")) == {"success": True}
    rotated = await crl(pki, "crl/delta")
    assert serials(rotated) == [as_int(leaf["serial_number"])]
    assert rotated.is_signature_valid(ca_key)
    assert serials(await crl(pki)) == []
    second = (await issued(pki))["serial_number"]
    await pki.write("revoke", {"serial_number": second})
    clock.advance(HOUR)
    assert serials(await crl(pki, "crl/delta")) == sorted([as_int(leaf["serial_number"]), as_int(second)])
    pem = (await pki.read("crl/delta/pem")).raw_body  # type: ignore[union-attr]
    assert x509.load_pem_x509_crl(pem or b"").extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    await pki.read("crl/rotate")
    assert serials(await crl(pki)) == sorted([as_int(leaf["serial_number"]), as_int(second)])
    assert serials(await crl(pki, "crl/delta")) == []


async def test_rotate_delta_without_delta_crls_warns(pki: BackendHarness) -> None:
    await make_root(pki)
    response = await pki.read("crl/rotate-delta")
    assert response is not None
    assert response.warnings == (
        "requested rebuild of delta CRL when delta CRL is not enabled; this is a no-op",
    )


async def test_expired_certificates_are_not_revoked_unless_allowed(
    pki: BackendHarness, clock: ManualClock
) -> None:
    await make_root(pki)
    await make_role(pki)
    serial = (await issued(pki))["serial_number"]
    clock.advance(2 * HOUR)
    response = await pki.write("revoke", {"serial_number": serial})
    assert response is not None
    assert response.data is None
    assert response.warnings == (
        f"certificate with serial {serial} already expired; refusing to add to CRL. Enable "
        "'AllowExpiredCertRevocation' to allow revoking expired certificates.",
    )
    await pki.write("config/crl", {"allow_expired_cert_revocation": True})
    assert data(await pki.write("revoke", {"serial_number": serial}))["state"] == "revoked"


async def test_revoke_with_key_and_certs_revoked(pki: BackendHarness) -> None:
    await make_root(pki)
    await make_role(pki)
    leaf = await issued(pki)
    other = await issued(pki)
    path = "revoke-with-key"
    serial = leaf["serial_number"]
    cases = [
        ({"serial_number": serial}, "Must have private key to revoke via the /revoke-with-key path."),
        ({"serial_number": serial, "private_key": "short"}, "Provided data for private_key was too short; "
         "perhaps a path was passed to the API rather than the contents of a PEM file?"),
        ({"serial_number": serial, "private_key": other["private_key"]},
         "provided private key does not match certificate's public key"),
        ({"serial_number": serial, "certificate": leaf["certificate"], "private_key": leaf["private_key"]},
         "Must provide either the certificate or the serial to revoke; not both."),
    ]  # fmt: skip
    for body, message in cases:
        with pytest.raises(InvalidRequestError) as caught:
            await pki.write(path, body)
        assert caught.value.errors == (message,)
    assert (await pki.list("certs/revoked")) is None or not data(await pki.list("certs/revoked")).get("keys")
    done = data(
        await pki.write(path, {"certificate": leaf["certificate"], "private_key": leaf["private_key"]})
    )
    assert done["state"] == "revoked"
    assert data(await pki.list("certs/revoked"))["keys"] == [leaf["serial_number"]]
    read = data(await pki.read(f"cert/{leaf['serial_number']}"))
    assert read["revocation_time"] == done["revocation_time"]
    assert read["issuer_id"]


async def test_no_store_certificates_are_revoked_by_pem(pki: BackendHarness) -> None:
    await make_root(pki)
    await make_role(pki, no_store=True)
    leaf = await issued(pki)
    with pytest.raises(InvalidRequestError):
        await pki.write("revoke", {"serial_number": leaf["serial_number"]})
    assert data(await pki.write("revoke", {"certificate": leaf["certificate"]}))["state"] == "revoked"
    assert serials(await crl(pki)) == [as_int(leaf["serial_number"])]


async def test_tidy_status_fields(pki: BackendHarness, clock: ManualClock) -> None:
    inactive = data(await pki.read("tidy-status"))
    assert inactive["state"] == "Inactive"
    assert inactive["safety_buffer"] is None
    await make_root(pki)
    await make_role(pki)
    await issued(pki)
    clock.advance(80 * HOUR)
    with pytest.raises(InvalidRequestError) as caught:
        await pki.write("tidy", {"tidy_cert_store": True, "safety_buffer": 0})
    assert caught.value.errors == ("safety_buffer must be greater than zero",)
    await pki.write("tidy", {"tidy_cert_store": True, "safety_buffer": "1h"})
    status = data(await pki.read("tidy-status"))
    assert status["state"] == "Finished"
    assert status["cert_store_deleted_count"] == 1
    assert status["safety_buffer"] == status["revoked_safety_buffer"] == HOUR
    assert status["tidy_cert_store"] is True
    assert status["tidy_revoked_certs"] is False
    cancel = await pki.write("tidy-cancel", {})
    assert cancel is not None
    assert cancel.warnings == ("Tidy operation cannot be cancelled as none is currently running.",)


async def test_raw_certificate_paths(pki: BackendHarness) -> None:
    root = await make_root(pki)
    await make_role(pki)
    leaf = await issued(pki)
    raw = await pki.read(f"cert/{leaf['serial_number']}/raw")
    assert raw is not None
    assert raw.content_type == "application/pkix-cert"
    assert x509.load_der_x509_certificate(raw.raw_body or b"") == cert_of(leaf["certificate"])
    pem = await pki.read(f"cert/{leaf['serial_number'].replace(':', '-')}/raw/pem")
    assert pem is not None
    assert pem.content_type == "application/pem-certificate-chain"
    assert cert_of((pem.raw_body or b"").decode()) == cert_of(leaf["certificate"])
    ca = await pki.read("cert/ca/raw")
    assert ca is not None
    assert x509.load_der_x509_certificate(ca.raw_body or b"") == cert_of(root["certificate"])
    missing = await pki.read("cert/00:11/raw")
    assert missing is not None
    assert missing.status == 204


async def test_templated_urls_and_the_cluster_address(pki: BackendHarness) -> None:
    root = await make_root(pki)
    await make_role(pki)
    await pki.write("config/urls", {"delta_crl_distribution_points": "http://ca.test/delta"})
    leaf = cert_of((await issued(pki))["certificate"])
    with pytest.raises(x509.ExtensionNotFound):
        leaf.extensions.get_extension_for_class(x509.FreshestCRL)
    # issuing_certificates is checked first here (OpenBao walks the four lists in Go's random map order).
    templated = {
        "enable_templating": True,
        "issuing_certificates": "{{cluster_aia_path}}/issuer/{{issuer_id}}/der",
        "crl_distribution_points": "{{cluster_path}}/issuer/{{issuer_id}}/crl/der",
        "ocsp_servers": "{{cluster_path}}/ocsp",
    }
    warned = await pki.write("config/urls", templated)
    assert warned is not None
    assert warned.warnings == (
        "issuance may fail: unable to template AIA URLs as we lack local cluster address information "
        "(aia_path)\n\nConsider setting the cluster-local address if it is not already set.",
    )
    with pytest.raises(InvalidRequestError) as caught:
        await issued(pki)
    assert caught.value.errors == (
        "unable to fetch AIA URL information: unable to template AIA URLs as we lack local cluster address "
        "information (aia_path)",
    )
    with pytest.raises(InvalidRequestError) as caught:
        await pki.write("config/cluster", {"path": "not a url"})
    assert caught.value.errors == ("invalid, non-URL path given to cluster: not a url",)
    cluster = {"path": "https://pr1.test/v1/pki", "aia_path": "http://aia.test/v1/pki"}
    assert data(await pki.write("config/cluster", cluster)) == {**cluster}
    assert data(await pki.read("config/cluster")) == cluster
    leaf = cert_of((await issued(pki))["certificate"])
    issuer_id = root["issuer_id"]
    access = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in access] == [
        "https://pr1.test/v1/pki/ocsp",
        f"http://aia.test/v1/pki/issuer/{issuer_id}/der",
    ]
    points = leaf.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name == [
        x509.UniformResourceIdentifier(f"https://pr1.test/v1/pki/issuer/{issuer_id}/crl/der")
    ]
    assert data(await pki.read("config/urls"))["enable_templating"] is True


async def test_issuer_crl_paths(pki: BackendHarness) -> None:
    root = await make_root(pki, issuer_name="main")
    await make_role(pki)
    serial = (await issued(pki))["serial_number"]
    await pki.write("revoke", {"serial_number": serial})
    pem = await pki.read("issuer/main/crl/pem")
    assert pem is not None
    assert pem.content_type == "application/x-pem-file"
    assert (pem.raw_body or b"").endswith(b"-----END X509 CRL-----\n")
    assert serials(x509.load_pem_x509_crl(pem.raw_body or b"")) == [as_int(serial)]
    answer = data(await pki.read(f"issuer/{root['issuer_id']}/crl"))
    assert list(answer) == ["crl"]
    assert serials(x509.load_pem_x509_crl(answer["crl"].encode())) == [as_int(serial)]
    delta = await crl(pki, "issuer/default/crl/delta/der")
    assert delta.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
    with pytest.raises(InvalidRequestError) as caught:
        await pki.read("issuer/nope/crl/der")
    assert caught.value.errors == ("unable to find PKI issuer for reference: nope",)
