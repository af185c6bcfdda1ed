"""keys/ (LIST), key/<ref> (read, update, delete), keys/generate/<type>, keys/import and config/keys: the
mount's private keys, apart from the issuers that use them. Layer: builtin.

Imports framework, logical, errors and the engine's modules. A reference (`<ref>`) is a key id, its name,
or "default" (config/keys).

Invariant: a private key is returned only by keys/generate/exported, in that one response; a read shows
its id, name, type and subject key id, never the key.
"""

from __future__ import annotations

from cryptography import x509

from strongroom.builtin.secrets.pki import common, importing
from strongroom.builtin.secrets.pki.keys import encode_key, generate_key, load_key, validate_key_params
from strongroom.builtin.secrets.pki.models import KeyEntry
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Operation, Request, Response

NO_DEFAULT_KEY = "no default key currently configured"
BAD_DEFAULT = "Invalid key specification; must be non-empty and can't be 'default'."
KEY_ALREADY_IMPORTED = "Key already imported, use key/ endpoint to update name."


async def find_key(store: PkiStore, ref: str) -> KeyEntry:
    """The key `ref` names, or 400 in Vault's words."""
    entry = await store.resolve_key(ref)
    if entry is None:
        raise InvalidRequestError(
            NO_DEFAULT_KEY if ref == "default" else f"unable to find PKI key for reference: {ref}"
        )
    return entry


def _subject_key_id(entry: KeyEntry) -> str:
    """Vault's subject_key_id: the SHA-1 of the public key (RFC 5280's method 1), colon-separated hex."""
    digest = x509.SubjectKeyIdentifier.from_public_key(load_key(entry.private_key).public_key()).digest
    return ":".join(f"{byte:02x}" for byte in digest)


def paths(store: PkiStore) -> list[Path]:
    """The key list, read, update, delete, generate and import paths, and the default key's setting."""

    async def list_keys(request: Request, data: FieldData) -> Response | None:
        entries = common.page(await store.keys(), data)
        default_id = await store.default_key_id()
        info = {entry.id: {"is_default": entry.id == default_id, "key_name": entry.name} for entry in entries}
        return Response(data={"keys": [entry.id for entry in entries], "key_info": info})

    async def read_key(request: Request, data: FieldData) -> Response | None:
        entry = await find_key(store, data.get("key_ref"))
        return Response(
            data={
                "key_id": entry.id,
                "key_name": entry.name,
                "key_type": entry.type,
                "subject_key_id": _subject_key_id(entry),
            }
        )

    async def update_key(request: Request, data: FieldData) -> Response | None:
        async with store.lock:
            entry = await find_key(store, data.get("key_ref"))
            name = str(data.get("key_name")).strip()
            if name and not common.REF_NAME.fullmatch(name):
                raise InvalidRequestError("new key name outside of valid character limits")
            if name != entry.name:
                entry = KeyEntry(id=entry.id, name=name, type=entry.type, private_key=entry.private_key)
                await store.save_key(entry)
        answer = {"key_id": entry.id, "key_name": entry.name, "key_type": entry.type}
        if name:
            return Response(data=answer)
        warning = "Name successfully deleted, you will now need to reference this key by it's Id: " + entry.id
        return Response(data=answer, warnings=(warning,))

    async def delete_key(request: Request, data: FieldData) -> Response | None:
        ref = data.get("key_ref")
        async with store.lock:
            entry = await store.resolve_key(ref)
            if entry is None:
                return None
            for issuer in await store.issuers():
                if issuer.key_id == entry.id:
                    raise InvalidRequestError(f"Failed to Delete Key.  Key in Use by Issuer: {issuer.id}")
            was_default = await store.delete_key(entry.id)
        if not was_default:
            return None
        warning = (
            f"Deleted key {entry.id} (via key_ref {ref}); this was configured as the default key. Operations "
            "without an explicit key will not work until a new default is configured."
        )
        return Response(data=None, warnings=(warning,))

    async def generate(request: Request, data: FieldData) -> Response | None:
        kind = data.get("type")
        if kind not in ("internal", "exported", "kms"):
            raise NotFoundError(UNSUPPORTED_PATH)
        if kind == "kms":
            raise InvalidRequestError('"external_key_ref" is required for kms typed key generation')
        async with store.lock:
            name = await common.key_name(store, data)
            try:
                key_type, key_bits = validate_key_params(data.get("key_type"), data.get("key_bits"))
            except InvalidRequestError as refused:
                raise InvalidRequestError(
                    f"Validation for key_type, key_bits failed: {refused.errors[0]}"
                ) from None
            key = generate_key(key_type, key_bits)
            entry = await common.new_key(store, key, name)
            await importing.attach_key(store, entry)
        answer = {"key_id": entry.id, "key_name": entry.name, "key_type": entry.type}
        if kind == "exported":
            answer["private_key"] = encode_key(key, "pem")
        return Response(data=answer)

    async def import_key(request: Request, data: FieldData) -> Response | None:
        bundle = data.get("pem_bundle")
        async with store.lock:
            name = await common.key_name(store, data)
            if len(bundle) < 64:
                raise InvalidRequestError(importing.TOO_SHORT)
            blocks = importing.pem_blocks(bundle)
            if len(blocks) != 1:
                raise InvalidRequestError(
                    "only a single key can be present within the pem_bundle for importing"
                )
            entry, existed = await importing.import_key(store, blocks[0][1], name)
        answer = {"key_id": entry.id, "key_name": entry.name, "key_type": entry.type}
        return Response(data=answer, warnings=(KEY_ALREADY_IMPORTED,) if existed else ())

    async def read_config(request: Request, data: FieldData) -> Response | None:
        return Response(data={"default": await store.default_key_id()})

    async def write_config(request: Request, data: FieldData) -> Response | None:
        ref = data.get("default")
        if not ref or ref == "default":
            raise InvalidRequestError(BAD_DEFAULT)
        async with store.lock:
            entry = await store.resolve_key(ref)
            if entry is None:
                raise InvalidRequestError(
                    f"Error resolving issuer reference: unable to find PKI key for reference: {ref}"
                )
            await store.set_default_key(entry.id)
        return Response(data={"default": entry.id})

    ref_field = {
        "key_ref": Field(FieldType.STRING, 'Reference to key: "default", a key id, or its name.', "default")
    }
    name_field = {"key_name": Field(FieldType.STRING, "Optional name to be used for this key.")}
    return [
        Path(
            "keys/?",
            fields=common.PAGE_FIELDS,
            operations={Operation.LIST: list_keys},
            synopsis="Fetch a list of all issuer keys.",
            description="Key ids, with each key's name and whether it is the default under key_info.",
        ),
        Path(
            "key/{key_ref}",
            fields={**ref_field, **name_field},
            operations={
                Operation.READ: read_key,
                Operation.UPDATE: update_key,
                Operation.DELETE: delete_key,
            },
            synopsis="Fetch a single issuer key.",
            description="A key's id, name and type; a write renames it; a delete refuses a key in use.",
        ),
        Path(
            "keys/generate/{type}",
            fields={
                **name_field,
                "type": Field(FieldType.STRING, '"internal" or "exported" (which returns the private key).'),
                "key_type": Field(FieldType.STRING, 'The type of key: "rsa", "ec" or "ed25519".', "rsa"),
                "key_bits": Field(FieldType.INT, "The number of bits to use (0: the type's default).", 0),
                "managed_key_name": Field(FieldType.STRING, "Not supported."),
                "managed_key_id": Field(FieldType.STRING, "Not supported."),
            },
            operations={Operation.UPDATE: generate},
            synopsis="Generate a new private key used for signing.",
            description='The key is stored in the mount; "exported" also returns it once.',
        ),
        Path(
            "keys/import",
            fields={
                **name_field,
                "pem_bundle": Field(FieldType.STRING, "PEM-format, unencrypted secret key."),
            },
            operations={Operation.UPDATE: import_key},
            synopsis="Import the specified key.",
            description="Imports one private key; an issuer waiting for it is linked to it.",
        ),
        Path(
            "config/keys",
            fields={"default": Field(FieldType.STRING, "Reference (name or identifier) of the default key.")},
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Read and set the default key used for signing.",
            description='The key used when a request names the key "default".',
        ),
    ]
