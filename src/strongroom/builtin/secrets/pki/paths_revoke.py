"""revoke, crl, crl/pem, crl/rotate, tidy and tidy-status: revocation and the cleanup of expired
certificates. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. crl and crl/pem need no token (Vault's
unauthenticated paths). Tidy runs to completion before it answers (Vault runs it in the background and
answers 202 at once; the answer here is the same 202, and tidy-status is already final).
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.pki.certs import load_certificate
from strongroom.builtin.secrets.pki.common import NO_CONTENT
from strongroom.builtin.secrets.pki.keys import normalize_serial, pem_text, serial_text
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import Clock, rfc3339

SERIAL_REQUIRED = "The serial number or certificate to revoke must be provided."
TIDY_STARTED = (
    "Tidy operation successfully started. Any information from the operation will be printed to OpenBao's "
    "server logs."
)
TIDY_NOTHING = (
    "Manual tidy requested but no tidy operations were set. Enable at least one tidy operation to be run "
    "(tidy_cert_store / tidy_revoked_certs / tidy_invalid_certs / tidy_revoked_cert_issuer_associations / "
    "tidy_expired_issuers / tidy_move_legacy_ca_bundle / tidy_acme)."
)
DEFAULT_SAFETY_BUFFER = 72 * 3600


def paths(store: PkiStore, clock: Clock) -> list[Path]:
    """The revocation, CRL and tidy paths."""
    status: dict[str, Any] = {"state": "Inactive"}

    async def revoke(request: Request, data: FieldData) -> Response | None:
        serial = normalize_serial(data.get("serial_number"))
        pem = data.get("certificate")
        if not serial and pem:
            serial = serial_text(load_certificate(pem).serial_number)
        if not serial:
            raise InvalidRequestError(SERIAL_REQUIRED)
        record = await store.revoke(serial, clock.now())
        return Response(
            data={
                "revocation_time": int(record.revocation_time),
                "revocation_time_rfc3339": rfc3339(record.revocation_time),
                "state": "revoked",
            }
        )

    async def default_crl() -> bytes | None:
        issuer = await store.resolve_issuer("default")
        return None if issuer is None else await store.current_crl(issuer.id)

    async def crl_der(request: Request, data: FieldData) -> Response | None:
        der = await default_crl()
        return NO_CONTENT if der is None else Response(raw_body=der, content_type="application/pkix-crl")

    async def crl_pem(request: Request, data: FieldData) -> Response | None:
        der = await default_crl()
        if der is None:
            return NO_CONTENT
        return Response(raw_body=pem_text("X509 CRL", der).encode(), content_type="application/x-pem-file")

    async def rotate(request: Request, data: FieldData) -> Response | None:
        async with store.lock:
            for issuer in await store.issuers():
                if issuer.key_id:
                    await store.rebuild_crl(issuer.id)
        return Response(data={"success": True})

    async def tidy(request: Request, data: FieldData) -> Response | None:
        cert_store, revoked = data.get("tidy_cert_store"), data.get("tidy_revoked_certs")
        if not cert_store and not revoked:
            return Response(warnings=(TIDY_NOTHING,), status=202)
        buffer = data.get("safety_buffer")
        started = clock.now()
        deleted = revoked_deleted = 0
        async with store.lock:
            cutoff = started - buffer
            revoked_serials = set(await store.revoked_serials())
            touched: set[str] = set()
            for serial in await store.cert_serials():
                record = await store.cert(serial)
                if record is None or record.not_after > cutoff:
                    continue
                if serial in revoked_serials:
                    if not revoked:
                        continue
                    await store.unmark_revoked(serial)
                    touched.add(record.issuer_id)
                    revoked_deleted += 1
                await store.delete_cert(serial)
                deleted += 1
            for issuer_id in touched:
                if await store.issuer(issuer_id) is not None:
                    await store.rebuild_crl(issuer_id)
        status.clear()
        status.update(
            state="Finished",
            error=None,
            message=None,
            safety_buffer=buffer,
            tidy_cert_store=cert_store,
            tidy_revoked_certs=revoked,
            cert_store_deleted_count=deleted,
            revoked_cert_deleted_count=revoked_deleted,
            time_started=rfc3339(started),
            time_finished=rfc3339(clock.now()),
        )
        return Response(warnings=(TIDY_STARTED,), status=202)

    async def tidy_status(request: Request, data: FieldData) -> Response | None:
        return Response(data=dict(sorted(status.items())))

    return [
        Path(
            "revoke",
            fields={
                "serial_number": Field(
                    FieldType.STRING, "Certificate serial number, colon- or hyphen-separated."
                ),
                "certificate": Field(
                    FieldType.STRING, "The certificate to revoke (PEM), instead of its serial."
                ),
            },
            operations={Operation.UPDATE: revoke},
            synopsis="Revoke a certificate by serial number or with explicit certificate.",
            description="Adds the certificate to its issuer's CRL, which is signed anew.",
        ),
        Path("crl", operations={Operation.READ: crl_der}, synopsis="Fetch the CRL (DER)."),
        Path("crl/pem", operations={Operation.READ: crl_pem}, synopsis="Fetch the CRL (PEM)."),
        Path(
            "crl/rotate",
            operations={Operation.READ: rotate},
            synopsis="Force a rebuild of the CRL.",
            description="Signs a new CRL for every issuer, with the next CRL number.",
        ),
        Path(
            "tidy",
            fields={
                "tidy_cert_store": Field(FieldType.BOOL, "Delete expired certificates from storage."),
                "tidy_revoked_certs": Field(
                    FieldType.BOOL, "Delete expired revoked certificates (and from the CRL)."
                ),
                "safety_buffer": Field(
                    FieldType.DURATION,
                    "How long past its expiry a certificate is kept.",
                    DEFAULT_SAFETY_BUFFER,
                ),
            },
            operations={Operation.UPDATE: tidy},
            synopsis="Tidy up the backend by removing expired certificates, revocation information, or both.",
            description="Removes certificates that expired more than safety_buffer ago.",
        ),
        Path(
            "tidy-status",
            operations={Operation.READ: tidy_status},
            synopsis="Returns the status of the tidy operation.",
            description="The outcome of the last tidy.",
        ),
    ]
