"""revoke, revoke-with-key and certs/revoked (LIST): revoking issued certificates. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. A certificate is named by its serial or
given as PEM; revoke-with-key also proves possession of its private key (so its holder may revoke it).
"""

from __future__ import annotations

import hmac

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.certs import load_certificate
from strongroom.builtin.secrets.pki.keys import (
    PrivateKey,
    PublicKey,
    key_type_of,
    normalize_serial,
    public_key_der,
    serial_text,
)
from strongroom.builtin.secrets.pki.models import CertRecord
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import Clock, rfc3339

SERIAL_REQUIRED = "The serial number or certificate to revoke must be provided."
BOTH_GIVEN = "Must provide either the certificate or the serial to revoke; not both."
KEY_REQUIRED = "Must have private key to revoke via the /revoke-with-key path."
KEY_TOO_SHORT = (
    "Provided data for private_key was too short; perhaps a path was passed to the API rather than the "
    "contents of a PEM file?"
)
KEY_NO_PEM = "provided key PEM block contained no data or failed to parse"
KEY_TYPE_MISMATCH = "provided private key type does not match certificate's public key type"
KEY_MISMATCH = "provided private key does not match certificate's public key"
NOT_OURS = (
    "unable to verify signature on presented cert from any present issuer in this mount; certificates from "
    "previous CAs will need to have their issuing CA and key re-imported if revocation is necessary"
)
UNEQUAL_CERT = (
    "certificate with same serial but unequal value already present in this cluster's storage; refusing to "
    "revoke"
)


def _check_key(pem: str, certificate: x509.Certificate) -> None:
    """Vault's validatePrivateKeyMatchesCert: the PEM key's public half must be the certificate's."""
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError):
        raise InvalidRequestError(KEY_NO_PEM) from None
    if not isinstance(key, PrivateKey):
        raise InvalidRequestError(KEY_TYPE_MISMATCH)
    ours = certificate.public_key()
    if not isinstance(ours, PublicKey) or key_type_of(key) != key_type_of(ours):
        raise InvalidRequestError(KEY_TYPE_MISMATCH)
    if not hmac.compare_digest(public_key_der(key), public_key_der(ours)):
        raise InvalidRequestError(KEY_MISMATCH)


def paths(store: PkiStore, clock: Clock) -> list[Path]:
    """The revocation paths."""

    async def _adopt(certificate: x509.Certificate) -> CertRecord:
        """A certificate this mount issued without storing it (no_store): stored now, so it can be revoked."""
        for issuer in await store.issuers():
            try:
                certificate.verify_directly_issued_by(load_certificate(issuer.certificate))
            except (ValueError, TypeError, InvalidSignature):
                continue
            return await common.remember(store, certificate, issuer.id)
        raise InvalidRequestError(NOT_OURS)

    async def revoke(request: Request, data: FieldData) -> Response | None:
        serial_given, has_serial = data.get_ok("serial_number")
        pem, has_cert = data.get_ok("certificate")
        if not has_serial and not has_cert:
            raise InvalidRequestError(SERIAL_REQUIRED)
        if has_serial and has_cert:
            raise InvalidRequestError(BOTH_GIVEN)
        key_pem = ""
        if request.path == "revoke-with-key":
            key_pem, has_key = data.get_ok("private_key")
            if not has_key:
                raise InvalidRequestError(KEY_REQUIRED)
            if len(key_pem) < 64:
                raise InvalidRequestError(KEY_TOO_SHORT)
        if has_cert:
            certificate = load_certificate(pem)
            serial = serial_text(certificate.serial_number)
            record = await store.cert(serial)
            if record is not None and load_certificate(record.certificate) != certificate:
                raise InvalidRequestError(UNEQUAL_CERT)
            if record is None:
                record = await _adopt(certificate)
        else:
            serial = normalize_serial(serial_given)
            if not serial:
                raise InvalidRequestError("The serial number must be provided")
            record = await store.cert(serial)
        if record is None:
            raise InvalidRequestError(f"certificate with serial {serial} not found.")
        if key_pem:
            _check_key(key_pem, load_certificate(record.certificate))
        outcome = await store.revoke(serial, clock.now())
        if outcome.record is None:
            return Response(warnings=outcome.warnings)
        return Response(
            data={
                "revocation_time": int(outcome.record.revocation_time),
                "revocation_time_rfc3339": rfc3339(outcome.record.revocation_time),
                "state": "revoked",
            },
            warnings=outcome.warnings,
        )

    async def list_revoked(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": common.serial_page(await store.revoked_serials(), data)})

    revoke_fields = {
        "serial_number": Field(
            FieldType.STRING, "Certificate serial number, in colon- or hyphen-separated octal"
        ),
        "certificate": Field(
            FieldType.STRING,
            "Certificate to revoke in PEM format; must be signed by an issuer in this mount.",
        ),
    }
    return [
        Path(
            "revoke",
            fields=revoke_fields,
            operations={Operation.UPDATE: revoke},
            synopsis="Revoke a certificate by serial number or with explicit certificate.",
            description="Adds the certificate to its issuer's CRL.",
        ),
        Path(
            "revoke-with-key",
            fields={
                **revoke_fields,
                "private_key": Field(FieldType.STRING, "Key to use to verify revocation permission; PEM."),
            },
            operations={Operation.UPDATE: revoke},
            synopsis="Revoke a certificate by serial number or with explicit certificate.",
            description="As revoke, when the request also holds the certificate's private key.",
        ),
        Path(
            "certs/revoked/?",
            fields=common.PAGE_FIELDS,
            operations={Operation.LIST: list_revoked},
            synopsis="List all revoked serial numbers within the local cluster",
            description="Serials of the revoked certificates, colon-separated hex.",
        ),
    ]
