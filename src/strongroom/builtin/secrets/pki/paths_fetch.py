"""Reading what the CA publishes: ca, ca/pem, ca_chain, cert/<serial>, certs/ (LIST), and config/urls
(the issuers themselves are in paths_issuers). Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. ca, ca/pem, ca_chain and cert/<serial>
need no token (Vault's unauthenticated paths): they hold only public certificates.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from strongroom.builtin.secrets.pki import common
from strongroom.builtin.secrets.pki.certs import Urls, certificate_der, load_certificate
from strongroom.builtin.secrets.pki.keys import normalize_serial, pem_text
from strongroom.builtin.secrets.pki.models import Issuer
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339

NO_DEFAULT = "no default issuer currently configured"
URL_FIELDS = (
    "issuing_certificates",
    "crl_distribution_points",
    "ocsp_servers",
    "delta_crl_distribution_points",
)
_URL_NAMES = {
    "issuing_certificates": "Authority Information Access (AIA) parameter issuing_certificates",
    "crl_distribution_points": "Authority Information Access (AIA) parameter crl_distribution_points",
    "ocsp_servers": "Authority Information Access (AIA) parameter ocsp_servers",
    "delta_crl_distribution_points": (
        "Authority Information Access (AIA) parameter delta_crl_distribution_points"
    ),
}


def urls_data(urls: Urls) -> dict[str, Any]:
    return {
        "crl_distribution_points": list(urls.crl_distribution_points),
        "delta_crl_distribution_points": list(urls.delta_crl_distribution_points),
        "enable_templating": False,
        "issuing_certificates": list(urls.issuing_certificates),
        "ocsp_servers": list(urls.ocsp_servers),
    }


def paths(store: PkiStore) -> list[Path]:
    """The read paths of the CA's public material, and the issuer and URL configuration."""

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
        return Response(data={"keys": await store.cert_serials()})

    async def read_urls(request: Request, data: FieldData) -> Response | None:
        return Response(data=urls_data(await store.urls()))

    async def write_urls(request: Request, data: FieldData) -> Response | None:
        current = await store.urls()
        values: dict[str, tuple[str, ...]] = {}
        for name in URL_FIELDS:
            given, supplied = data.get_ok(name)
            values[name] = tuple(given) if supplied else getattr(current, name)
            for url in values[name]:
                parts = urlsplit(url)
                if not parts.scheme or not parts.netloc:
                    raise InvalidRequestError(f"invalid URL found in {_URL_NAMES[name]}: {url}")
        urls = Urls(**values)
        await store.save_urls(urls)
        return Response(data=urls_data(urls))

    url_fields = {
        name: Field(
            FieldType.COMMA_STRING_LIST, f"Comma-separated list of URLs for {name.replace('_', ' ')}."
        )
        for name in URL_FIELDS
    }
    url_fields["enable_templating"] = Field(FieldType.BOOL, "Not supported.")
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
            operations={Operation.LIST: list_certs},
            synopsis="Fetch a list of all issued certificates.",
            description="Serials of the stored certificates, colon-separated hex.",
        ),
        Path(
            "config/urls",
            fields=url_fields,
            operations={Operation.READ: read_urls, Operation.UPDATE: write_urls},
            synopsis="Set the URLs for the issuing CA, CRL distribution points, and OCSP servers.",
            description="The URLs are embedded in certificates issued after the change.",
        ),
    ]
