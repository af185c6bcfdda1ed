"""Names and dates X.509 cannot hold, found by fuzzing (each once a 500): a 400, or Vault's IDNA handling."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness


async def generated_root(pki: BackendHarness, **body: Any) -> x509.Certificate:
    response = await pki.write("root/generate/internal", {"key_type": "ec", **body})
    assert response is not None
    assert response.data is not None
    return x509.load_pem_x509_certificate(response.data["certificate"].encode())


def dns_names(certificate: x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return names.get_values_for_type(x509.DNSName)


async def test_a_non_ascii_common_name_becomes_an_a_label_dns_name(pki: BackendHarness) -> None:
    certificate = await generated_root(pki, common_name="\u00ff.example.com")
    assert certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "\u00ff.example.com"
    assert dns_names(certificate) == ["xn--wda.example.com"]


async def test_a_common_name_that_is_no_hostname_is_not_a_dns_name(pki: BackendHarness) -> None:
    assert dns_names(await generated_root(pki, common_name="My Root CA")) == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"common_name": "x" * 65},
            "invalid certificate subject: Attribute's length must be >= 1 and <= 64, but it was 65",
        ),
        (
            {"common_name": "x", "country": "USA"},
            "invalid certificate subject: Attribute's length must be >= 2 and <= 2, but it was 3",
        ),
        (
            {"common_name": "x", "alt_names": "a\u00e9b." + "x" * 64 + ".com"},
            'idna: invalid label in DNS name "a\u00e9b.' + "x" * 64 + '.com"',
        ),
        (
            {"common_name": "x", "not_before_duration": 3_000_000_000},
            "the certificate's validity period is out of the range X.509 can encode",
        ),
    ],
)
async def test_values_x509_cannot_hold_are_refused(
    pki: BackendHarness, body: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await pki.write("root/generate/internal", body)
    assert caught.value.errors == (message,)
