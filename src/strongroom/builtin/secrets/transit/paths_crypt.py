"""Transit encryption: encrypt/<name> (creating the key on first use), decrypt, rewrap, datakey.

Layer: builtin. Imports framework, logical and the transit domain modules.

Invariant: plaintexts are returned only to the caller that sent or asked for them, never stored or logged.
"""

from __future__ import annotations

import os
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
from strongroom.builtin.secrets.transit.models import SYMMETRIC, KeyPolicy, KeyType, TransitError
from strongroom.builtin.secrets.transit.paths_keys import new_policy
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

CONTEXT = Field(FieldType.STRING, "Base64 context for key derivation (required for derived keys)")
KEY_NOT_FOUND = "encryption key not found"

ENCRYPT_FIELDS = {
    "name": NAME,
    "plaintext": Field(FieldType.STRING, "Base64 encoded plaintext value to be encrypted"),
    "context": CONTEXT,
    "key_version": Field(FieldType.INT, "The version of the key to use; the latest when 0"),
    "type": Field(FieldType.STRING, "The type of key to create when the key does not exist", "aes256-gcm96"),
    "convergent_encryption": Field(FieldType.BOOL, "Create the key with convergent encryption"),
    "batch_input": BATCH,
}
DECRYPT_FIELDS = {
    "name": NAME,
    "ciphertext": Field(FieldType.STRING, "The ciphertext to decrypt"),
    "context": CONTEXT,
    "batch_input": BATCH,
}
REWRAP_FIELDS = {**DECRYPT_FIELDS, "key_version": ENCRYPT_FIELDS["key_version"]}
DATAKEY_FIELDS = {
    "name": NAME,
    "plaintext": Field(FieldType.STRING, "'plaintext' or 'wrapped'"),
    "context": CONTEXT,
    "bits": Field(FieldType.INT, "Number of bits of the key: 128, 256 or 512", default=256),
    "key_version": ENCRYPT_FIELDS["key_version"],
}


def paths(store: KeyStore) -> list[Path]:
    """The encryption declarations of a transit mount."""

    async def key_exists(request: Request, fields: FieldData) -> bool:
        return await store.get(storage_of(request), fields.get("name")) is not None

    async def loaded(request: Request, name: str) -> KeyPolicy:
        policy = await store.get(storage_of(request), name)
        if policy is None:
            raise TransitError(KEY_NOT_FOUND)
        return policy

    @user_errors
    async def encrypt(request: Request, fields: FieldData) -> Response | None:
        batch = fields.get("batch_input")
        if not batch:
            plaintext, given = fields.get_ok("plaintext")
            if not given:
                raise TransitError("missing plaintext to encrypt")
            batch = None
            first_context = fields.get("context")
        else:
            first_context = text(batch[0], "context") if isinstance(batch[0], Mapping) else ""
        policy = await _upsert(request, fields, first_context)
        if batch is None:
            ciphertext = operations.encrypt(
                policy,
                encoding.b64decode(plaintext),
                decode_context(fields.get("context")),
                fields.get("key_version"),
            )
            version = encoding.unwrap(ciphertext, "ciphertext")[0]
            return Response(data={"ciphertext": ciphertext, "key_version": version})

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            sealed = operations.encrypt(
                policy,
                encoding.b64decode(text(entry, "plaintext")),
                decode_context(text(entry, "context")),
                integer(entry, "key_version") or fields.get("key_version"),
            )
            return {"ciphertext": sealed, "key_version": encoding.unwrap(sealed, "ciphertext")[0]}

        return await run_batch(batch, item, {}, fail_status=True)

    async def _upsert(request: Request, fields: FieldData, context: str) -> KeyPolicy:
        name = fields.get("name")
        storage = storage_of(request)
        policy = await store.get(storage, name)
        if policy is not None:
            return policy
        try:
            key_type = KeyType(fields.get("type"))
        except ValueError:
            key_type = None
        if key_type not in SYMMETRIC:
            raise TransitError(f"unknown key type {fields.get('type')}")
        assert key_type is not None
        if context:
            decode_context(context)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                policy = new_policy(
                    store,
                    name,
                    key_type,
                    derived=bool(context),
                    convergent=bool(context) and fields.get("convergent_encryption"),
                )
                await store.put(storage, policy)
        return policy

    @user_errors
    async def decrypt(request: Request, fields: FieldData) -> Response | None:
        batch = fields.get("batch_input")
        if not batch and not fields.get("ciphertext"):
            raise TransitError("missing ciphertext to decrypt")
        policy = await loaded(request, fields.get("name"))
        if not batch:
            plain = operations.decrypt(
                policy, fields.get("ciphertext"), decode_context(fields.get("context"))
            )
            return Response(data={"plaintext": encoding.b64encode(plain)})

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            plain = operations.decrypt(
                policy, text(entry, "ciphertext"), decode_context(text(entry, "context"))
            )
            return {"plaintext": encoding.b64encode(plain)}

        return await run_batch(batch, item, {"plaintext": ""}, fail_status=True)

    @user_errors
    async def rewrap(request: Request, fields: FieldData) -> Response | None:
        batch = fields.get("batch_input")
        if not batch and not fields.get("ciphertext"):
            raise TransitError("missing ciphertext to decrypt")
        policy = await loaded(request, fields.get("name"))

        def again(ciphertext: str, context: str, version: int) -> dict[str, Any]:
            raw_context = decode_context(context)
            plain = operations.decrypt(policy, ciphertext, raw_context)
            sealed = operations.encrypt(policy, plain, raw_context, version)
            return {"ciphertext": sealed, "key_version": encoding.unwrap(sealed, "ciphertext")[0]}

        if not batch:
            return Response(
                data=again(fields.get("ciphertext"), fields.get("context"), fields.get("key_version"))
            )

        async def item(entry: Mapping[str, Any]) -> dict[str, Any]:
            version = integer(entry, "key_version") or fields.get("key_version")
            return again(text(entry, "ciphertext"), text(entry, "context"), version)

        return await run_batch(batch, item, {}, fail_status=False)

    @user_errors
    async def datakey(request: Request, fields: FieldData) -> Response | None:
        kind = fields.get("plaintext")
        if kind not in ("plaintext", "wrapped"):
            raise TransitError("Invalid path, must be 'plaintext' or 'wrapped'")
        policy = await loaded(request, fields.get("name"))
        bits = fields.get("bits")
        if bits not in (128, 256, 512):
            raise TransitError("invalid bit length")
        key = os.urandom(bits // 8)
        sealed = operations.encrypt(
            policy, key, decode_context(fields.get("context")), fields.get("key_version")
        )
        data: dict[str, Any] = {"ciphertext": sealed, "key_version": encoding.unwrap(sealed, "ciphertext")[0]}
        if kind == "plaintext":
            data["plaintext"] = encoding.b64encode(key)
        return Response(data=data)

    return [
        Path(
            "encrypt/{name}",
            fields=ENCRYPT_FIELDS,
            operations={Operation.CREATE: encrypt, Operation.UPDATE: encrypt},
            existence_check=key_exists,
            synopsis="Encrypt a plaintext value or a batch of plaintext blocks using a named key",
        ),
        Path(
            "decrypt/{name}",
            fields=DECRYPT_FIELDS,
            operations={Operation.UPDATE: decrypt},
            synopsis="Decrypt a ciphertext value using a named key",
        ),
        Path(
            "rewrap/{name}",
            fields=REWRAP_FIELDS,
            operations={Operation.UPDATE: rewrap},
            synopsis="Rewrap ciphertext",
        ),
        Path(
            "datakey/{plaintext}/{name}",
            fields=DATAKEY_FIELDS,
            operations={Operation.UPDATE: datakey},
            synopsis="Generate a data key",
        ),
    ]
