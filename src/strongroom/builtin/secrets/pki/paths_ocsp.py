"""ocsp (POST, a DER body) and ocsp/<base64 request> (GET): the mount's OCSP responder. Layer: builtin.

Imports framework, logical, util and the engine's modules. Both paths need no token (Vault's unauthenticated
paths). Every answer, refusals included, is an OCSP response (application/ocsp-response), never JSON: an
OCSP client reads nothing else.
"""

from __future__ import annotations

from urllib.parse import unquote

from cryptography.exceptions import UnsupportedAlgorithm

from strongroom.builtin.secrets.pki import ocsp
from strongroom.builtin.secrets.pki.certs import load_certificate
from strongroom.builtin.secrets.pki.keys import serial_text
from strongroom.builtin.secrets.pki.store import PkiStore, crl_seconds
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import Clock

SYNOPSIS = "Query a certificate's revocation status through OCSP"
DESCRIPTION = "This endpoint expects DER encoded OCSP requests and returns DER encoded OCSP responses"


def paths(store: PkiStore, clock: Clock) -> list[Path]:
    """The OCSP responder's paths."""

    async def respond(der: bytes | None) -> ocsp.Answer:
        config = await store.crl_config()
        if config.ocsp_disable:
            return ocsp.UNAUTHORIZED
        request = ocsp.parse_request(der or b"")
        if request is None:
            return ocsp.MALFORMED
        revoked = (await store.revoked_entries()).get(serial_text(request.serial_number))
        status = ocsp.Status.REVOKED if revoked else ocsp.Status.GOOD
        revoked_issuer, revoked_at = revoked or ("", 0.0)
        issuers = await store.issuers()
        if revoked_issuer:
            issuers = [issuer for issuer in issuers if issuer.id == revoked_issuer]
        expiry = crl_seconds(config.ocsp_expiry)
        try:
            for issuer in issuers:
                if issuer.key_id and ocsp.matches(request, load_certificate(issuer.certificate)):
                    signing = await store.signing_issuer(issuer.id)
                    return ocsp.sign_response(
                        request,
                        issuer=signing.certificate,
                        key=signing.key,
                        status=status,
                        revoked_at=revoked_at,
                        now=clock.now(),
                        expiry=expiry,
                    )
        except UnsupportedAlgorithm:
            return ocsp.INTERNAL_ERROR
        default = await store.resolve_issuer("default")
        if default is None or not default.key_id:
            return ocsp.UNAUTHORIZED
        signing = await store.signing_issuer(default.id)
        return ocsp.sign_response(
            request,
            issuer=signing.certificate,
            key=signing.key,
            status=ocsp.Status.UNKNOWN,
            revoked_at=0.0,
            now=clock.now(),
            expiry=expiry,
        )

    def answered(answer: ocsp.Answer) -> Response:
        return Response(status=answer.status, raw_body=answer.body, content_type=ocsp.CONTENT_TYPE)

    async def get(request: Request, data: FieldData) -> Response | None:
        return answered(await respond(ocsp.decode_get(unquote(data.get("req")))))

    async def post(request: Request, data: FieldData) -> Response | None:
        return answered(await respond(request.raw_body))

    return [
        Path(
            "ocsp/{req*}",
            fields={"req": Field(FieldType.STRING, "base-64 encoded ocsp request")},
            operations={Operation.READ: get},
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
        ),
        Path("ocsp", operations={Operation.UPDATE: post}, synopsis=SYNOPSIS, description=DESCRIPTION),
    ]
