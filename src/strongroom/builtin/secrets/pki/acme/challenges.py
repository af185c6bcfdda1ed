"""Challenge checks (RFC 8555 section 8, RFC 8737): fetch what the client published and compare it with
the key authorization; dns-01 asks config/acme's dns_resolver (else the system's) for a TXT record.
Layer: builtin (stdlib, httpx, cryptography and the ACME modules).

http-01 fetches http://<domain>[:port]/.well-known/acme-challenge/<token>; tls-alpn-01 connects with ALPN
"acme-tls/1" and reads the acmeIdentifier extension of the self-signed certificate it is shown. The ports
are 80 and 443 as RFC 8555 fixes them; a mount may name others (its `acme_http_01_port` and
`acme_tls_alpn_01_port` options), which is how tests validate against servers on loopback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ipaddress
import ssl
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from strongroom.builtin.secrets.pki.acme.dns import DnsError, lookup_txt, parse_resolver, system_resolver
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem

ALPN_PROTOCOL = "acme-tls/1"
ACME_IDENTIFIER = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.31")
TIMEOUT = 10.0
MAX_BODY = 512


@dataclass(frozen=True, slots=True)
class Ports:
    http_01: int = 80
    tls_alpn_01: int = 443


def key_authorization(token: str, thumbprint: str) -> str:
    return f"{token}.{thumbprint}"


def _host(domain: str) -> str:
    try:
        return f"[{domain}]" if ipaddress.ip_address(domain).version == 6 else domain
    except ValueError:
        return domain


async def check_http_01(domain: str, token: str, thumbprint: str, port: int) -> None:
    """Pass when the domain serves the key authorization at the well-known path; else a problem."""
    authority = _host(domain) if port == 80 else f"{_host(domain)}:{port}"
    url = f"http://{authority}/.well-known/acme-challenge/{token}"
    try:
        async with (
            httpx.AsyncClient(
                # A redirect may lead to https; RFC 8555 8.3 says its certificate is not checked.
                timeout=TIMEOUT,
                follow_redirects=True,
                max_redirects=10,
                verify=False,  # noqa: S501
            ) as client,
            client.stream("GET", url) as answer,
        ):
            body = b""
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    break
    except httpx.HTTPError as exc:
        raise AcmeProblem(
            "connection", f"http-01: failed to fetch path {url}: {type(exc).__name__}"
        ) from None
    expected = key_authorization(token, thumbprint)
    if len(body) > MAX_BODY:
        raise AcmeProblem("incorrectResponse", f"http-01: response too large: > {MAX_BODY} bytes")
    if body.decode("utf-8", "replace").strip() != expected:
        raise AcmeProblem("incorrectResponse", "http-01: key authorization was invalid")


async def check_dns_01(domain: str, token: str, thumbprint: str, resolver: str) -> None:
    """Pass when _acme-challenge.<domain> has a TXT record with the key authorization's SHA-256."""
    name = "_acme-challenge." + domain
    where = parse_resolver(resolver) if resolver else system_resolver()
    try:
        records = await lookup_txt(name, where)
    except DnsError as exc:
        raise AcmeProblem("dns", f"dns-01: failed to lookup TXT records for domain ({name}): {exc}") from None
    digest = hashlib.sha256(key_authorization(token, thumbprint).encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if expected not in records:
        raise AcmeProblem("incorrectResponse", f"dns-01: challenge failed against {len(records)} records")


def _self_signed(certificate: x509.Certificate) -> bool:
    key = certificate.public_key()
    data, signature = certificate.tbs_certificate_bytes, certificate.signature
    try:
        if isinstance(key, rsa.RSAPublicKey) and certificate.signature_hash_algorithm is not None:
            key.verify(signature, data, padding.PKCS1v15(), certificate.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey) and certificate.signature_hash_algorithm is not None:
            key.verify(signature, data, ec.ECDSA(certificate.signature_hash_algorithm))
        elif isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, data)
        else:
            return False
    except Exception:  # any failure to verify means "not self-signed"
        return False
    return certificate.subject.public_bytes() == certificate.issuer.public_bytes()


def check_alpn_certificate(der: bytes, domain: str, token: str, thumbprint: str) -> None:
    """RFC 8737's rules for the certificate a tls-alpn-01 responder shows."""
    certificate = x509.load_der_x509_certificate(der)
    if not _self_signed(certificate):
        raise AcmeProblem("tls", "tls-alpn-01: server returned a non-self-signed certificate")
    try:
        sans = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise AcmeProblem("tls", "tls-alpn-01: certificate has no SANs") from None
    names = sans.get_values_for_type(x509.DNSName)
    if len(names) != 1 or len(list(sans)) != 1 or names[0].lower() != domain.lower():
        raise AcmeProblem("tls", "tls-alpn-01: certificate with incorrect SANs")
    found = [ext for ext in certificate.extensions if ext.oid == ACME_IDENTIFIER]
    if len(found) != 1 or not found[0].critical:
        raise AcmeProblem("tls", "tls-alpn-01: certificate needs exactly one critical acmeIdentifier")
    value = found[0].value
    digest = hashlib.sha256(key_authorization(token, thumbprint).encode()).digest()
    if not isinstance(value, x509.UnrecognizedExtension) or value.value != b"\x04\x20" + digest:
        raise AcmeProblem("incorrectResponse", "tls-alpn-01: invalid key authorization")
    for ext in certificate.extensions:
        if ext.critical and ext.oid != ACME_IDENTIFIER and isinstance(ext.value, x509.UnrecognizedExtension):
            raise AcmeProblem("tls", "tls-alpn-01: certificate with unknown critical extensions")


async def check_tls_alpn_01(domain: str, token: str, thumbprint: str, port: int) -> None:
    """Pass when a TLS handshake with ALPN acme-tls/1 shows the certificate RFC 8737 asks for."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the certificate is self-signed by design; it is checked below
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols([ALPN_PROTOCOL])
    try:
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(domain, port, ssl=context, server_hostname=domain), TIMEOUT
        )
    except (OSError, TimeoutError, ssl.SSLError) as exc:
        raise AcmeProblem("connection", f"tls-alpn-01: failed to connect: {type(exc).__name__}") from None
    try:
        tls = writer.get_extra_info("ssl_object")
        if tls is None or tls.selected_alpn_protocol() != ALPN_PROTOCOL:
            raise AcmeProblem("tls", "tls-alpn-01: server negotiated an unexpected ALPN protocol")
        der = tls.getpeercert(binary_form=True)
        if not der:
            raise AcmeProblem("tls", "tls-alpn-01: server sent no certificate")
        check_alpn_certificate(der, domain, token, thumbprint)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
