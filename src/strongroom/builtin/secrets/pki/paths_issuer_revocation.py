"""issuer/<ref>/revoke and issuer/<ref>/crl, crl/pem, crl/der: revoking one of the mount's CAs, and each
issuer's own CRL. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. A revoked issuer loses its
issuing-certificates usage for good (an update cannot give it back); when the mount issued its certificate,
it goes on its parent's CRL.
"""

from __future__ import annotations

from dataclasses import replace

from cryptography import x509

from strongroom.builtin.secrets.pki.keys import pem_text, serial_text
from strongroom.builtin.secrets.pki.models import Issuer
from strongroom.builtin.secrets.pki.paths_issuers import find_issuer, issuer_data
from strongroom.builtin.secrets.pki.store import PkiStore, signed_by
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import Clock

SELF_SIGNED_WARNING = (
    "This issuer is a self-signed (potentially root) certificate. This means it may not be considered "
    "revoked if there is not an external, cross-signed variant of this certificate. This issuer's serial "
    "number will not appear on its own CRL."
)
NO_PARENT_WARNING = (
    "This issuer lacks another parent issuer within the mount. This means it will not appear on any other "
    "CRLs and may not be considered revoked by clients. Consider adding this issuer to its issuer's CRL as "
    "well if it is not self-signed."
)
DEFAULT_WARNING = (
    "This issuer is currently configured as the default issuer for this mount; operations such as "
    "certificate issuance may not work until a new default issuer is selected."
)


async def _warnings(store: PkiStore, issuer: Issuer) -> tuple[str, ...]:
    """Vault's warnings after a revocation: where the issuer's revocation will not be seen."""
    ours = x509.load_pem_x509_certificate(issuer.certificate.encode())
    self_signed = other_parent = False
    for candidate in await store.issuers():
        if signed_by(ours, x509.load_pem_x509_certificate(candidate.certificate.encode())):
            if candidate.id == issuer.id:
                self_signed = True
            else:
                other_parent = True
    warnings = [SELF_SIGNED_WARNING] if self_signed else []
    if not other_parent:
        warnings.append(NO_PARENT_WARNING)
    if await store.default_issuer_id() == issuer.id:
        warnings.append(DEFAULT_WARNING)
    return tuple(warnings)


def paths(store: PkiStore, clock: Clock) -> list[Path]:
    """The issuer revocation and per-issuer CRL paths."""

    async def revoke(request: Request, data: FieldData) -> Response | None:
        async with store.lock:
            issuer = await find_issuer(store, data.get("issuer_ref"))
            if issuer.revoked:
                return Response(data=issuer_data(issuer))
            now = clock.now()
            usage = tuple(name for name in issuer.usage if name != "issuing-certificates")
            issuer = replace(issuer, revoked=True, revocation_time=now, usage=usage)
            await store.save_issuer(issuer)
            serial = serial_text(x509.load_pem_x509_certificate(issuer.certificate.encode()).serial_number)
            record = await store.cert(serial)
            if record is not None and record.certificate.strip() == issuer.certificate.strip():
                await store.mark_revoked(replace(record, revocation_time=now))
                parent = await store.issuer(record.issuer_id)
                if parent is not None and parent.id != issuer.id and parent.key_id:
                    await store.rebuild_crl(parent.id)
        return Response(data=issuer_data(issuer), warnings=await _warnings(store, issuer))

    async def crl_der(issuer: Issuer) -> bytes:
        if issuer.key_id:  # signed anew when auto_rebuild says it is due, as crl/ is
            async with store.lock:
                return await store.current_crl(issuer.id)
        stored = await store.crl(issuer.id)
        if stored is None:
            raise InvalidRequestError(f"unable to find CRL for issuer: id:{issuer.id}/ref:{issuer.id}")
        return stored

    async def read_crl(request: Request, data: FieldData) -> Response | None:
        der = await crl_der(await find_issuer(store, data.get("issuer_ref")))
        return Response(data={"crl": pem_text("X509 CRL", der) + "\n"})

    async def read_crl_pem(request: Request, data: FieldData) -> Response | None:
        der = await crl_der(await find_issuer(store, data.get("issuer_ref")))
        body = (pem_text("X509 CRL", der) + "\n").encode()
        return Response(raw_body=body, content_type="application/x-pem-file")

    async def read_crl_der(request: Request, data: FieldData) -> Response | None:
        der = await crl_der(await find_issuer(store, data.get("issuer_ref")))
        return Response(raw_body=der, content_type="application/pkix-crl")

    ref_field = {"issuer_ref": Field(FieldType.STRING, 'An issuer id, name, or "default".', "default")}
    crl_paths = [
        Path(
            pattern,
            fields=ref_field,
            operations={Operation.READ: handler},
            synopsis="Fetch an issuer's Certificate Revocation Log (CRL).",
            description="The issuer's current CRL: JSON, PEM or DER.",
        )
        for pattern, handler in (
            ("issuer/{issuer_ref}/crl", read_crl),
            ("issuer/{issuer_ref}/crl/pem", read_crl_pem),
            ("issuer/{issuer_ref}/crl/der", read_crl_der),
        )
    ]
    return [
        Path(
            "issuer/{issuer_ref}/revoke",
            fields=ref_field,
            operations={Operation.UPDATE: revoke},
            synopsis="Revoke the specified issuer certificate.",
            description="Marks the issuer revoked (it can no longer issue) and lists it on its parent's CRL.",
        ),
        *crl_paths,
    ]
