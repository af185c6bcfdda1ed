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
import json
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
    delta_crl_distribution_points: tuple[str, ...] = ()


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
    subject_serial_number: str = ""
    user_ids: tuple[str, ...] = ()
    other_names: tuple[tuple[str, str], ...] = ()
    policy_identifiers: tuple[str, ...] = ()
    signature_bits: int = 0


def _time(epoch: float) -> datetime.datetime:
    try:
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidRequestError(VALIDITY_OUT_OF_RANGE) from None


VALIDITY_OUT_OF_RANGE = "the certificate's validity period is out of the range X.509 can encode"


def subject_name(template: Template) -> x509.Name:
    """The subject: the role's organization fields, then the common name (empty when none); 400 for a
    value X.509 cannot hold (a country code that is not two letters, a common name over 64 characters)."""
    fields = [(oid, template.subject_extra.get(name, ())) for name, oid in _SUBJECT_FIELDS]
    fields.append((NameOID.COMMON_NAME, (template.common_name,) if template.common_name else ()))
    serial = template.subject_serial_number
    fields.append((NameOID.SERIAL_NUMBER, (serial,) if serial else ()))
    try:
        # As Go's pkix.Name: the values of one attribute type share one relative distinguished name (each
        # once); extra names such as user IDs follow, one name each.
        relative = [
            x509.RelativeDistinguishedName(
                [x509.NameAttribute(oid, value) for value in dict.fromkeys(values)]
            )
            for oid, values in fields
            if values
        ]
        relative += [
            x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.USER_ID, user_id)])
            for user_id in template.user_ids
        ]
    except ValueError as exc:  # cryptography's text names the rule, never the value
        raise InvalidRequestError(f"invalid certificate subject: {exc}") from None
    return x509.Name(relative)


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


def a_label(name: str) -> str:
    """`name` as X.509 holds a DNS name: IDNA A-labels ("xn--..."), as Vault converts it."""
    if name.isascii():
        return name
    try:
        return name.encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidRequestError(f'idna: invalid label in DNS name "{name}"') from None


def _utf8_der(value: str) -> bytes:
    """`value` as a DER UTF8String (the only other-SAN type Vault writes)."""
    encoded = value.encode()
    length = len(encoded)
    if length < 0x80:
        return b"\x0c" + bytes([length]) + encoded
    size = (length.bit_length() + 7) // 8
    return b"\x0c" + bytes([0x80 | size]) + length.to_bytes(size, "big") + encoded


def policy_information(stored: str) -> x509.PolicyInformation:
    """A role's policy_identifiers entry (an OID, or Vault's JSON {"oid", "cps", "notice"}) as X.509 holds
    it; ValueError with Vault's words when it is neither."""
    try:
        return x509.PolicyInformation(x509.ObjectIdentifier(stored), None)
    except ValueError as oid_error:
        try:
            entry = json.loads(stored)
            oid = x509.ObjectIdentifier(str(entry.get("oid", "")))
        except (ValueError, AttributeError) as json_error:
            raise ValueError(
                f"policy identifier {json.dumps(stored)} is neither a valid OID: {oid_error}, Nor JSON "
                f"Policy Identifier: {json_error}"
            ) from None
    qualifiers: list[str | x509.UserNotice] = []
    if entry.get("cps"):
        qualifiers.append(str(entry["cps"]))
    if entry.get("notice"):
        qualifiers.append(x509.UserNotice(None, str(entry["notice"])))
    return x509.PolicyInformation(oid, qualifiers or None)


def _alt_names(template: Template) -> list[x509.GeneralName]:
    try:
        names: list[x509.GeneralName] = [x509.DNSName(a_label(name)) for name in template.dns_names]
        names += [x509.RFC822Name(email) for email in template.emails]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in template.ip_addresses]
        names += [x509.UniformResourceIdentifier(uri) for uri in template.uris]
        names += [
            x509.OtherName(x509.ObjectIdentifier(oid), _utf8_der(value))
            for oid, value in template.other_names
        ]
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
        # RFC 5280 4.2.1.6: with an empty subject the names are the identity, so the extension is critical.
        critical = not list(subject)
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=critical)
    if template.policy_identifiers:
        policies = [policy_information(stored) for stored in template.policy_identifiers]
        builder = builder.add_extension(x509.CertificatePolicies(policies), critical=False)
    if template.urls.crl_distribution_points:
        points = _distribution_points(template.urls.crl_distribution_points)
        builder = builder.add_extension(x509.CRLDistributionPoints(points), critical=False)
    if template.urls.delta_crl_distribution_points:
        points = _distribution_points(template.urls.delta_crl_distribution_points)
        builder = builder.add_extension(x509.FreshestCRL(points), critical=False)
    return builder.sign(signing_key, signature_hash(signing_key, template.signature_bits))


def _distribution_points(urls: Sequence[str]) -> list[x509.DistributionPoint]:
    return [x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None) for url in urls]


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
    delta_of: int = 0,
    freshest: Sequence[str] = (),
) -> x509.CertificateRevocationList:
    """The issuer's CRL listing `revoked` (serial, revocation time). With `delta_of` (the number of the
    complete CRL it extends) it is a delta CRL (critical Delta CRL Indicator); else `freshest` names where
    the delta CRLs are (Freshest CRL extension), as Vault does when config/urls lists them."""
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
    if delta_of:
        builder = builder.add_extension(x509.DeltaCRLIndicator(delta_of), critical=True)
    elif freshest:
        builder = builder.add_extension(x509.FreshestCRL(_distribution_points(freshest)), critical=False)
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
