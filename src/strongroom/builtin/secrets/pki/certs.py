"""X.509 building for the pki engine: certificates from a template, CSRs, CRLs, and their encodings.
Layer: builtin (pure domain logic; imports cryptography, errors and the engine's keys module).

The extensions follow what Vault puts in its certificates: key usage (critical), extended key usage,
subject and authority key identifiers, subject alternative names, the AIA issuing-certificate URLs and CRL
distribution points of config/urls, and critical basic constraints on CA certificates.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from strongroom.builtin.secrets.pki.keys import PrivateKey, PublicKey, pem_text, signature_hash
from strongroom.errors import InvalidRequestError

# Vault's names for key usages (x509.KeyUsage flags) and extended key usages.
KEY_USAGES = {
    "digitalsignature": "digital_signature",
    "contentcommitment": "content_commitment",
    "keyencipherment": "key_encipherment",
    "dataencipherment": "data_encipherment",
    "keyagreement": "key_agreement",
    "certsign": "key_cert_sign",
    "crlsign": "crl_sign",
    "encipheronly": "encipher_only",
    "decipheronly": "decipher_only",
}
EXT_KEY_USAGES = {
    "any": ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,
    "serverauth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientauth": ExtendedKeyUsageOID.CLIENT_AUTH,
    "codesigning": ExtendedKeyUsageOID.CODE_SIGNING,
    "emailprotection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
    "timestamping": ExtendedKeyUsageOID.TIME_STAMPING,
    "ocspsigning": ExtendedKeyUsageOID.OCSP_SIGNING,
    "ipsecendsystem": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
    "ipsectunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
    "ipsecuser": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
}
_SUBJECT_FIELDS = (
    ("country", NameOID.COUNTRY_NAME),
    ("province", NameOID.STATE_OR_PROVINCE_NAME),
    ("locality", NameOID.LOCALITY_NAME),
    ("street_address", NameOID.STREET_ADDRESS),
    ("postal_code", NameOID.POSTAL_CODE),
    ("organization", NameOID.ORGANIZATION_NAME),
    ("ou", NameOID.ORGANIZATIONAL_UNIT_NAME),
)


@dataclass(frozen=True, slots=True)
class Urls:
    """The mount's config/urls: what issued certificates point at."""

    issuing_certificates: tuple[str, ...] = ()
    crl_distribution_points: tuple[str, ...] = ()
    ocsp_servers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Template:
    """What a new certificate says; times are epoch seconds. `subject_extra` maps a _SUBJECT_FIELDS name to
    its values. `max_path_length` < 0 means no limit (CA certificates only)."""

    common_name: str
    not_before: float
    not_after: float
    dns_names: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    uris: tuple[str, ...] = ()
    subject_extra: dict[str, tuple[str, ...]] = field(default_factory=dict)
    key_usage: tuple[str, ...] = ()
    ext_key_usage: tuple[str, ...] = ()
    ext_key_usage_oids: tuple[str, ...] = ()
    is_ca: bool = False
    max_path_length: int = -1
    basic_constraints_for_non_ca: bool = False
    urls: Urls = Urls()
    serial: int = 0


def _time(epoch: float) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidRequestError(VALIDITY_OUT_OF_RANGE) from None


VALIDITY_OUT_OF_RANGE = "the certificate's validity period is out of the range X.509 can encode"


def subject_name(template: Template) -> x509.Name:
    """The subject: the role's organization fields, then the common name (empty when none); 400 for a
    value X.509 cannot hold (a country code that is not two letters, a common name over 64 characters)."""
    try:
        attributes = [
            x509.NameAttribute(oid, value)
            for name, oid in _SUBJECT_FIELDS
            for value in template.subject_extra.get(name, ())
        ]
        if template.common_name:
            attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, template.common_name))
    except ValueError as exc:  # cryptography's text names the rule, never the value
        raise InvalidRequestError(f"invalid certificate subject: {exc}") from None
    return x509.Name(attributes)


def _key_usage(names: Sequence[str], is_ca: bool) -> x509.KeyUsage | None:
    flags = dict.fromkeys(KEY_USAGES.values(), False)
    for name in names:
        flag = KEY_USAGES.get(name.strip().lower())
        if flag is not None:
            flags[flag] = True
    if is_ca:
        flags["key_cert_sign"] = flags["crl_sign"] = True
    if not any(flags.values()):
        return None
    return x509.KeyUsage(**flags)


def _ext_key_usage(names: Sequence[str], oids: Sequence[str]) -> list[x509.ObjectIdentifier]:
    found: list[x509.ObjectIdentifier] = []
    for name in names:
        oid = EXT_KEY_USAGES.get(name.strip().lower())
        if oid is not None and oid not in found:
            found.append(oid)
    for dotted in oids:
        try:
            found.append(x509.ObjectIdentifier(dotted))
        except ValueError:
            raise InvalidRequestError(
                f"error parsing ext_key_usage_oids: {dotted} is not a valid OID"
            ) from None
    return found


def _a_label(name: str) -> str:
    """`name` as X.509 holds a DNS name: IDNA A-labels ("xn--..."), as Vault converts it."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidRequestError(f'idna: invalid label in DNS name "{name}"') from None


def _alt_names(template: Template) -> list[x509.GeneralName]:
    try:
        names: list[x509.GeneralName] = [x509.DNSName(_a_label(name)) for name in template.dns_names]
        names += [x509.RFC822Name(email) for email in template.emails]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in template.ip_addresses]
        names += [x509.UniformResourceIdentifier(uri) for uri in template.uris]
    except ValueError as exc:  # cryptography's text names the rule, never the value
        raise InvalidRequestError(f"invalid subject alternative name: {exc}") from None
    return names


def build_certificate(
    template: Template,
    public_key: PublicKey,
    signing_key: PrivateKey,
    issuer: x509.Certificate | None,
) -> x509.Certificate:
    """A certificate for `public_key`, signed by `signing_key`; self-signed when `issuer` is None."""
    subject = subject_name(template)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject if issuer is None else issuer.subject)
        .public_key(public_key)
        .serial_number(template.serial or x509.random_serial_number())
    )
    try:
        builder = builder.not_valid_before(_time(template.not_before)).not_valid_after(
            _time(template.not_after)
        )
    except ValueError:  # cryptography refuses dates before 1950
        raise InvalidRequestError(VALIDITY_OUT_OF_RANGE) from None
    usage = _key_usage(template.key_usage, template.is_ca)
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    ext_usage = _ext_key_usage(template.ext_key_usage, template.ext_key_usage_oids)
    if ext_usage:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext_usage), critical=False)
    if template.is_ca or template.basic_constraints_for_non_ca:
        path_length = template.max_path_length if template.is_ca and template.max_path_length >= 0 else None
        builder = builder.add_extension(
            x509.BasicConstraints(ca=template.is_ca, path_length=path_length), critical=True
        )
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    builder = builder.add_extension(ski, critical=False)
    authority = ski if issuer is None else _issuer_key_identifier(issuer)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier(authority.digest, None, None), critical=False)
    if template.urls.issuing_certificates or template.urls.ocsp_servers:
        access = [
            x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url))
            for url in template.urls.ocsp_servers
        ] + [
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url)
            )
            for url in template.urls.issuing_certificates
        ]
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    alt_names = _alt_names(template)
    if alt_names:
        # RFC 5280 4.2.1.6: with an empty subject the names live only here, so the extension is critical.
        critical = len(subject) == 0
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=critical)
    if template.urls.crl_distribution_points:
        points = [
            x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
            for url in template.urls.crl_distribution_points
        ]
        builder = builder.add_extension(x509.CRLDistributionPoints(points), critical=False)
    return builder.sign(signing_key, signature_hash(signing_key))


def _issuer_key_identifier(issuer: x509.Certificate) -> x509.SubjectKeyIdentifier:
    try:
        return issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(issuer.public_key())


def build_csr(template: Template, key: PrivateKey) -> x509.CertificateSigningRequest:
    """A CSR for an intermediate CA: the subject and alternative names of `template`."""
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject_name(template))
    alt_names = _alt_names(template)
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    return builder.sign(key, signature_hash(key))


def build_crl(
    issuer: x509.Certificate,
    key: PrivateKey,
    *,
    revoked: Sequence[tuple[int, float]],
    number: int,
    now: float,
    next_update: float,
) -> x509.CertificateRevocationList:
    """The issuer's CRL listing `revoked` (serial, revocation time)."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.subject)
        .last_update(_time(now))
        .next_update(_time(next_update))
        .add_extension(
            x509.AuthorityKeyIdentifier(_issuer_key_identifier(issuer).digest, None, None), critical=False
        )
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(_time(when)).build()
        )
    return builder.sign(key, signature_hash(key))


def certificate_pem(certificate: x509.Certificate) -> str:
    """PEM without the final newline, as Vault's JSON fields carry certificates."""
    return pem_text("CERTIFICATE", certificate.public_bytes(serialization.Encoding.DER))


def certificate_der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def encode_certificate(certificate: x509.Certificate, output: str) -> str:
    """The certificate as a response field: PEM, or base64 DER for output "der"."""
    if output == "der":
        return base64.b64encode(certificate_der(certificate)).decode()
    return certificate_pem(certificate)


def load_certificate(text: str) -> x509.Certificate:
    """One PEM certificate (the first of a bundle)."""
    return load_certificates(text)[0]


def load_certificates(text: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle; 400 when there is none or one is malformed."""
    try:
        found = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise InvalidRequestError("unable to parse certificate: no PEM certificates found") from None
    return found


def load_csr(text: str) -> x509.CertificateSigningRequest:
    """A PEM CSR, checked against its own signature; 400 with Vault's words otherwise."""
    if not text.strip():
        raise InvalidRequestError("csr contains no data")
    try:
        csr = x509.load_pem_x509_csr(text.strip().encode())
    except ValueError:
        raise InvalidRequestError("csr contains no data") from None
    if not csr.is_signature_valid:
        raise InvalidRequestError("request signature invalid")
    return csr


def csr_public_key(csr: x509.CertificateSigningRequest) -> PublicKey:
    """The CSR's key, when it is of a type the engine signs."""
    key = csr.public_key()
    if not isinstance(key, PublicKey):
        raise InvalidRequestError("unsupported key type in CSR")
    return key


def common_name_of(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def csr_alt_names(csr: x509.CertificateSigningRequest) -> tuple[list[str], list[str], list[str], list[str]]:
    """(DNS names, emails, IP addresses, URIs) the CSR asks for."""
    try:
        names = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return [], [], [], []
    return (
        names.get_values_for_type(x509.DNSName),
        names.get_values_for_type(x509.RFC822Name),
        [str(ip) for ip in names.get_values_for_type(x509.IPAddress)],
        names.get_values_for_type(x509.UniformResourceIdentifier),
    )


def not_after(certificate: x509.Certificate) -> float:
    return certificate.not_valid_after_utc.timestamp()
