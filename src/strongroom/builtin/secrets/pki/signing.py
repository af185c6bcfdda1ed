"""Re-signing another CA's self-issued certificate with one of the mount's issuers (Vault's
sign-self-issued, used to roll a root over). Layer: builtin (pure domain logic; imports cryptography, errors
and the engine's keys and certs modules).

As Go's x509.CreateCertificate does with a parsed certificate as its template, the subject, serial,
validity, public key and extensions are kept, except those that describe the signer (authority key
identifier, AIA and CRL distribution points), which come from the signing issuer.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from strongroom.builtin.secrets.pki.certs import Urls
from strongroom.builtin.secrets.pki.keys import PrivateKey, key_type_of, signature_hash
from strongroom.errors import InvalidRequestError

_SIGNER_EXTENSIONS = (
    ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
    ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    ExtensionOID.CRL_DISTRIBUTION_POINTS,
)
# Go's x509.PublicKeyAlgorithm names, for the refusal of require_matching_certificate_algorithms.
_GO_KEY_NAMES = {"rsa": "RSA", "ec": "ECDSA", "ed25519": "Ed25519"}


def parse_self_issued(text: str) -> x509.Certificate:
    """The one self-issued CA certificate of `text`, or 400 in Vault's words."""
    try:
        found = x509.load_pem_x509_certificates(text.encode())
    except ValueError:
        raise InvalidRequestError("certificate could not be PEM-decoded") from None
    certificate = found[0]
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise InvalidRequestError("given certificate is not a CA certificate")
    if certificate.issuer != certificate.subject:
        raise InvalidRequestError("given certificate is not self-issued")
    return certificate


def sign_self_issued_certificate(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    key: PrivateKey,
    urls: Urls,
    *,
    require_matching_algorithms: bool,
) -> x509.Certificate:
    """`certificate` signed by `issuer`'s `key`."""
    public = certificate.public_key()
    theirs, ours = key_type_of(public), key_type_of(key)  # type: ignore[arg-type]
    if theirs != ours and require_matching_algorithms:
        raise InvalidRequestError(
            f"signing certificate's public key algorithm ({_GO_KEY_NAMES[ours]}) does not match submitted "
            f"certificate's ({_GO_KEY_NAMES[theirs]}), and require_matching_certificate_algorithms is true"
        )
    builder = (
        x509.CertificateBuilder()
        .subject_name(certificate.subject)
        .issuer_name(issuer.subject)
        .public_key(public)
        .serial_number(certificate.serial_number)
        .not_valid_before(certificate.not_valid_before_utc)
        .not_valid_after(certificate.not_valid_after_utc)
    )
    for extension in certificate.extensions:
        if extension.oid not in _SIGNER_EXTENSIONS:
            builder = builder.add_extension(extension.value, extension.critical)
    try:
        authority = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    except x509.ExtensionNotFound:
        authority = x509.SubjectKeyIdentifier.from_public_key(issuer.public_key())
    builder = builder.add_extension(x509.AuthorityKeyIdentifier(authority.digest, None, None), critical=False)
    access = [
        x509.AccessDescription(AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(url))
        for url in urls.ocsp_servers
    ] + [
        x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(url))
        for url in urls.issuing_certificates
    ]
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    if urls.crl_distribution_points:
        points = [
            x509.DistributionPoint([x509.UniformResourceIdentifier(url)], None, None, None)
            for url in urls.crl_distribution_points
        ]
        builder = builder.add_extension(x509.CRLDistributionPoints(points), critical=False)
    return builder.sign(key, signature_hash(key))
