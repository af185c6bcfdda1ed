"""KV v2 `data/<path>`: write (with check-and-set), read (?version=), soft-delete the latest, merge-patch.

Layer: builtin. Imports framework, logical and the kv domain modules.
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.kv.models import KeyMetadata, KVConfig
from strongroom.builtin.secrets.kv.store import KVEngine, KVStore, store_for
from strongroom.builtin.secrets.kv.versions import (
    KVRuleError,
    add_version,
    check_cas,
    deletion_time,
    merge_patch,
    new_metadata,
    soft_delete,
    version_view,
)
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

SYNOPSIS = "Write, Patch, Read, and Delete data in the Key-Value Store."
DESCRIPTION = """
This path takes a key name and based on the operation stores, retrieves or
deletes versions of data.

If a write operation is used the endpoint takes an options object and a data
object. The options object is used to pass some options to the write command
and the data object is encrypted and stored in the storage backend. Each write
operation creates a new version of the key.

If a read operation is used the endpoint returns the latest version of the
key, or the version given in the "version" query parameter.

A delete operation soft-deletes the latest version; see the "undelete" and
"destroy" endpoints.
"""

FIELDS = {
    "path": Field(FieldType.STRING, "Location of the secret."),
    "version": Field(
        FieldType.INT, "If provided during a read, the value at the version number will be returned"
    ),
    "options": Field(
        FieldType.MAP,
        """Options for writing a KV entry.

Set the "cas" value to use a Check-And-Set operation. If not set the write will
be allowed. If set to 0 a write will only be allowed if the key doesn't exist.
If the index is non-zero the write will only be allowed if the key's current
version matches the version specified in the cas parameter.""",
    ),
    "data": Field(FieldType.MAP, "The contents of the data map will be stored and returned on read."),
}


def paths(engine: KVEngine) -> list[Path]:
    """The `data/` declaration of a KV v2 mount."""

    async def exists(request: Request, fields: FieldData) -> bool:
        return await store_for(request, engine).metadata(fields.get("path")) is not None

    async def read(request: Request, fields: FieldData) -> Response | None:
        found = await store_for(request, engine).read_version(
            fields.get("path"), fields.get("version"), engine.clock.now()
        )
        if found is None:
            return None
        body = {"data": found.data, "metadata": found.metadata}
        return Response(data=body) if found.data is not None else Response(status=404, data=body)

    async def write(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        data, supplied = fields.get_ok("data")
        if not supplied:
            raise InvalidRequestError("no data provided")
        store = store_for(request, engine)
        async with engine.locks.for_key(key):
            config = await store.config()
            meta = await store.metadata(key) or new_metadata(engine.clock.now())
            _check_cas(fields, config, meta)
            return await _store_version(store, key, config, meta, data)

    async def delete(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        store = store_for(request, engine)
        async with engine.locks.for_key(key):
            meta = await store.metadata(key)
            if meta is None or meta.current_version not in meta.versions:
                return None
            deleted = soft_delete(meta, [meta.current_version], engine.clock.now())
            if deleted != meta:
                await store.put_metadata(key, deleted)
        return None

    async def patch(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        patch_data, supplied = fields.get_ok("data")
        if not supplied:
            raise InvalidRequestError("no data provided")
        store = store_for(request, engine)
        async with engine.locks.for_key(key):
            meta = await store.metadata(key)
            if meta is None:
                return Response(status=404, raw_body=b"")
            config = await store.config()
            _check_cas(fields, config, meta)
            vm = meta.versions.get(meta.current_version)
            if vm is None:
                return Response(status=404, raw_body=b"")
            if vm.is_deleted(engine.clock.now()) or vm.destroyed:
                return Response(status=404, data=version_view(meta, meta.current_version, vm))
            existing = await store.version_data(key, meta.current_version)
            if existing is None:
                raise InvalidRequestError("could not find version data")
            return await _store_version(store, key, config, meta, merge_patch(existing, patch_data))

    async def _store_version(
        store: KVStore, key: str, config: KVConfig, meta: KeyMetadata, data: dict[str, Any]
    ) -> Response:
        now = engine.clock.now()
        updated, pruned = add_version(meta, now, deletion_time(now, config, meta), config)
        await store.add_version(key, data, updated, pruned)
        vm = updated.versions[updated.current_version]
        return Response(data=version_view(updated, updated.current_version, vm))

    return [
        Path(
            "data/{path*}",
            fields=FIELDS,
            operations={
                Operation.READ: read,
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.DELETE: delete,
                Operation.PATCH: patch,
            },
            existence_check=exists,
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
        )
    ]


def _check_cas(fields: FieldData, config: KVConfig, meta: KeyMetadata) -> None:
    options, supplied = fields.get_ok("options")
    try:
        check_cas(supplied, options, config, meta)
    except KVRuleError as exc:
        raise InvalidRequestError(str(exc)) from None
