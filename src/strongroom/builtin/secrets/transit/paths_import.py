"""Transit BYOK: wrapping_key, keys/<name>/import and keys/<name>/import_version.

Layer: builtin. Imports framework, logical and the transit domain modules.
The wrapping key is made on first use and kept at `wrapping_key` in the mount's storage, outside policy/
(OpenBao keeps it as a key named import/wrapping-key, which then shows in its key listing as "import/").
OpenBao answers most refusals here with a 500 ("1 error occurred: ..."); their causes are the caller's, so
strongroom answers 400 with Vault's words. An asymmetric key may come as its public key alone (it then
verifies, and encrypts for RSA); import_version can later bring that version's private key.

Invariant: the wrapping key's private half never leaves the mount's storage.
"""

from __future__ import annotations

import asyncio

from strongroom.builtin.secrets.transit import byok
from strongroom.builtin.secrets.transit.common import storage_of, user_errors
from strongroom.builtin.secrets.transit.models import KeyPolicy, KeyType, KeyVersion, TransitError
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response, Storage

WRAPPING_KEY = "wrapping_key"
KEY_FIELDS = {
    "name": Field(FieldType.STRING, "The name of the key"),
    "ciphertext": Field(
        FieldType.STRING,
        "base64 of the RSA-OAEP wrapped ephemeral AES key followed by the target key wrapped by it (KWP)",
    ),
    "public_key": Field(FieldType.STRING, "A PEM public key to import instead (not supported here)"),
    "hash_function": Field(
        FieldType.STRING, "The OAEP hash: SHA1, SHA224, SHA256, SHA384 or SHA512", default="SHA256"
    ),
}
IMPORT_FIELDS = {
    **KEY_FIELDS,
    "type": Field(FieldType.STRING, "The type of key being imported", default="aes256-gcm96"),
    "allow_rotation": Field(FieldType.BOOL, "Whether the imported key may be rotated within strongroom"),
    "derived": Field(FieldType.BOOL, "Enables key derivation; a context must then be given with each use"),
    "convergent_encryption": Field(FieldType.BOOL, "Refused: imported keys cannot be convergent"),
    "exportable": Field(FieldType.BOOL, "Enables the key to be exported"),
    "allow_plaintext_backup": Field(FieldType.BOOL, "Enables taking a plaintext backup of the key"),
    "context": Field(FieldType.STRING, "Base64 context for key derivation"),
    "auto_rotate_period": Field(FieldType.DURATION, "Rotate the key this often (needs allow_rotation)"),
}
VERSION_FIELDS = {
    **KEY_FIELDS,
    "version": Field(FieldType.INT, "Key version to update; a new one when absent"),
}


def paths(store: KeyStore) -> list[Path]:
    """The BYOK declarations of a transit mount."""
    creating = asyncio.Lock()

    async def wrapping_key(storage: Storage) -> bytes:
        async with creating:
            entry = await storage.get(WRAPPING_KEY)
            if entry is not None:
                return entry
            # RSA-4096 generation takes a second or more: off the event loop.
            der = await asyncio.to_thread(byok.new_wrapping_key)
            await storage.put(WRAPPING_KEY, der)
            return der

    async def read_wrapping_key(request: Request, fields: FieldData) -> Response | None:
        der = await wrapping_key(storage_of(request))
        return Response(data={"public_key": byok.public_pem(der)})

    async def material(storage: Storage, key_type: KeyType, fields: FieldData) -> bytes | None:
        """The unwrapped private key of the request; None when it brings a public_key instead."""
        if not fields.get("ciphertext"):
            if key_type.secret_bytes:
                raise TransitError("provided type does not support public_key import")
            return None
        oaep_hash = byok.hash_function(fields.get("hash_function"))
        return byok.unwrap(await wrapping_key(storage), fields.get("ciphertext"), oaep_hash)

    @user_errors
    async def import_key(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        if fields.get_ok("convergent_encryption")[1]:
            raise TransitError("import cannot be used on keys with convergent encryption enabled")
        period, allow_rotation = fields.get("auto_rotate_period"), fields.get("allow_rotation")
        if period > 0 and not allow_rotation:
            raise TransitError("allow_rotation must be set to true if auto-rotation is enabled")
        try:
            key_type = KeyType(fields.get("type").lower())
        except ValueError:
            raise InvalidRequestError(f"unknown key type: {fields.get('type')}") from None
        derived = fields.get("derived")
        if derived and not key_type.supports_derivation:
            raise TransitError(
                f"key derivation and convergent encryption not supported for keys of type {key_type}"
            )
        storage = storage_of(request)
        async with store.locked(name):
            if await store.get(storage, name) is not None:
                raise TransitError(
                    "the import path cannot be used with an existing key; "
                    "use import-version to rotate an existing imported key"
                )
            raw = await material(storage, key_type, fields)
            first = _version(
                key_type, raw, fields, store.clock.now(), derived=derived, prefix="error importing key: "
            )
            policy = KeyPolicy(
                name=name,
                type=key_type,
                versions={1: first},
                derived=derived,
                exportable=fields.get("exportable"),
                allow_plaintext_backup=fields.get("allow_plaintext_backup"),
                auto_rotate_period=period,
                imported=True,
                allow_imported_key_rotation=allow_rotation,
                key_size=len(raw or b"") if key_type is KeyType.HMAC else 0,
            )
            await store.put(storage, policy)
        return None

    @user_errors
    async def import_version(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        storage = storage_of(request)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                raise TransitError(
                    f"no key found with name {name}; to import a new key, use the import/ endpoint"
                )
            if not policy.imported:
                raise TransitError("the import_version endpoint can only be used with an imported key")
            if policy.convergent_encryption:
                raise TransitError("import_version cannot be used on keys with convergent encryption enabled")
            raw = await material(storage, policy.type, fields)
            number, given = fields.get_ok("version")
            if given:
                await store.put(storage, _completed(policy, number, raw))
                return None
            latest = policy.versions[policy.latest_version]
            if raw is not None and not latest.key and not policy.type.secret_bytes:
                # As Vault: a private key first completes a latest version that holds only its public key.
                try:
                    await store.put(storage, _completed(policy, policy.latest_version, raw))
                    return None
                except TransitError:
                    pass
            added = _version(policy.type, raw, fields, store.clock.now(), derived=policy.derived, prefix="")
            number = policy.latest_version + 1
            await store.put(
                storage, policy.evolve(versions={**policy.versions, number: added}, latest_version=number)
            )
        return None

    return [
        Path(
            "wrapping_key",
            operations={Operation.READ: read_wrapping_key},
            synopsis="Returns the public key to use for wrapping imported keys",
        ),
        Path(
            "keys/{name}/import",
            fields=IMPORT_FIELDS,
            operations={Operation.UPDATE: import_key},
            synopsis="Imports an externally-generated key into a new transit key",
        ),
        Path(
            "keys/{name}/import_version",
            fields=VERSION_FIELDS,
            operations={Operation.UPDATE: import_version},
            synopsis="Imports an externally-generated key into an existing imported key",
        ),
    ]


def _version(
    key_type: KeyType, raw: bytes | None, fields: FieldData, now: float, *, derived: bool, prefix: str
) -> KeyVersion:
    """A new version from the private key `raw`, or else from the request's public_key."""
    try:
        if raw is None:
            return byok.imported_public_version(key_type, fields.get("public_key"), now, derived=derived)
        return byok.imported_version(key_type, raw, now, derived=derived)
    except TransitError as exc:
        raise TransitError(prefix + str(exc)) from None


def _completed(policy: KeyPolicy, number: int, raw: bytes | None) -> KeyPolicy:
    """`policy` with version `number` (imported as its public key alone) given the private key `raw`."""
    version = policy.versions.get(number)
    if version is None:
        raise TransitError("no such key version")
    if policy.type.secret_bytes:
        raise TransitError("provided type does not support importing key versions")
    if version.key:
        raise TransitError("private key imported, key version cannot be updated")
    if raw is None:
        raise TransitError("cannot add a public key to a key version that already has a public key set")
    completed = byok.with_private_key(policy.type, version, raw)
    return policy.evolve(versions={**policy.versions, number: completed})
