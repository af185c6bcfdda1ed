"""Whether a client's certificate chain is trusted, and whether it meets a trusted certificate's constraints.

Layer: builtin (imports cryptography only). Vault's rules (builtin/credential/cert path_login.go): the chain
the client presented is verified against every CA certificate the mount trusts, for client
authentication; a trusted certificate that is not a CA is trusted directly when the client presents that
very certificate. Names, SANs, organizational units and extensions are matched with Vault's globs, where
"*" matches any run of characters.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)


def glob(pattern: str, subject: str) -> bool:
    """ryanuber/go-glob: "*" alone matches everything; otherwise the parts between "*" appear in order,
    the first at the start and the last at the end."""
    if pattern == "*":
        return True
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == subject
    if not subject.startswith(parts[0]) or not subject.endswith(parts[-1]):
        return False
    position = len(parts[0])
    for part in parts[1:-1]:
        found = subject.find(part, position)
        if found < 0:
            return False
        position = found + len(part)
    return position <= len(subject) - len(parts[-1])


def parse_pem(text: str) -> list[x509.Certificate]:
    """Every certificate in PEM text (Vault's parsePEM: blocks that do not parse are skipped)."""
    certificates = []
    for block in text.split("-----BEGIN ")[1:]:
        try:
            certificates.extend(x509.load_pem_x509_certificates(("-----BEGIN " + block).encode()))
        except ValueError:
            continue
    return certificates


def is_ca(certificate: x509.Certificate) -> bool:
    """Go's IsCA: a basicConstraints extension with cA set."""
    try:
        return bool(certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def allows_client_auth(certificate: x509.Certificate) -> bool:
    """No extended key usage at all, or one naming client authentication (or any usage)."""
    try:
        usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return ExtendedKeyUsageOID.CLIENT_AUTH in usages or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages


def _require_ca(_policy: object, _certificate: x509.Certificate, constraints: x509.BasicConstraints) -> None:
    if not constraints.ca:
        raise ValueError("not a CA certificate")


def verified_chain(
    chain: Sequence[x509.Certificate], roots: Sequence[x509.Certificate], now: datetime.datetime
) -> list[x509.Certificate] | None:
    """The chain from the client's certificate (chain[0], the others as intermediates) to one of `roots`,
    as Go's x509 Verify checks it for client authentication (validity, signatures, CA constraints); None
    when there is none."""
    if not chain or not roots or not allows_client_auth(chain[0]):
        return None
    # Go checks what RFC 5280 demands of issuers, not the Web PKI's extension profile.
    ca_policy = ExtensionPolicy.permit_all().require_present(
        x509.BasicConstraints, Criticality.AGNOSTIC, _require_ca
    )
    verifier = (
        PolicyBuilder()
        .store(Store(list(roots)))
        .time(now)
        .extension_policies(ca_policy=ca_policy, ee_policy=ExtensionPolicy.permit_all())
        .build_client_verifier()
    )
    try:
        return list(verifier.verify(chain[0], list(chain[1:])).chain)
    except VerificationError:
        return None


def same(a: x509.Certificate, b: x509.Certificate) -> bool:
    """The same certificate, byte for byte."""
    return a.public_bytes(Encoding.DER) == b.public_bytes(Encoding.DER)


def common_name(certificate: x509.Certificate) -> str:
    """The subject's (first) common name, or ""."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _sans(certificate: x509.Certificate, kind: type[x509.GeneralName]) -> list[str]:
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(value) for value in extension.get_values_for_type(kind)]  # type: ignore[arg-type]


def extension_values(certificate: x509.Certificate) -> dict[str, str]:
    """Each extension's value read as an ASN.1 string, by dotted OID (Go's asn1.Unmarshal into a string:
    "" when it is not one)."""
    values = {}
    for extension in certificate.extensions:
        raw = extension.value.public_bytes() if hasattr(extension.value, "public_bytes") else b""
        values[extension.oid.dotted_string] = _asn1_string(raw)
    return values


_STRING_TAGS = frozenset({0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1E})  # UTF8, Printable, T61, IA5, Visible, BMP


def _asn1_string(der: bytes) -> str:
    if len(der) < 2 or der[0] not in _STRING_TAGS:
        return ""
    length, offset = der[1], 2
    if length & 0x80:
        count = length & 0x7F
        length, offset = int.from_bytes(der[2 : 2 + count]), 2 + count
    body = der[offset : offset + length]
    encoding = "utf-16-be" if der[0] == 0x1E else "utf-8"
    return body.decode(encoding, errors="replace")


def matches(certificate: x509.Certificate, constraints: Constraints) -> bool:
    """Whether the client's certificate meets every constraint of a trusted certificate (Vault's order)."""
    cn = common_name(certificate)
    dns, emails = _sans(certificate, x509.DNSName), _sans(certificate, x509.RFC822Name)
    uris = _sans(certificate, x509.UniformResourceIdentifier)
    ous = [str(a.value) for a in certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)]
    return (
        _any(constraints.allowed_names, [cn, *dns, *emails])
        and _any(constraints.allowed_common_names, [cn])
        and _any(constraints.allowed_dns_sans, dns)
        and _any(constraints.allowed_email_sans, emails)
        and _any(constraints.allowed_uri_sans, uris)
        and _any(constraints.allowed_organizational_units, ous)
        and _has_extensions(certificate, constraints.required_extensions)
    )


def _any(patterns: Sequence[str], values: Sequence[str]) -> bool:
    return not patterns or any(glob(p, v) for p in patterns for v in values)


def _has_extensions(certificate: x509.Certificate, required: Sequence[str]) -> bool:
    if not required:
        return True
    present = extension_values(certificate)
    if not present:
        return False
    for requirement in required:
        oid, _, pattern = requirement.partition(":")
        if oid not in present or not glob(pattern, present[oid]):
            return False
    return True


class Constraints(Protocol):
    """What a trusted certificate asks of the certificates it admits."""

    @property
    def allowed_names(self) -> Sequence[str]: ...
    @property
    def allowed_common_names(self) -> Sequence[str]: ...
    @property
    def allowed_dns_sans(self) -> Sequence[str]: ...
    @property
    def allowed_email_sans(self) -> Sequence[str]: ...
    @property
    def allowed_uri_sans(self) -> Sequence[str]: ...
    @property
    def allowed_organizational_units(self) -> Sequence[str]: ...
    @property
    def required_extensions(self) -> Sequence[str]: ...
