"""Transit authentication: hmac/<name>[/<algorithm>], cmac/<name>[/<mac_length>], sign/<name>[/<algorithm>],
verify/<name>[/<algorithm>].

Layer: builtin. Imports framework, logical and the transit domain modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.builtin.secrets.transit import encoding, operations
from strongroom.builtin.secrets.transit.common import (
    BATCH,
    NAME,
    decode_context,
    integer,
    run_batch,
    storage_of,
    text,
    user_errors,
)
from strongroom.builtin.secrets.transit.models import KeyPolicy, TransitError
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

INPUT = Field(FieldType.STRING, "The base64-encoded input data")
ALGORITHM = Field(FieldType.STRING, "Hash algorithm: sha2-256 (default), sha2-224/384/512, sha3-*, sha1")

HMAC_FIELDS = {
    "name": NAME,
    "input": INPUT,
    "algorithm": Field(FieldType.STRING, ALGORITHM.description, default="sha2-256"),
    "urlalgorithm": ALGORITHM,
    "key_version": Field(FieldType.INT, "The version of the key to use; the latest when 0"),
    "batch_input": BATCH,
}
MAC_LENGTH = Field(FieldType.INT, "CMAC only: bytes of the MAC to keep (at most 16; all when 0)")
CMAC_FIELDS = {
    "name": NAME,
    "input": INPUT,
    "key_version": HMAC_FIELDS["key_version"],
    "mac_length": MAC_LENGTH,
    "url_mac_length": Field(FieldType.INT, "mac_length given in the URL; overrides the body's"),
    "batch_input": BATCH,
}
SIGN_FIELDS = {
    "name": NAME,
    "input": INPUT,
    "context": Field(FieldType.STRING, "Base64 context for key derivation (required for derived keys)"),
    "key_version": HMAC_FIELDS["key_version"],
    "hash_algorithm": Field(FieldType.STRING, ALGORITHM.description, default="sha2-256"),
    "algorithm": Field(FieldType.STRING, "Deprecated: use hash_algorithm"),
    "urlalgorithm": ALGORITHM,
    "prehashed": Field(FieldType.BOOL, "Set when the input is already hashed"),
    "signature_algorithm": Field(FieldType.STRING, "RSA only: pss (default) or pkcs1v15"),
    "marshaling_algorithm": Field(FieldType.STRING, "ECDSA only: asn1 (default) or jws", default="asn1"),
    "batch_input": BATCH,
}
VERIFY_FIELDS = {
    **{k: v for k, v in SIGN_FIELDS.items() if k != "key_version"},
    "signature": Field(FieldType.STRING, "The signature, including the vault:vN: prefix"),
    "hmac": Field(FieldType.STRING, "The HMAC, including the vault:vN: prefix"),
    "cmac": Field(FieldType.STRING, "The CMAC, including the vault:vN: prefix"),
    "mac_length": MAC_LENGTH,
}


def _algorithm(fields: FieldData, body_name: str) -> str:
    """The hash named in the URL, else in `body_name`, else in the deprecated "algorithm", else sha2-256."""
    for name in ("urlalgorithm", body_name, "algorithm"):
        value, given = fields.get_ok(name)
        if given and value:
            return str(value)
    return "sha2-256"


def _input(entry: Mapping[str, Any]) -> bytes:
    try:
        return encoding.b64decode(text(entry, "input"))
    except TransitError as exc:
        raise TransitError(f"unable to decode input as base64: {exc}") from None


def paths(store: KeyStore) -> list[Path]:
    """The HMAC, signing and verification declarations of a transit mount."""

    async def loaded(request: Request, fields: FieldData, missing: str) -> KeyPolicy:
        policy = await store.get(storage_of(request), fields.get("name"))
        if policy is None:
            raise TransitError(missing)
        return policy

    @user_errors
    async def hmac(request: Request, fields: FieldData) -> Response | None:
        batch = fields.get("batch_input")
        if not batch and not fields.get_ok("input")[1]:
            raise TransitError("missing input for HMAC")
        policy = await loaded(request, fields, "encryption key not found")
        algorithm = _algorithm(fields, "algorithm")

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            version = integer(entry, "key_version") or fields.get("key_version")
            return {"hmac": operations.hmac(policy, _input(entry), algorithm, version)}

        if not batch:
            return Response(data=await item(fields.raw))
        return await run_batch(batch, item, {}, fail_status=False)

    @user_errors
    async def cmac(request: Request, fields: FieldData) -> Response | None:
        batch = fields.get("batch_input")
        if not batch and not fields.get_ok("input")[1]:
            raise TransitError("missing input for CMAC")
        policy = await loaded(request, fields, "encryption key not found")
        url_length, in_url = fields.get_ok("url_mac_length")

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            version = integer(entry, "key_version") or fields.get("key_version")
            length = url_length if in_url else integer(entry, "mac_length") or fields.get("mac_length")
            return {"cmac": operations.cmac(policy, _input(entry), length, version)}

        if not batch:
            return Response(data=await item(fields.raw))
        return await run_batch(batch, item, {}, fail_status=False)

    def sign_options(fields: FieldData) -> dict[str, Any]:
        return {
            "hash_algorithm": _algorithm(fields, "hash_algorithm"),
            "prehashed": fields.get("prehashed"),
            "signature_algorithm": fields.get("signature_algorithm"),
            "marshaling": fields.get("marshaling_algorithm"),
        }

    @user_errors
    async def sign(request: Request, fields: FieldData) -> Response | None:
        policy = await loaded(request, fields, "signing key not found")
        options = sign_options(fields)

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            version, signature = operations.sign(
                policy,
                _input(entry),
                context=decode_context(text(entry, "context")),
                requested_version=integer(entry, "key_version") or fields.get("key_version"),
                **options,
            )
            return {"signature": signature, "key_version": version}

        batch = fields.get("batch_input")
        if not batch:
            return Response(data=await item(fields.raw))
        return await run_batch(batch, item, {"key_version": 0}, fail_status=False)

    @user_errors
    async def verify(request: Request, fields: FieldData) -> Response | None:
        batch = fields.get("batch_input")
        if not batch:
            signature, hmac_value = fields.get("signature"), fields.get("hmac")
            if not signature and not hmac_value and not fields.get("cmac"):
                raise TransitError("neither a 'signature' nor an 'hmac' were given to verify")
        policy = await loaded(request, fields, "signature verification key not found")
        options = sign_options(fields)

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            data = _input(entry)
            signature, hmac_value = text(entry, "signature"), text(entry, "hmac")
            if signature:
                valid = operations.verify_signature(
                    policy, data, signature, context=decode_context(text(entry, "context")), **options
                )
            elif hmac_value:
                valid = operations.verify_hmac(policy, data, hmac_value, options["hash_algorithm"])
            elif cmac_value := text(entry, "cmac"):
                length = integer(entry, "mac_length") or fields.get("mac_length")
                valid = operations.verify_cmac(policy, data, cmac_value, length)
            else:
                raise TransitError("neither a 'signature' nor an 'hmac' were given to verify")
            return {"valid": valid}

        if not batch:
            return Response(data=await item(fields.raw))
        return await run_batch(batch, item, {"valid": False}, fail_status=False)

    def declared(prefix: str, fields: Mapping[str, Field], handler: Any, synopsis: str) -> list[Path]:
        return [
            Path(
                f"{prefix}/{{name}}/{{urlalgorithm}}",
                fields=fields,
                operations={Operation.UPDATE: handler},
                synopsis=synopsis,
            ),
            Path(
                f"{prefix}/{{name}}", fields=fields, operations={Operation.UPDATE: handler}, synopsis=synopsis
            ),
        ]

    return [
        *declared("hmac", HMAC_FIELDS, hmac, "Generate an HMAC for input data using the named key"),
        Path(
            "cmac/{name}/{url_mac_length}",
            fields=CMAC_FIELDS,
            operations={Operation.UPDATE: cmac},
            synopsis="Generate a CMAC for input data using the named key",
        ),
        Path(
            "cmac/{name}",
            fields=CMAC_FIELDS,
            operations={Operation.UPDATE: cmac},
            synopsis="Generate a CMAC for input data using the named key",
        ),
        *declared("sign", SIGN_FIELDS, sign, "Generate a signature for input data using the named key"),
        *declared("verify", VERIFY_FIELDS, verify, "Verify a signature or HMAC for input data"),
    ]
