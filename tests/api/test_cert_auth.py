"""auth/cert over real mutual TLS: trusted certificates, login from httpx and hvac, Vault's refusals, renewal,
and the same requests answered alike by OpenBao (`bao server` with a TLS listener)."""

from __future__ import annotations

import datetime
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.servers import bao_binary, free_port, stop
from tests.tls import Issued, ScratchCA

EXTENSION_OID = "1.2.3.4.5.6"


@dataclass(frozen=True)
class TLSServer:
    """A server on a TLS listener, initialized and unsealed."""

    address: str
    root: str
    ca: ScratchCA

    def client(self, issued: Issued | None = None) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca.path))
        if issued is not None:
            context.load_cert_chain(issued.cert, issued.key)
        return httpx.Client(base_url=self.address, verify=context, timeout=30)

    def admin(self) -> httpx.Client:
        client = self.client()
        client.headers["X-Vault-Token"] = self.root
        return client


RELAY = "  tls_request_client_certs = true\n"


def _listener(port: int, issued: Issued, extra: str) -> str:
    return (
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n'
        f'  tls_cert_file = "{issued.cert}"\n  tls_key_file = "{issued.key}"\n{extra}}}\n'
    )


@contextmanager
def tls_server(
    workdir: Path, kind: str, *, listener_extra: str = RELAY, extra: str = ""
) -> Iterator[TLSServer]:
    """strongroom (SQLite) or OpenBao (in memory) serving TLS with a scratch CA's certificate; strongroom's
    listener requests client certificates (OpenBao's always does) unless `listener_extra` says otherwise."""
    workdir.mkdir(parents=True, exist_ok=True)
    ca = ScratchCA(workdir)
    port = free_port()
    listener = _listener(port, ca.issue("server"), "" if kind == "bao" else listener_extra)
    if kind == "bao":
        storage = 'storage "inmem" {}\n'
        command = [bao_binary(), "server"]
    else:
        storage = f'storage "sqlite" {{ path = "{workdir / "strongroom.db"}" }}\n'
        command = [sys.executable, "-m", "strongroom", "server"]
    config = workdir / "server.hcl"
    config.write_text(storage + listener + 'api_addr = "https://127.0.0.1"\n' + extra)
    log = workdir / "server.log"
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin", "HOME": str(workdir)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, f"-config={config}"], stdout=out, stderr=subprocess.STDOUT, env=env
        )
    address = f"https://127.0.0.1:{port}"
    verify = ssl.create_default_context(cafile=str(ca.path))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                keys = httpx.put(
                    f"{address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1}, verify=verify
                ).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        httpx.put(f"{address}/v1/sys/unseal", json={"key": keys["keys"][0]}, verify=verify).raise_for_status()
        yield TLSServer(address, keys["root_token"], ca)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSServer]:
    with tls_server(tmp_path_factory.mktemp("strongroom"), "strongroom") as running:
        with running.admin() as admin:
            assert admin.post("/v1/sys/auth/cert", json={"type": "cert"}).status_code == 204
        yield running


def issue(
    ca: ScratchCA,
    name: str,
    *,
    ou: str = "",
    dns: tuple[str, ...] = (),
    email: tuple[str, ...] = (),
    extension: str = "",
    usage: x509.ObjectIdentifier = ExtendedKeyUsageOID.CLIENT_AUTH,
) -> Issued:
    """A client certificate from `ca` with the subject, SANs and extension the constraints look at."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, name)]
    if ou:
        subject.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    sans: list[x509.GeneralName] = [x509.DNSName(d) for d in dns] + [x509.RFC822Name(e) for e in email]
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if extension:
        value = b"\x0c" + bytes([len(extension)]) + extension.encode()  # a DER UTF8String
        oid = x509.ObjectIdentifier(EXTENSION_OID)
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)
    cert = builder.sign(ca.key, hashes.SHA256())
    cert_path, key_path = ca.directory / f"{name}-{cert.serial_number}.crt", ca.directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = ca.directory / f"{name}-{cert.serial_number}.key"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return Issued(cert=cert_path, key=key_path, serial=cert.serial_number)


def trust(server: TLSServer, name: str, certificate: Path, **options: Any) -> None:
    with server.admin() as admin:
        answer = admin.post(
            f"/v1/auth/cert/certs/{name}",
            json={"certificate": certificate.read_text(), "token_policies": "default", **options},
        )
        assert answer.status_code == 204, answer.text


def login(server: TLSServer, issued: Issued | None, **data: str) -> httpx.Response:
    with server.client(issued) as client:
        return client.post("/v1/auth/cert/login", json=data)


def test_a_certificate_signed_by_a_trusted_ca_logs_in(server: TLSServer, tmp_path: Path) -> None:
    clients = ScratchCA(tmp_path, "clients CA")
    trust(server, "web", clients.path, display_name="webapp", token_policies="web,default", token_ttl="1h")
    issued = issue(clients, "web.example.com")
    answer = login(server, issued, name="web")
    assert answer.status_code == 200, answer.text
    auth = answer.json()["auth"]
    assert auth["policies"] == ["default", "web"]
    assert auth["lease_duration"] == 3600
    assert auth["metadata"]["cert_name"] == "web"
    assert auth["metadata"]["common_name"] == "web.example.com"
    assert auth["metadata"]["serial_number"] == str(issued.serial)
    with server.client(issued) as client:
        client.headers["X-Vault-Token"] = auth["client_token"]
        me = client.get("/v1/auth/token/lookup-self").json()["data"]
        assert me["display_name"] == "cert-webapp"
        assert me["path"] == "auth/cert/login"
        renewed = client.post("/v1/auth/token/renew-self", json={})
        assert renewed.status_code == 200, renewed.text
        assert renewed.json()["auth"]["lease_duration"] == 3600


def test_with_disable_binding_a_renewal_needs_no_certificate(server: TLSServer, tmp_path: Path) -> None:
    clients = ScratchCA(tmp_path, "unbound CA")
    with server.admin() as admin:
        admin.post("/v1/sys/auth/unbound", json={"type": "cert"}).raise_for_status()
        admin.post("/v1/auth/unbound/config", json={"disable_binding": True}).raise_for_status()
        certificate = {"certificate": clients.path.read_text(), "token_ttl": "10m"}
        admin.post("/v1/auth/unbound/certs/any", json=certificate).raise_for_status()
    with server.client(issue(clients, "unbound")) as client:
        token = client.post("/v1/auth/unbound/login", json={}).json()["auth"]["client_token"]
    with server.client() as client:
        client.headers["X-Vault-Token"] = token
        renewed = client.post("/v1/auth/token/renew-self", json={})
        assert (renewed.status_code, renewed.json()["auth"]["lease_duration"]) == (200, 600)


def test_hvac_logs_in_with_a_client_certificate(server: TLSServer, tmp_path: Path) -> None:
    clients = ScratchCA(tmp_path, "hvac CA")
    trust(server, "hvac", clients.path)
    issued = issue(clients, "hvac-client")
    client = hvac.Client(url=server.address, verify=str(server.ca.path))
    answer = client.auth.cert.login(name="hvac", cert_pem=str(issued.cert), key_pem=str(issued.key))
    assert answer["auth"]["metadata"]["common_name"] == "hvac-client"
    assert client.is_authenticated()


def test_a_non_ca_certificate_is_trusted_as_itself(server: TLSServer, tmp_path: Path) -> None:
    other = ScratchCA(tmp_path, "unlisted CA")
    pinned, sibling = issue(other, "pinned"), issue(other, "sibling")
    trust(server, "pinned", pinned.cert)
    assert login(server, pinned, name="pinned").status_code == 200
    refused = login(server, sibling, name="pinned")
    assert (refused.status_code, refused.json()) == (
        400,
        {"errors": ["invalid certificate or no client certificate supplied"]},
    )


def test_refusals_use_vaults_words(server: TLSServer, tmp_path: Path) -> None:
    clients, stranger = ScratchCA(tmp_path, "refusal CA"), ScratchCA(tmp_path, "stranger CA")
    trust(server, "strict", clients.path, allowed_common_names="*.good.example")
    untrusted = login(server, issue(stranger, "x.good.example"), name="strict")
    assert untrusted.json() == {"errors": ["invalid certificate or no client certificate supplied"]}
    mismatch = login(server, issue(clients, "x.bad.example"), name="strict")
    assert (mismatch.status_code, mismatch.json()) == (
        400,
        {"errors": ["no chain matching all constraints could be found for this login certificate"]},
    )
    none = login(server, None, name="strict")
    assert (none.status_code, none.json()) == (400, {"errors": ["no client certificate found"]})
    assert login(server, issue(clients, "x.good.example"), name="strict").status_code == 200


@pytest.mark.parametrize(
    ("constraint", "passes", "fails"),
    [
        ({"allowed_dns_sans": "*.svc"}, {"dns": ("a.svc",)}, {"dns": ("a.other",)}),
        ({"allowed_email_sans": "*@example.com"}, {"email": ("me@example.com",)}, {"email": ("me@x.org",)}),
        ({"allowed_organizational_units": "ops"}, {"ou": "ops"}, {"ou": "dev"}),
        ({"required_extensions": f"{EXTENSION_OID}:team-*"}, {"extension": "team-a"}, {"extension": "x"}),
        ({"allowed_names": "*.svc"}, {"dns": ("b.svc",)}, {}),
    ],
)
def test_constraints(
    server: TLSServer,
    tmp_path: Path,
    constraint: dict[str, str],
    passes: dict[str, Any],
    fails: dict[str, Any],
) -> None:
    clients = ScratchCA(tmp_path, "constraint CA")
    name = "c" + str(abs(hash(tuple(constraint.items()))))[:8]
    trust(server, name, clients.path, **constraint)
    assert login(server, issue(clients, "client", **passes), name=name).status_code == 200
    assert login(server, issue(clients, "client", **fails), name=name).status_code == 400


def test_metadata_extensions_and_alias_metadata(server: TLSServer, tmp_path: Path) -> None:
    clients = ScratchCA(tmp_path, "metadata CA")
    trust(server, "meta", clients.path, allowed_metadata_extensions=EXTENSION_OID)
    answer = login(server, issue(clients, "meta-client", extension="blue"), name="meta")
    assert answer.json()["auth"]["metadata"]["1-2-3-4-5-6"] == "blue"


def test_certs_are_listed_read_and_validated(server: TLSServer, tmp_path: Path) -> None:
    clients = ScratchCA(tmp_path, "listing CA")
    trust(server, "Listed", clients.path, allowed_common_names="a,b")
    with server.admin() as admin:
        assert "listed" in admin.request("LIST", "/v1/auth/cert/certs").json()["data"]["keys"]
        data = admin.get("/v1/auth/cert/certs/listed").json()["data"]
        assert (data["display_name"], data["allowed_common_names"]) == ("listed", ["a", "b"])
        bad = admin.post("/v1/auth/cert/certs/bad", json={"certificate": "nope"})
        assert (bad.status_code, bad.json()) == (400, {"errors": ["failed to parse certificate"]})
        server_cert = issue(clients, "server-only", usage=ExtendedKeyUsageOID.SERVER_AUTH)
        wrong = admin.post("/v1/auth/cert/certs/wrong", json={"certificate": server_cert.cert.read_text()})
        assert wrong.json() == {
            "errors": [
                "nonCA certificates should have TLS client authentication set as an extended key usage"
            ]
        }
        assert admin.delete("/v1/auth/cert/certs/listed").status_code == 204
        assert admin.get("/v1/auth/cert/certs/listed").status_code == 404
        config = admin.post("/v1/auth/cert/config", json={"enable_identity_alias_metadata": True})
        assert config.status_code == 204
        assert admin.get("/v1/auth/cert/config").json()["data"] == {
            "disable_binding": False,
            "enable_identity_alias_metadata": True,
            "ocsp_cache_size": 0,
        }


def _scenario(server: TLSServer, workdir: Path) -> list[tuple[int, Any]]:
    """The same requests against either server; each answer reduced to what both must agree on."""
    clients, stranger = ScratchCA(workdir, "diff CA"), ScratchCA(workdir, "diff stranger")
    with server.admin() as admin:
        admin.post("/v1/sys/auth/cert", json={"type": "cert"}).raise_for_status()
    trust(server, "diff", clients.path, allowed_common_names="*.ok", token_ttl="30m")
    outcomes: list[tuple[int, Any]] = []
    first = issue(clients, "a.ok")
    good = login(server, first, name="diff")
    auth = good.json()["auth"]
    # Renewal is bound to the login's certificate: the same one renews, none or another is refused.
    for presented in (first, None, issue(clients, "a.ok")):
        with server.client(presented) as client:
            client.headers["X-Vault-Token"] = auth["client_token"]
            renewed = client.post("/v1/auth/token/renew-self", json={})
        body = renewed.json()
        if "errors" in body:
            # OpenBao answers another certificate with a 500 quoting both certificates' bytes; a client's
            # wrong certificate is a 400 here, with the same sentence.
            text = body["errors"][0].split("\n\t* ")[-1].split(":\n")[0].strip()
            outcomes.append((min(renewed.status_code, 400), text))
        else:
            outcomes.append((renewed.status_code, body["auth"]["lease_duration"]))
    metadata = dict(auth["metadata"])
    metadata.pop("serial_number")
    outcomes.append((good.status_code, (auth["policies"], auth["lease_duration"], sorted(metadata))))
    for attempt in (
        login(server, issue(clients, "a.no"), name="diff"),
        login(server, issue(stranger, "a.ok"), name="diff"),
        login(server, None, name="diff"),
    ):
        outcomes.append((attempt.status_code, attempt.json()))
    revoked = issue(clients, "revoked.ok")
    with server.admin() as admin:
        read = admin.get("/v1/auth/cert/certs/diff").json()["data"]
        outcomes.append((200, sorted(read)))
        outcomes.append((200, admin.get("/v1/auth/cert/config").json()["data"]))
        written = admin.post("/v1/auth/cert/crls/Revoked", json={"crl": crl(clients, revoked.serial)})
        outcomes.append((written.status_code, written.text))
        listed = admin.get("/v1/auth/cert/crls/revoked").json()["data"]
        outcomes.append((200, listed == {"serials": {str(revoked.serial): {}}}))
    refused = login(server, revoked, name="diff")
    outcomes.append((refused.status_code, refused.json()))
    with server.admin() as admin:
        for answer in (
            admin.post("/v1/auth/cert/crls/bad", json={"crl": "not a CRL"}),
            admin.post("/v1/auth/cert/crls/none", json={}),
            admin.delete("/v1/auth/cert/crls/revoked"),
            admin.get("/v1/auth/cert/crls/revoked"),
            admin.delete("/v1/auth/cert/crls/revoked"),
        ):
            errors = answer.json().get("errors") if answer.content else None
            # Go's and cryptography's parse errors differ after Vault's prefix.
            outcomes.append((answer.status_code, [e.split(":")[0] for e in errors] if errors else None))
    outcomes.append((login(server, revoked, name="diff").status_code, None))
    return outcomes


def crl(ca: ScratchCA, *serials: int) -> str:
    """A PEM CRL from `ca` revoking `serials`."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.cert.subject)
        .last_update(now - datetime.timedelta(minutes=1))
        .next_update(now + datetime.timedelta(days=1))
    )
    for serial in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
        )
    return builder.sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


def test_a_listener_that_does_not_request_certificates_has_none_to_read(tmp_path: Path) -> None:
    with tls_server(tmp_path, "strongroom", listener_extra="") as plain:
        with plain.admin() as admin:
            admin.post("/v1/sys/auth/cert", json={"type": "cert"}).raise_for_status()
        clients = ScratchCA(tmp_path, "unasked CA")
        trust(plain, "unasked", clients.path)
        refused = login(plain, issue(clients, "unasked"))
        assert (refused.status_code, refused.json()) == (400, {"errors": ["no client certificate found"]})


def test_answers_match_openbao(tmp_path: Path) -> None:
    with tls_server(tmp_path / "bao", "bao") as bao:
        expected = _scenario(bao, tmp_path / "bao")
    with tls_server(tmp_path / "ours", "strongroom") as ours:
        assert _scenario(ours, tmp_path / "ours") == expected
