"""KV v2 version management: `delete/<path>`, `undelete/<path>`, `destroy/<path>` (each takes "versions").

Layer: builtin. Imports framework, logical and the kv domain modules.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from strongroom.builtin.secrets.kv.models import KeyMetadata
from strongroom.builtin.secrets.kv.store import KVEngine, KVStore, store_for
from strongroom.builtin.secrets.kv.versions import destroy, soft_delete, undelete
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request

# Applies the change to the metadata; may also touch storage (destroy removes the data).
Change = Callable[[KVStore, str, KeyMetadata, list[int]], Awaitable[KeyMetadata]]


def _fields(verb: str) -> dict[str, Field]:
    return {
        "path": Field(FieldType.STRING, "Location of the secret."),
        "versions": Field(FieldType.COMMA_INT_LIST, f"The versions to {verb}."),
    }


def paths(engine: KVEngine) -> list[Path]:
    """The `delete/`, `undelete/` and `destroy/` declarations of a KV v2 mount."""

    def endpoint(missing_versions: str, change: Change) -> Callable[[Request, FieldData], Awaitable[None]]:
        async def handler(request: Request, fields: FieldData) -> None:
            key = fields.get("path")
            numbers = fields.get("versions")
            if not numbers:
                raise InvalidRequestError(missing_versions)
            store = store_for(request, engine)
            async with engine.locks.for_key(key):
                meta = await store.metadata(key)
                if meta is None:
                    return
                await store.put_metadata(key, await change(store, key, meta, numbers))

        return handler

    async def delete_change(store: KVStore, key: str, meta: KeyMetadata, numbers: list[int]) -> KeyMetadata:
        return soft_delete(meta, numbers, engine.clock.now())

    async def undelete_change(store: KVStore, key: str, meta: KeyMetadata, numbers: list[int]) -> KeyMetadata:
        return undelete(meta, numbers, engine.clock.now(), await store.config())

    async def destroy_change(store: KVStore, key: str, meta: KeyMetadata, numbers: list[int]) -> KeyMetadata:
        updated, destroyed = destroy(meta, numbers)
        for number in destroyed:
            await store.delete_version(key, number)
        return updated

    return [
        Path(
            "delete/{path*}",
            fields=_fields("delete"),
            operations={Operation.UPDATE: endpoint("No version number provided", delete_change)},
            synopsis="Marks one or more versions as deleted in the KV store.",
            description="Deletes the data for the provided version and path in the key-value store. The "
            "versioned data will not be fully removed, but marked as deleted and will no longer be returned "
            "in normal get requests.",
        ),
        Path(
            "undelete/{path*}",
            fields=_fields("undelete"),
            operations={Operation.UPDATE: endpoint("No version number provided", undelete_change)},
            synopsis="Undeletes one or more versions from the KV store.",
            description="Undeletes the data for the provided version and path in the key-value store. This "
            "restores the data, allowing it to be returned on get requests.",
        ),
        Path(
            "destroy/{path*}",
            fields=_fields("destroy"),
            operations={Operation.UPDATE: endpoint("no version number provided", destroy_change)},
            synopsis="Permanently removes one or more versions in the KV store",
            description="Permanently removes the specified version numbers for the provided key.",
        ),
    ]
