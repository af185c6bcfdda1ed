"""OCSP (RFC 6960) for the pki engine: reading a request, matching it to an issuer, signing the answer, as
Vault's path_ocsp.go does. Layer: builtin (pure domain logic; imports cryptography and the engine's keys).

Vault's answers, kept here: the status of a serial is "revoked" when the mount revoked it and "good"
otherwise; a request for an issuer the mount does not have is answered "unknown", signed by the default
issuer; the responder is named by the issuer's subject; no certificates and no nonce are attached; the
response is valid for config/crl's ocsp_expiry (no nextUpdate when it is 0).
"""

from __future__ import annotations

import base64
import binascii
import datetime
from dataclasses import dataclass
from enum import Enum

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509 import ocsp

from strongroom.builtin.secrets.pki.keys import PrivateKey, signature_hash

CONTENT_TYPE = "application/ocsp-response"
# Vault refuses requests this large or larger (a simple request is 87 bytes).
MAXIMUM_REQUEST_SIZE = 2048
# The CertID hashes Go's ocsp.ParseRequest knows; a request naming another is malformed.
_REQUEST_HASHES = (hashes.SHA1, hashes.SHA256, hashes.SHA384, hashes.SHA512)


class Status(Enum):
    """The certificate status an answer carries."""

    GOOD = ocsp.OCSPCertStatus.GOOD
    REVOKED = ocsp.OCSPCertStatus.REVOKED
    UNKNOWN = ocsp.OCSPCertStatus.UNKNOWN


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer of the responder: status code and DER body."""

    status: int
    body: bytes


def _unsuccessful(http_status: int, status: ocsp.OCSPResponseStatus) -> Answer:
    return Answer(http_status, ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER))


UNAUTHORIZED = _unsuccessful(401, ocsp.OCSPResponseStatus.UNAUTHORIZED)
MALFORMED = _unsuccessful(400, ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
INTERNAL_ERROR = _unsuccessful(500, ocsp.OCSPResponseStatus.INTERNAL_ERROR)


def parse_request(der: bytes) -> ocsp.OCSPRequest | None:
    """The one request in `der` (Go's ocsp.ParseRequest); None when it is malformed or too large."""
    if not der or len(der) >= MAXIMUM_REQUEST_SIZE:
        return None
    try:
        request = ocsp.load_der_ocsp_request(der)
        # A negative serial (RFC 5280 wants them positive) is refused: OpenBao echoes it in a signed
        # answer, which cryptography cannot build.
        if request.serial_number < 0 or not isinstance(request.hash_algorithm, _REQUEST_HASHES):
            return None
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return None
    return request


def decode_get(text: str) -> bytes | None:
    """The DER of a GET request's base64 path segment; None when absent, too long or not base64."""
    if not text or len(text) >= MAXIMUM_REQUEST_SIZE:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _key_bits(certificate: x509.Certificate) -> bytes:
    """The subjectPublicKey BIT STRING's content (RFC 6960's issuerKeyHash input), read from the SPKI."""
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    body = _der_value(spki, 0)[0]
    _, after_algorithm = _der_value(body, 0)
    bits, _ = _der_value(body, after_algorithm)
    return bits[1:]  # the first octet counts the unused bits


def _der_value(data: bytes, offset: int) -> tuple[bytes, int]:
    """(the value of the DER element at `offset`, the offset after it)."""
    length = data[offset + 1]
    start = offset + 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    return data[start : start + length], start + length


def matches(request: ocsp.OCSPRequest, issuer: x509.Certificate) -> bool:
    """Whether the request names `issuer` by its subject's and key's hashes (doesRequestMatchIssuer)."""
    name_hash = hashes.Hash(request.hash_algorithm)
    name_hash.update(issuer.subject.public_bytes())
    key_hash = hashes.Hash(request.hash_algorithm)
    key_hash.update(_key_bits(issuer))
    return name_hash.finalize() == request.issuer_name_hash and key_hash.finalize() == request.issuer_key_hash


def sign_response(
    request: ocsp.OCSPRequest,
    *,
    issuer: x509.Certificate,
    key: PrivateKey,
    status: Status,
    revoked_at: float,
    now: float,
    expiry: float,
) -> Answer:
    """A successful answer about the request's serial, signed by `issuer`'s key."""
    this_update = datetime.datetime.fromtimestamp(int(now), datetime.UTC)
    next_update = this_update + datetime.timedelta(seconds=expiry) if expiry > 0 else None
    revoked = status is Status.REVOKED
    builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
        issuer_name_hash=request.issuer_name_hash,
        issuer_key_hash=request.issuer_key_hash,
        serial_number=request.serial_number,
        algorithm=request.hash_algorithm,
        cert_status=status.value,
        this_update=this_update,
        next_update=next_update,
        revocation_time=datetime.datetime.fromtimestamp(int(revoked_at), datetime.UTC) if revoked else None,
        revocation_reason=x509.ReasonFlags.unspecified if revoked else None,
    )
    builder = builder.responder_id(ocsp.OCSPResponderEncoding.NAME, issuer)
    response = builder.sign(key, signature_hash(key))
    return Answer(200, response.public_bytes(Encoding.DER))
