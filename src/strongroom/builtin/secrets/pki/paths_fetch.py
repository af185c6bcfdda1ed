"""Reading what the CA publishes: ca, ca/pem, ca_chain, cert/<serial>, certs/ (LIST), issuers/ (LIST),
issuer/<ref> and config/issuers. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. ca, ca/pem, ca_chain and cert/<serial>
need no token (Vault's unauthenticated paths): they hold only public certificates.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

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
ISSUER_USAGE = "crl-signing,issuing-certificates,ocsp-signing,read-only"


def _revocation_algorithm(certificate: x509.Certificate) -> str:
    key = certificate.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "SHA256WithRSA"
    if isinstance(key, ec.EllipticCurvePublicKey):
        return {256: "ECDSAWithSHA256", 384: "ECDSAWithSHA384"}.get(key.curve.key_size, "ECDSAWithSHA512")
    return "PureEd25519"


def issuer_data(issuer: Issuer) -> dict[str, Any]:
    """An issuer as issuer/<ref> reads it."""
    return {
        "ca_chain": list(issuer.ca_chain),
        "certificate": issuer.certificate,
        "crl_distribution_points": [],
        "delta_crl_distribution_points": [],
        "issuer_id": issuer.id,
        "issuer_name": issuer.name,
        "issuing_certificates": [],
        "key_id": issuer.key_id,
        "leaf_not_after_behavior": issuer.leaf_not_after_behavior,
        "manual_chain": None,
        "ocsp_servers": [],
        "revocation_signature_algorithm": _revocation_algorithm(load_certificate(issuer.certificate)),
        "revoked": False,
        "usage": ISSUER_USAGE,
    }


def paths(store: PkiStore) -> list[Path]:
    """The read paths of the CA's public material, and the issuer configuration."""

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

    async def list_issuers(request: Request, data: FieldData) -> Response | None:
        issuers = await store.issuers()
        default_id = await store.default_issuer_id()
        info = {issuer.id: common.issuer_summary(issuer, issuer.id == default_id) for issuer in issuers}
        return Response(data={"keys": [issuer.id for issuer in issuers], "key_info": info})

    async def read_issuer(request: Request, data: FieldData) -> Response | None:
        ref = data.get("ref")
        issuer = await store.resolve_issuer(ref)
        if issuer is None:
            raise InvalidRequestError(
                NO_DEFAULT if ref == "default" else f"unable to find PKI issuer for reference: {ref}"
            )
        return Response(data=issuer_data(issuer))

    async def read_issuers_config(request: Request, data: FieldData) -> Response | None:
        return Response(
            data={"default": await store.default_issuer_id(), "default_follows_latest_issuer": False}
        )

    async def write_issuers_config(request: Request, data: FieldData) -> Response | None:
        ref = data.get("default")
        async with store.lock:
            issuer = await store.resolve_issuer(ref) if ref != "default" else None
            if issuer is None:
                raise InvalidRequestError(f"unable to find PKI issuer for reference: {ref}")
            await store.set_default_issuer(issuer.id)
        return Response(data={"default": issuer.id, "default_follows_latest_issuer": False})

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
            "issuers/?",
            operations={Operation.LIST: list_issuers},
            synopsis="Fetch a list of CA certificates.",
            description="Issuer ids, with each issuer's name, key and serial under key_info.",
        ),
        Path(
            "issuer/{ref}",
            fields={"ref": Field(FieldType.STRING, 'An issuer id, name, or "default".')},
            operations={Operation.READ: read_issuer},
            synopsis="Fetch a single issuer certificate.",
            description="The issuer's certificate, chain and settings.",
        ),
        Path(
            "config/issuers",
            fields={"default": Field(FieldType.STRING, "Reference to the default issuer.")},
            operations={Operation.READ: read_issuers_config, Operation.UPDATE: write_issuers_config},
            synopsis="Read and set the default issuer certificate for signing.",
            description='The issuer used when a role\'s issuer_ref is "default".',
        ),
    ]
