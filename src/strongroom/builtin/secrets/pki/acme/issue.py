"""Finalization: from an order's CSR to a certificate, through the pki engine's own checks (the
directory's role, or sign-verbatim) and its signing code (OpenBao's issueCertFromCsr).
Layer: builtin (cryptography, errors, logical and the pki modules).

Invariant: a certificate carries exactly the identifiers its order proved (checked before signing), and
the role's name rules still apply to each.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import replace

from cryptography import x509

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.acme.directory import Directory
from strongroom.builtin.secrets.pki.acme.models import Order
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem
from strongroom.builtin.secrets.pki.certs import (
    build_certificate,
    common_name_of,
    csr_alt_names,
    csr_public_key,
    not_after,
)
from strongroom.builtin.secrets.pki.issuing import NameRequest, leaf_template, validity
from strongroom.builtin.secrets.pki.keys import PublicKey, key_bits_of, key_type_of, public_key_der
from strongroom.builtin.secrets.pki.models import Role
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import RequestError
from strongroom.logical import SystemView
from strongroom.util.clock import Clock

MAX_TTL = 90 * 24 * 3600  # OpenBao's cap on an ACME certificate's life


def parse_csr(payload: dict[str, object]) -> x509.CertificateSigningRequest:
    """The finalize payload's CSR (base64url DER), which must be well signed and not ask to be a CA."""
    encoded = payload.get("csr")
    if encoded is None:
        raise AcmeProblem("malformed", "missing csr in payload", lead=True)
    if not isinstance(encoded, str):
        raise AcmeProblem("malformed", "csr in payload not the expected type", lead=True)
    try:
        der = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        csr = x509.load_der_x509_csr(der)
    except (binascii.Error, ValueError):
        raise AcmeProblem("malformed", "failed to parse csr", lead=True) from None
    if not csr.is_signature_valid:
        raise AcmeProblem("badCSR", "request signature invalid", lead=True)
    try:
        constraints = csr.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is not None and constraints.ca:
        raise AcmeProblem(
            "badCSR", "refusing to accept CSR with Basic Constraints extension with CA set to true", lead=True
        )
    return csr


def csr_identifiers(csr: x509.CertificateSigningRequest) -> tuple[list[str], list[str]]:
    """The DNS names and IP addresses a CSR asks for (its common name counts as one of them)."""
    dns, _, ips, _ = csr_alt_names(csr)
    common_name = common_name_of(csr.subject)
    if common_name:
        try:
            ipaddress.ip_address(common_name)
        except ValueError:
            dns.append(common_name)
        else:
            ips.append(common_name)
    return sorted(set(dns)), sorted({str(ipaddress.ip_address(ip)) for ip in ips})


def check_matches_order(csr: x509.CertificateSigningRequest, order: Order) -> None:
    """The CSR names exactly the order's identifiers (OpenBao's validateCsrMatchesOrder)."""
    dns, ips = csr_identifiers(csr)
    wanted_dns = sorted({i.original for i in order.identifiers if i.type == "dns"})
    wanted_ips = sorted({str(ipaddress.ip_address(i.value)) for i in order.identifiers if i.type == "ip"})
    if len(wanted_dns) != len(dns):
        raise AcmeProblem(
            "badCSR",
            f"Order ({len(wanted_dns)}) and CSR ({len(dns)}) mismatch on number of DNS identifiers",
            lead=True,
        )
    if len(wanted_ips) != len(ips):
        raise AcmeProblem(
            "badCSR",
            f"Order ({len(wanted_ips)}) and CSR ({len(ips)}) mismatch on number of IP identifiers",
            lead=True,
        )
    for wanted, given in (*zip(wanted_dns, dns, strict=True), *zip(wanted_ips, ips, strict=True)):
        if wanted != given:
            raise AcmeProblem("badCSR", f"CSR is missing order identifier {wanted}", lead=True)


def _check_key(role: Role, key: PublicKey) -> None:
    if role.key_type == "any":
        return
    if key_type_of(key) != role.key_type:
        raise AcmeProblem(
            "badCSR", f"refusing to sign CSR: role requires keys of type {role.key_type}", lead=True
        )
    if role.key_type != "ed25519" and key_bits_of(key) < role.key_bits:
        raise AcmeProblem(
            "badCSR", f"refusing to sign CSR: role requires a minimum of a {role.key_bits}-bit key", lead=True
        )


def _names(role: Role, csr: x509.CertificateSigningRequest) -> NameRequest:
    """The certificate's names: the CSR's, with a common name chosen when the role requires one."""
    dns, emails, ips, uris = csr_alt_names(csr)
    common_name = common_name_of(csr.subject)
    if not common_name and role.require_cn:
        wildcard = next((name for name in dns if "*" in name), "")
        common_name = wildcard or (dns[0] if dns else (ips[0] if ips else ""))
    return NameRequest(
        common_name=common_name, alt_names=(*dns, *emails), ip_sans=tuple(ips), uri_sans=tuple(uris)
    )


async def sign(
    pki: PkiStore,
    directory: Directory,
    csr: x509.CertificateSigningRequest,
    *,
    account_key_der: bytes,
    system: SystemView,
    clock: Clock,
) -> x509.Certificate:
    """Sign `csr` as the directory's policy allows, store the certificate, and return it."""
    role = directory.role
    try:
        key = csr_public_key(csr)
    except RequestError:
        raise AcmeProblem(
            "badCSR", "failed to parse csr no public key info or unknown key algorithm used", lead=True
        ) from None
    if public_key_der(key) == account_key_der:
        raise AcmeProblem("badCSR", "certificate public key must not match account key", lead=True)
    _check_key(role, key)
    signing = await pki.signing_issuer(directory.issuer.id)
    try:
        template = leaf_template(role, _names(role, csr))
    except RequestError as exc:
        raise AcmeProblem("badCSR", f"refusing to sign CSR: {'; '.join(exc.errors)}", lead=True) from None
    now = clock.now()
    valid = validity(
        now=now,
        requested_ttl=0,
        role_ttl=role.ttl,
        role_max_ttl=role.max_ttl,
        default_ttl=system.default_lease_ttl(),
        system_max_ttl=system.max_lease_ttl(),
        not_before_duration=role.not_before_duration,
        ca_not_after=None,
    )
    # ACME clients cannot pick a TTL: a certificate that would outlive its CA ends with it instead.
    end = min(valid.not_after, now + MAX_TTL, not_after(signing.certificate))
    urls = await pki.issuing_urls(signing.issuer)
    timed = replace(template, not_before=valid.not_before, not_after=end, urls=urls)
    certificate = build_certificate(timed, key, signing.key, signing.certificate)
    await common.remember(pki, certificate, signing.issuer.id)
    return certificate
