"""`crls/<name>` and LIST `crls/`: certificate revocation lists whose serials no login chain may contain.

Layer: builtin. Imports cryptography, errors, framework, logical and this package's models.
Vault's behaviour (path_crls.go): a CRL is given as PEM or DER in `crl` and stored as the set of its revoked
serial numbers (its expiry is ignored); a read shows {"serials": {"<decimal serial>": {}}}; reading or
deleting one that does not exist answers 400 "no such CRL <name>". Fetching a CRL from a distribution point
(`url`) is refused here.
"""

from __future__ import annotations

from cryptography import x509

from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response, Storage, get_json, put_json

CRL_PREFIX = "crls/"

FIELDS = {
    "name": Field(FieldType.LOWERCASE_STRING, "The name of the certificate"),
    "crl": Field(
        FieldType.STRING,
        "The public CRL that should be trusted to attest to certificates' validity statuses. May be DER or "
        "PEM encoded. Note: the expiration time is ignored; if the CRL is no longer valid, delete it using "
        "the same name as specified here.",
    ),
    "url": Field(FieldType.STRING, "The URL of a CRL distribution point; not supported by this server."),
}


def _parse(text: str) -> x509.CertificateRevocationList:
    data = text.encode("latin-1", errors="replace")
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise InvalidRequestError(f"failed to parse CRL: {exc}") from None


async def revoked_serials(storage: Storage) -> set[int]:
    """Every serial that any stored CRL revokes."""
    serials: set[int] = set()
    for key in await storage.list(CRL_PREFIX):
        record = await get_json(storage, CRL_PREFIX + key)
        if record is not None:
            serials.update(int(serial) for serial in record.get("serials") or {})
    return serials


def paths() -> list[Path]:
    """The `crls/` and `crls/<name>` declarations."""

    async def write(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        name: str = fields.get("name")
        crl, given = fields.get_ok("crl")
        if given:
            serials: dict[str, dict[str, str]] = {str(r.serial_number): {} for r in _parse(crl)}
            await put_json(request.storage, CRL_PREFIX + name, {"serials": serials})
            return None
        if fields.get_ok("url")[1]:
            raise InvalidRequestError(
                "fetching a CRL from a distribution point is not supported by this server"
            )
        raise InvalidRequestError("one of 'crl' or 'url' must be provided")

    async def read(request: Request, fields: FieldData) -> Response:
        assert request.storage is not None
        name: str = fields.get("name")
        record = await get_json(request.storage, CRL_PREFIX + name)
        if record is None:
            raise InvalidRequestError(f"no such CRL {name}")
        return Response(data={"serials": record["serials"]} if record.get("serials") else {})

    async def delete(request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        name: str = fields.get("name")
        if await get_json(request.storage, CRL_PREFIX + name) is None:
            raise InvalidRequestError(f"no such CRL {name}")
        await request.storage.delete(CRL_PREFIX + name)
        return None

    async def list_crls(request: Request, _fields: FieldData) -> Response:
        assert request.storage is not None
        keys = [key for key in await request.storage.list(CRL_PREFIX) if not key.endswith("/")]
        return Response(data={"keys": keys} if keys else {})

    return [
        Path(
            "crls/?",
            operations={Operation.LIST: list_crls},
            synopsis="Manage Certificate Revocation Lists checked during authentication.",
            description="This endpoint lists the CRLs.",
        ),
        Path(
            "crls/{name}",
            fields=FIELDS,
            operations={Operation.READ: read, Operation.UPDATE: write, Operation.DELETE: delete},
            synopsis="Manage Certificate Revocation Lists checked during authentication.",
            description="A certificate in a login's chain whose serial a CRL lists is not trusted.",
        ),
    ]
