"""cert/<serial>/raw and cert/<serial>/raw/pem: one certificate as a file (DER, or PEM), for clients that
fetch certificates without parsing JSON. Layer: builtin.

Imports framework, logical and the engine's modules. Both need no token (Vault's "cert/*"). As in Vault,
"ca" names the default issuer's certificate, and a serial the mount never stored is an empty 204.
"""

from __future__ import annotations

import re

from strongroom.builtin.secrets.pki.certs import certificate_der, load_certificate
from strongroom.builtin.secrets.pki.keys import normalize_serial
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Handler, Path
from strongroom.logical import Operation, Request, Response

# Vault's pattern for these paths: hex digits with colons or hyphens ("ca" is hex too).
SERIAL = re.compile(r"[0-9A-Fa-f:-]+")


def paths(store: PkiStore) -> list[Path]:
    """The raw certificate paths."""

    async def certificate_pem(serial: str) -> str | None:
        if serial == "ca":
            issuer = await store.resolve_issuer("default")
            return None if issuer is None else issuer.certificate
        record = await store.cert(normalize_serial(serial))
        return None if record is None else record.certificate

    def fetch(*, pem: bool) -> Handler:
        async def handler(request: Request, data: FieldData) -> Response | None:
            serial: str = data.get("serial")
            if not SERIAL.fullmatch(serial):
                raise NotFoundError("unsupported path")  # Vault's router refuses it, unwrapped
            found = await certificate_pem(serial)
            if pem:
                body = b"" if found is None else found.strip().encode()
                content_type = "application/pem-certificate-chain"
            else:
                body = b"" if found is None else certificate_der(load_certificate(found))
                content_type = "application/pkix-cert"
            return Response(status=200 if body else 204, raw_body=body, content_type=content_type)

        return handler

    serial_field = {"serial": Field(FieldType.STRING, 'Certificate serial number, or "ca".')}
    return [
        Path(
            "cert/{serial}/raw",
            fields=serial_field,
            operations={Operation.READ: fetch(pem=False)},
            synopsis="Fetch a certificate (DER).",
        ),
        Path(
            "cert/{serial}/raw/pem",
            fields=serial_field,
            operations={Operation.READ: fetch(pem=True)},
            synopsis="Fetch a certificate (PEM).",
        ),
    ]
