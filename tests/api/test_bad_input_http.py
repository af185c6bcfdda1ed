"""Bad input found by fuzzing the whole API: each request once answered 500; each now gets Vault's 4xx.

Over real HTTP, so the error -> status table is part of what is checked. Every mount made here is removed.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from tests.servers import RunningServer


@pytest.fixture
def mount(root: httpx.Client) -> Iterator[str]:
    """A fresh mount point, disabled afterwards whatever was mounted at it (secrets engine or auth)."""
    name = f"fuzz-{uuid.uuid4().hex[:8]}"
    yield name
    root.delete(f"/v1/sys/mounts/{name}")
    root.delete(f"/v1/sys/auth/{name}")


def refused(response: httpx.Response, status: int) -> list[str]:
    assert response.status_code == status, response.text
    errors: list[str] = response.json()["errors"]
    return errors


def enable_jwt(root: httpx.Client, mount: str) -> None:
    """A jwt auth method at `mount` that validates with a fixed public key."""
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    root.post(f"/v1/sys/auth/{mount}", json={"type": "jwt"}).raise_for_status()
    root.post(f"/v1/auth/{mount}/config", json={"jwt_validation_pubkeys": [pem.decode()]}).raise_for_status()


def test_a_climbing_storage_key_from_a_body_is_vaults_400(root: httpx.Client, mount: str) -> None:
    enable_jwt(root, mount)
    answer = root.post(f"/v1/auth/{mount}/login", json={"role": "../../etc", "jwt": "x"})
    assert refused(answer, 400) == ["relative paths not supported"]


def test_a_key_with_control_characters_is_simply_not_found(root: httpx.Client, mount: str) -> None:
    enable_jwt(root, mount)
    answer = root.post(f"/v1/auth/{mount}/login", json={"role": "a\x00b", "jwt": "x"})
    assert refused(answer, 400) == ['role "a\x00b" could not be found']


@pytest.mark.parametrize("field", ["jwks_url", "oidc_discovery_url"])
def test_an_unparsable_jwt_url_is_a_400(root: httpx.Client, mount: str, field: str) -> None:
    root.post(f"/v1/sys/auth/{mount}", json={"type": "jwt"}).raise_for_status()
    [message] = refused(root.post(f"/v1/auth/{mount}/config", json={field: "\x00"}), 400)
    label = "jwks URL" if field == "jwks_url" else "oidc discovery URL"
    assert message.startswith(f'error checking {label}: parse "\x00')


@pytest.mark.parametrize("field", ["allowed_response_headers", "audit_non_hmac_request_keys"])
def test_a_lone_value_tunes_a_list_of_one(root: httpx.Client, mount: str, field: str) -> None:
    root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv"}).raise_for_status()
    assert root.post(f"/v1/sys/mounts/{mount}/tune", json={field: 5}).status_code == 204
    assert root.get(f"/v1/sys/mounts/{mount}").json()["data"]["config"][field] == ["5"]
    answer = root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "config": {field: {"a": 1}}})
    assert refused(answer, 400) == [
        f'error converting input for field "{field}": 1 error(s) decoding:\n\n'
        "* '[0]' expected type 'string', got unconvertible type 'map[string]interface {}'"
    ]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (9223372037, "multiplication of durations resulted in overflow, one operand may be too large"),
        ("99999999999s", 'time: invalid duration "99999999999s"'),
    ],
)
def test_a_duration_past_gos_range_is_a_field_error(
    root: httpx.Client, mount: str, value: object, detail: str
) -> None:
    root.post(f"/v1/sys/mounts/{mount}", json={"type": "pki"}).raise_for_status()
    answer = root.post(
        f"/v1/{mount}/root/generate/internal", json={"common_name": "x", "not_before_duration": value}
    )
    assert refused(answer, 400) == [
        f'Field validation failed: error converting input for field "not_before_duration": {detail}'
    ]


def test_an_rsa_plaintext_too_long_for_the_key_is_a_400(root: httpx.Client, mount: str) -> None:
    root.post(f"/v1/sys/mounts/{mount}", json={"type": "transit"}).raise_for_status()
    root.post(f"/v1/{mount}/keys/rsa", json={"type": "rsa-2048"}).raise_for_status()
    answer = root.post(f"/v1/{mount}/encrypt/rsa", json={"plaintext": "eHh4" * 100})
    assert refused(answer, 400) == [
        "failed to RSA encrypt the plaintext: crypto/rsa: message too long for RSA key size"
    ]


def test_a_list_where_a_config_ttl_belongs_is_vaults_400(root: httpx.Client, mount: str) -> None:
    answer = root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "config": {"default_lease_ttl": [1]}})
    assert refused(answer, 400) == ["unable to convert given mount config information"]
    root.post(f"/v1/sys/auth/{mount}", json={"type": "userpass"}).raise_for_status()
    answer = root.post(f"/v1/sys/auth/{mount}/tune", json={"user_lockout_config": {"lockout_duration": []}})
    assert refused(answer, 400) == ["unable to convert given user lockout config information"]


def test_non_ascii_secret_id_metadata_is_vaults_400(root: httpx.Client, mount: str) -> None:
    root.post(f"/v1/sys/auth/{mount}", json={"type": "approle"}).raise_for_status()
    root.post(f"/v1/auth/{mount}/role/r", json={}).raise_for_status()
    answer = root.post(
        f"/v1/auth/{mount}/role/r/custom-secret-id", json={"secret_id": "s", "metadata": "\u00ff"}
    )
    assert refused(answer, 400) == [
        "failed to parse metadata: failed to parse the input: invalid <key,value> format"
    ]


def pki_root(root: httpx.Client, mount: str) -> x509.Certificate:
    """A pki mount at `mount` with an EC root; its certificate."""
    root.post(f"/v1/sys/mounts/{mount}", json={"type": "pki"}).raise_for_status()
    answer = root.post(f"/v1/{mount}/root/generate/internal", json={"common_name": "r", "key_type": "ec"})
    answer.raise_for_status()
    return x509.load_pem_x509_certificate(answer.json()["data"]["certificate"].encode())


def ocsp_request(issuer: x509.Certificate, algorithm: hashes.HashAlgorithm | None = None) -> bytes:
    """The DER of an OCSP request for serial 7 of `issuer`, its CertID hashed with `algorithm` (SHA-1)."""
    algorithm = algorithm or hashes.SHA1()
    probe = ocsp.OCSPRequestBuilder().add_certificate(issuer, issuer, algorithm).build()
    built = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
        probe.issuer_name_hash, probe.issuer_key_hash, 7, algorithm
    )
    return built.build().public_bytes(serialization.Encoding.DER)


def test_a_negative_ocsp_serial_is_malformed(root: httpx.Client, mount: str) -> None:
    """OpenBao answers "good" for serial -7 in a signed response; cryptography cannot sign a negative
    serial, so strongroom refuses the request as malformed, which RFC 5280 (positive serials) allows."""
    der = ocsp_request(pki_root(root, mount))
    assert der.endswith(b"\x02\x01\x07")
    negative = base64.b64encode(der[:-1] + b"\xf9").decode()  # the serial INTEGER -7
    answer = root.get(f"/v1/{mount}/ocsp/{negative}")
    assert answer.status_code == 400, answer.text
    status = ocsp.load_der_ocsp_response(answer.content).response_status
    assert status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_an_ocsp_request_with_a_hash_go_does_not_know_is_malformed(root: httpx.Client, mount: str) -> None:
    issuer = pki_root(root, mount)
    sha1 = ocsp_request(issuer)
    # SHA-1's OID 1.3.14.3.2.26 turned into 1.3.14.3.2.18, a hash nobody knows; and SHA-224, which
    # cryptography reads but Go's ocsp.ParseRequest does not.
    unknown = sha1.replace(b"\x2b\x0e\x03\x02\x1a", b"\x2b\x0e\x03\x02\x12")
    assert unknown != sha1
    for der in (unknown, ocsp_request(issuer, hashes.SHA224())):
        answer = root.post(
            f"/v1/{mount}/ocsp", content=der, headers={"Content-Type": "application/ocsp-request"}
        )
        assert answer.status_code == 400, answer.content
        status = ocsp.load_der_ocsp_response(answer.content).response_status
        assert status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


@pytest.mark.parametrize("algorithm", [{"kty": "RSA"}, ["ES256"], 5])
def test_an_acme_alg_that_is_no_string_is_malformed(
    server: RunningServer, root: httpx.Client, mount: str, algorithm: object
) -> None:
    """OpenBao answers these 500 serverInternal (Go's json.Unmarshal fails); strongroom's 400 is the same
    problem as an algorithm it does not accept."""
    pki_root(root, mount)
    root.post(f"/v1/{mount}/config/cluster", json={"path": f"{server.address}/v1/{mount}"}).raise_for_status()
    root.post(f"/v1/{mount}/config/acme", json={"enabled": True}).raise_for_status()
    url = f"{server.address}/v1/{mount}/acme/new-account"
    header = {"alg": algorithm, "jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "url": url}
    body = {"protected": b64url(header), "payload": b64url({}), "signature": "AA"}
    answer = httpx.post(url, content=json.dumps(body), headers={"Content-Type": "application/jose+json"})
    assert (answer.status_code, answer.headers["Content-Type"]) == (400, "application/problem+json")
    assert answer.json() == {
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": "invalid header: unexpected value for 'algo': the request message was malformed",
    }


def b64url(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize("value", ["9223372036854775808", '"9223372036854775808"', '"-9223372036854775809"'])
def test_an_int_past_gos_int64_is_a_field_error(root: httpx.Client, mount: str, value: str) -> None:
    root.post(f"/v1/sys/mounts/{mount}", json={"type": "ssh"}).raise_for_status()
    answer = root.post(
        f"/v1/{mount}/config/ca",
        content=f'{{"key_bits": {value}}}',
        headers={"Content-Type": "application/json"},
    )
    assert refused(answer, 400) == [
        'Field validation failed: error converting input for field "key_bits": '
        "'' cannot parse value as 'int': strconv.ParseInt: value out of range"
    ]


def test_an_rsa_size_openssl_cannot_make_is_refused(root: httpx.Client, mount: str) -> None:
    """OpenBao tries (and hangs); OpenSSL failed inside for 2**31 bits, a 500."""
    root.post(f"/v1/sys/mounts/{mount}", json={"type": "ssh"}).raise_for_status()
    answer = root.post(f"/v1/{mount}/config/ca", json={"key_type": "rsa", "key_bits": 2**31})
    assert refused(answer, 400) == ["refusing to generate rsa key: 2147483648 bits > 16384 bits"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"oidc_discovery_url": "https://127.0.0.1:1/x", "oidc_discovery_ca_pem": "\u0977\u2456"},
            "error checking oidc discovery URL: could not parse CA PEM value successfully",
        ),
        ({"jwks_url": "https://127.0.0.1:1/x", "jwks_ca_pem": "\u0977\u2456"}, "error checking jwks_ca_pem"),
    ],
)
def test_a_non_ascii_jwt_ca_pem_is_vaults_400(
    root: httpx.Client, mount: str, body: dict[str, str], message: str
) -> None:
    root.post(f"/v1/sys/auth/{mount}", json={"type": "jwt"}).raise_for_status()
    assert refused(root.put(f"/v1/auth/{mount}/config", json=body), 400) == [message]


def test_a_non_ascii_kubernetes_ca_fails_the_handshake_not_the_server(root: httpx.Client, mount: str) -> None:
    """As OpenBao: the CA is not checked when written, and a login it cannot verify is denied."""
    root.post(f"/v1/sys/auth/{mount}", json={"type": "kubernetes"}).raise_for_status()
    config = {
        "kubernetes_host": "https://127.0.0.1:1",
        "kubernetes_ca_cert": "\u0977",
        "disable_local_ca_jwt": True,
    }
    assert root.post(f"/v1/auth/{mount}/config", json=config).status_code == 204
    role = {"bound_service_account_names": "*", "bound_service_account_namespaces": "*"}
    root.post(f"/v1/auth/{mount}/role/r", json=role).raise_for_status()
    claims = {
        "iss": "kubernetes/serviceaccount",
        "sub": "system:serviceaccount:default:x",
        "kubernetes.io/serviceaccount/namespace": "default",
        "kubernetes.io/serviceaccount/service-account.name": "x",
        "kubernetes.io/serviceaccount/service-account.uid": "u",
    }
    jwt = f"{b64url({'alg': 'RS256'})}.{b64url(claims)}.c2ln"
    answer = root.post(f"/v1/auth/{mount}/login", json={"role": "r", "jwt": jwt})
    assert refused(answer, 403) == ["permission denied"]


def test_text_after_an_ldap_ca_certificate_is_ignored(root: httpx.Client, mount: str) -> None:
    """As Go's AppendCertsFromPEM; non-ASCII text there was a TypeError 500 at login."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca")])
    now = datetime.datetime.now(datetime.UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode() + "\u0977\n"
    root.post(f"/v1/sys/auth/{mount}", json={"type": "ldap"}).raise_for_status()
    config = {"url": "ldaps://127.0.0.1:1", "certificate": pem, "userdn": "ou=u,dc=x"}
    assert root.post(f"/v1/auth/{mount}/config", json=config).status_code == 204
    answer = root.post(f"/v1/auth/{mount}/login/bob", json={"password": "p"})
    assert refused(answer, 400) == [
        '1 error occurred:\n\t* error connecting to host "ldaps://127.0.0.1:1": '
        "socket connection error while opening: [Errno 111] Connection refused\n\n"
    ]


@pytest.mark.parametrize(
    ("ttl", "detail"),
    [
        ("9" * 40, f'time: invalid duration "{"9" * 40}"'),
        ("9223372037", "multiplication of durations resulted in overflow, one operand may be too large"),
        ("99999999999h", 'time: invalid duration "99999999999h"'),
    ],
)
def test_a_wrap_ttl_past_gos_duration_is_vaults_400(root: httpx.Client, ttl: str, detail: str) -> None:
    answer = root.get("/v1/sys/mounts", headers={"X-Vault-Wrap-TTL": ttl})
    assert refused(answer, 400) == [f"error parsing X-Vault-Wrap-TTL header: {detail}"]


def test_a_ca_certificate_whose_key_does_not_parse_is_malformed(root: httpx.Client, mount: str) -> None:
    pki_root(root, mount)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ca")])
    now = datetime.datetime.now(datetime.UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    broken = der.replace(b"\x03\x42\x00\x04", b"\x03\x42\x00\x05")  # no EC point form is 5
    assert broken != der
    pem = (
        "-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(broken).decode() + "-----END CERTIFICATE-----\n"
    )
    answer = root.post(f"/v1/{mount}/intermediate/set-signed", json={"certificate": pem})
    assert refused(answer, 400) == [
        f"Error parsing issuer 0: unable to parse certificate: malformed certificate\n{pem}"
    ]


@pytest.mark.parametrize("serial", [7, -7])
def test_acme_revoking_a_certificate_the_mount_never_issued_is_malformed(
    server: RunningServer, root: httpx.Client, mount: str, serial: int
) -> None:
    """OpenBao answers serverInternal (500); a negative serial was an OverflowError 500 here."""
    pki_root(root, mount)
    root.post(f"/v1/sys/mounts/{mount}/tune", json={"allowed_response_headers": ["Replay-Nonce"]})
    root.post(f"/v1/{mount}/config/cluster", json={"path": f"{server.address}/v1/{mount}"}).raise_for_status()
    root.post(f"/v1/{mount}/config/acme", json={"enabled": True}).raise_for_status()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "elsewhere.example.com")])
    now = datetime.datetime.now(datetime.UTC)
    builder = x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    builder = builder.serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
    der = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
    if serial < 0:
        der = der.replace(b"\x02\x01\x07", b"\x02\x01\xf9", 1)  # the serial INTEGER -7
    url = f"{server.address}/v1/{mount}/acme/revoke-cert"
    nonce = httpx.head(f"{server.address}/v1/{mount}/acme/new-nonce").headers["Replay-Nonce"]
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64url_bytes(numbers.x.to_bytes(32, "big")),
        "y": b64url_bytes(numbers.y.to_bytes(32, "big")),
    }
    protected = b64url({"alg": "ES256", "jwk": jwk, "nonce": nonce, "url": url})
    payload = b64url({"certificate": b64url_bytes(der)})
    r, s = decode_dss_signature(key.sign(f"{protected}.{payload}".encode(), ec.ECDSA(hashes.SHA256())))
    body = {
        "protected": protected,
        "payload": payload,
        "signature": b64url_bytes(r.to_bytes(32, "big") + s.to_bytes(32, "big")),
    }
    answer = httpx.post(url, content=json.dumps(body), headers={"Content-Type": "application/jose+json"})
    assert (answer.status_code, answer.headers["Content-Type"]) == (400, "application/problem+json")
    assert answer.json() == {
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": "unable to revoke certificate: no global cert entry found: "
        "the request message was malformed",
    }


def b64url_bytes(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("9" * 40, f'time: invalid duration "{"9" * 40}"'),
        ("9223372037", "multiplication of durations resulted in overflow, one operand may be too large"),
        ("-9223372037", "multiplication of durations resulted in overflow, one operand may be too large"),
        ("99999999999h", 'time: invalid duration "99999999999h"'),
    ],
)
def test_an_ocsp_expiry_past_gos_duration_is_refused_when_written(
    root: httpx.Client, mount: str, value: str, detail: str
) -> None:
    """Once stored, it made every OCSP answer a 500 (the nextUpdate date overflowed)."""
    pki_root(root, mount)
    answer = root.post(f"/v1/{mount}/config/crl", json={"ocsp_expiry": value})
    assert refused(answer, 400) == [f"given ocsp_expiry could not be decoded: {detail}"]
