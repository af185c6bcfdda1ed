"""hvac's pki client (`client.secrets.pki.*`) against a real strongroom dev server, over HTTP: a root CA, a
role, a certificate that verifies against the CA, its revocation on the CRL, and the unauthenticated CA."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import hvac
import hvac.exceptions
import pytest
from cryptography import x509

from tests.servers import RunningServer


@pytest.fixture
def pki(server: RunningServer) -> Iterator[tuple[hvac.Client, str]]:
    client = hvac.Client(url=server.address, token=server.root_token)
    mount = f"pki-{uuid.uuid4().hex[:8]}"
    client.sys.enable_secrets_engine("pki", path=mount)
    yield client, mount
    client.sys.disable_secrets_engine(mount)
    client.adapter.close()


def test_root_role_issue_revoke_crl(pki: tuple[hvac.Client, str], server: RunningServer) -> None:
    client, mount = pki
    p = client.secrets.pki
    root = p.generate_root(
        type="internal",
        common_name="example.com",
        extra_params={"ttl": "240h", "key_type": "ec"},
        mount_point=mount,
    )["data"]
    ca = x509.load_pem_x509_certificate(root["certificate"].encode())
    p.set_urls({"issuing_certificates": [f"{server.address}/v1/{mount}/ca"]}, mount_point=mount)
    p.create_or_update_role(
        "web",
        extra_params={"allowed_domains": ["example.com"], "allow_subdomains": True, "max_ttl": "72h"},
        mount_point=mount,
    )
    assert p.read_role("web", mount_point=mount)["data"]["allowed_domains"] == ["example.com"]
    issued = p.generate_certificate(
        "web", common_name="a.example.com", extra_params={"ttl": "1h"}, mount_point=mount
    )["data"]
    leaf = x509.load_pem_x509_certificate(issued["certificate"].encode())
    leaf.verify_directly_issued_by(ca)
    aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_location.value for d in aia] == [f"{server.address}/v1/{mount}/ca"]
    assert issued["serial_number"] in p.list_certificates(mount_point=mount)["data"]["keys"]
    with pytest.raises(
        hvac.exceptions.InvalidRequest, match=r"common name a\.other\.com not allowed by this role"
    ):
        p.generate_certificate("web", common_name="a.other.com", mount_point=mount)
    p.revoke_certificate(issued["serial_number"], mount_point=mount)
    crl = x509.load_pem_x509_crl(p.read_crl(mount_point=mount).encode())
    assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
    # The CA certificate needs no token (as in Vault).
    anonymous = httpx.get(f"{server.address}/v1/{mount}/ca/pem")
    assert anonymous.status_code == 200
    assert anonymous.text == root["certificate"]
    assert p.read_ca_certificate(mount_point=mount) == root["certificate"]
