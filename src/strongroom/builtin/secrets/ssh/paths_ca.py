"""config/ca (generate or import the CA key, read, delete) and the unauthenticated public_key.

Layer: builtin. Imports framework, logical, errors, util and the engine's keys, models and store.
Vault's SSH engine now keeps several issuers; strongroom keeps the one config/ca sets (Vault's default
issuer) and answers in the issuer's shape (issuer_id, issuer_name, public_key).
"""

from __future__ import annotations

from strongroom.builtin.secrets.ssh import keys, store
from strongroom.builtin.secrets.ssh.common import NO_CA, storage_of, user_errors
from strongroom.builtin.secrets.ssh.keys import SshKeyError
from strongroom.builtin.secrets.ssh.models import CaIssuer
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.ids import new_uuid

CA_FIELDS = {
    "issuer_name": Field(FieldType.STRING, "Optional issuer name (not used by config/ca)."),
    "private_key": Field(
        FieldType.STRING, "Private half of the SSH key that will be used to sign certificates."
    ),
    "public_key": Field(
        FieldType.STRING, "Public half of the SSH key that will be used to sign certificates."
    ),
    "generate_signing_key": Field(
        FieldType.BOOL, "Generate the SSH key pair here rather than use private_key and public_key.", True
    ),
    "key_type": Field(
        FieldType.STRING,
        "The key type to generate: an OpenSSH type (ssh-rsa, ecdsa-sha2-nistp256/384/521, ssh-ed25519) "
        "or an algorithm (rsa, ec, ed25519).",
        "ssh-rsa",
    ),
    "key_bits": Field(FieldType.INT, "The RSA size, or the NIST P-curve of key_type=ec (256, 384, 521).", 0),
}


def _key_pair(data: FieldData) -> tuple[str, str, bool]:
    """(public line, private PEM, generated) as config/ca's fields ask, with Vault's refusals."""
    public: str = data.get("public_key")
    private: str = data.get("private_key")
    generate, given = data.get_ok("generate_signing_key")
    if given and generate:
        if public or private:
            raise SshKeyError(
                "public_key and private_key must not be set when generate_signing_key is set to true"
            )
    elif public and private:
        try:
            keys.parse_public(public)
        except SshKeyError as exc:
            raise SshKeyError(f"could not parse public_key provided value: {exc}") from None
        try:
            keys.parse_private(private)
        except SshKeyError as exc:
            raise SshKeyError(f"could not parse private_key provided value: {exc}") from None
        return public, private, False
    elif public or private:
        raise SshKeyError(
            "only one of public_key and private_key set; both must be set to use, or both must be blank to "
            "auto-generate"
        )
    elif given:
        raise SshKeyError("missing public_key")
    pair = keys.generate(data.get("key_type"), data.get("key_bits"))
    return pair.public_key, pair.private_key, True


def _issuer_view(issuer: CaIssuer) -> dict[str, str]:
    return {"issuer_id": issuer.issuer_id, "issuer_name": "", "public_key": issuer.public_key}


def paths() -> list[Path]:
    """The CA paths."""

    @user_errors
    async def write_ca(request: Request, data: FieldData) -> Response | None:
        public, private, generated = _key_pair(data)
        storage = storage_of(request)
        existing = await store.ca(storage)
        if existing is not None and keys.wire(keys.parse_public(existing.public_key)) == keys.wire(
            keys.parse_public(public)
        ):
            return Response(
                data=_issuer_view(existing),
                warnings=(
                    "An issuer with the provided public key already exists, returning the existing issuer",
                ),
            )
        issuer = CaIssuer(issuer_id=new_uuid(), public_key=public, private_key=private, generated=generated)
        await store.save_ca(storage, issuer)
        return Response(data=_issuer_view(issuer))

    async def read_ca(request: Request, data: FieldData) -> Response | None:
        issuer = await store.ca(storage_of(request))
        if issuer is None:
            raise InvalidRequestError(NO_CA)
        return Response(data=_issuer_view(issuer))

    async def delete_ca(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        if await store.ca(storage) is None:
            return None
        await store.delete_ca(storage)
        return Response(warnings=("Deleted 1 issuers, including default issuer if configured.",))

    async def public_key(request: Request, data: FieldData) -> Response | None:
        issuer = await store.ca(storage_of(request))
        if issuer is None:
            raise InvalidRequestError(NO_CA)
        return Response(raw_body=issuer.public_key.encode(), content_type="text/plain", status=200)

    return [
        Path(
            "config/ca",
            fields=CA_FIELDS,
            operations={Operation.UPDATE: write_ca, Operation.READ: read_ca, Operation.DELETE: delete_ca},
            synopsis="Configure the default SSH issuer used for signing and verification operations.",
            description=(
                "Generate (generate_signing_key, key_type, key_bits) or import (private_key, public_key) the "
                "CA key pair; DELETE removes it."
            ),
        ),
        Path(
            "public_key",
            operations={Operation.READ: public_key},
            synopsis="Retrieve the 'default' issuer's public key.",
            description="A raw text answer (no JSON): the CA's public key as an authorized_keys line.",
        ),
    ]
