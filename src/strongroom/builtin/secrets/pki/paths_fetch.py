"""Reading what the CA publishes: ca, ca/pem, ca_chain, cert/<serial> and certs/ (LIST); the issuers
themselves are in paths_issuers, config/urls in paths_urls. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. ca, ca/pem, ca_chain and cert/<serial>
need no token (Vault's unauthenticated paths): they hold only public certificates.
"""

from __future__ import annotations

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.certs import certificate_der, load_certificate
from strongroom.builtin.secrets.pki.keys import normalize_serial, pem_text
from strongroom.builtin.secrets.pki.models import Issuer
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339

NO_DEFAULT = "no default issuer currently configured"


def paths(store: PkiStore) -> list[Path]:
    """The read paths of the CA's public material."""

    async def default_issuer() -> Issuer | None:
        return await store.resolve_issuer("default")

    async def ca_der(request: Request, data: FieldData) -> Response | None:
        issuer = await default_issuer()
        if issuer is None:
            return common.NO_CONTENT
        der = certificate_der(load_certificate(issuer.certificate))
        return Response(raw_body=der, content_type="application/pkix-cert")

    async def ca_pem(request: Request, data: FieldData) -> Response | None:
        issuer = await default_issuer()
        if issuer is None:
            return common.NO_CONTENT
        body = issuer.certificate.strip().encode()
        return Response(raw_body=body, content_type="application/pem-certificate-chain")

    async def ca_chain(request: Request, data: FieldData) -> Response | None:
        issuer = await default_issuer()
        if issuer is None:
            return common.NO_CONTENT
        body = "\n".join(pem.strip() for pem in issuer.ca_chain).encode()
        return Response(raw_body=body, content_type="application/pkix-cert")

    async def read_cert(request: Request, data: FieldData) -> Response | None:
        given = data.get("serial")
        serial = given if given == "delta-crl" else normalize_serial(given)
        unrevoked = {"revocation_time": 0, "revocation_time_rfc3339": ""}
        if serial in ("ca", "ca_chain", "crl", "delta-crl"):
            issuer = await default_issuer()
            if issuer is None:
                raise InvalidRequestError(NO_DEFAULT)
            if serial in ("crl", "delta-crl"):
                async with store.lock:
                    der = await (store.current_crl if serial == "crl" else store.current_delta_crl)(issuer.id)
                return Response(data={"certificate": pem_text("X509 CRL", der), **unrevoked})
            answer = {"certificate": issuer.certificate.strip(), **unrevoked}
            if serial == "ca_chain":
                answer["ca_chain"] = "\n".join(pem.strip() for pem in issuer.ca_chain)
            return Response(data=dict(sorted(answer.items())))
        record = await store.cert(serial)
        if record is None:
            return None
        if not record.revocation_time:
            return Response(data={"certificate": record.certificate, **unrevoked})
        return Response(
            data={
                "certificate": record.certificate,
                "issuer_id": record.issuer_id,
                "revocation_time": int(record.revocation_time),
                "revocation_time_rfc3339": rfc3339(record.revocation_time),
            }
        )

    async def list_certs(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": common.serial_page(await store.cert_serials(), data)})

    return [
        Path("ca", operations={Operation.READ: ca_der}, synopsis="Fetch the CA certificate (DER)."),
        Path("ca/pem", operations={Operation.READ: ca_pem}, synopsis="Fetch the CA certificate (PEM)."),
        Path("ca_chain", operations={Operation.READ: ca_chain}, synopsis="Fetch the CA chain (PEM)."),
        Path(
            "cert/{serial}",
            fields={
                "serial": Field(FieldType.STRING, 'Certificate serial number, or "ca", "ca_chain", "crl".')
            },
            operations={Operation.READ: read_cert},
            synopsis="Fetch a CA, CRL, CA Chain, or non-revoked certificate.",
            description="Serials may use colons or hyphens.",
        ),
        Path(
            "certs/?",
            fields=common.PAGE_FIELDS,
            operations={Operation.LIST: list_certs},
            synopsis="Fetch a list of all issued certificates.",
            description="Serials of the stored certificates, colon-separated hex.",
        ),
    ]
