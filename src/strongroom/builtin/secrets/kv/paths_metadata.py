"""KV v2 `metadata/<path>`: read, list, write and patch key settings, delete a key with all its versions.

Layer: builtin. Imports framework, logical and the kv domain modules.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.builtin.secrets.kv.models import UINT32_MASK, KeyMetadata, KVConfig
from strongroom.builtin.secrets.kv.store import KVEngine, store_for
from strongroom.builtin.secrets.kv.versions import (
    KVRuleError,
    check_metadata_cas,
    metadata_view,
    new_metadata,
    parse_custom_metadata,
    validate_custom_metadata,
)
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

SYNOPSIS = "Allows interaction with key metadata and settings in the KV store."
DESCRIPTION = """
This endpoint allows for reading key metadata in the key-value store, writing
key settings, or permanently deleting a key and all its versions.
"""

CAS_IGNORED_WARNING = (
    '"cas_required" set to false, but is mandated by backend config. This value will be ignored.'
)

FIELDS = {
    "path": Field(FieldType.STRING, "Location of the secret."),
    "cas_required": Field(
        FieldType.BOOL,
        """If true the key will require the cas parameter to be set on all write requests.
If false, the backend's configuration will be used.""",
    ),
    "max_versions": Field(
        FieldType.INT,
        """The number of versions to keep. If not set, the backend's configured max
version is used.""",
    ),
    "delete_version_after": Field(
        FieldType.DURATION,
        """The length of time before a version is deleted. If not set, the backend's
configured delete_version_after is used. Cannot be greater than the
backend's delete_version_after. A zero duration clears the current setting.
A negative duration will cause an error.""",
    ),
    "custom_metadata": Field(
        FieldType.MAP,
        """User-provided key-value pairs that are used to describe arbitrary and
version-agnostic information about a secret.""",
    ),
    "metadata_cas": Field(
        FieldType.INT,
        "Check-and-set parameter for metadata updates. Must match the current metadata version for the "
        "update to succeed. Set to 0 for initial metadata creation.",
    ),
    "metadata_cas_required": Field(
        FieldType.BOOL,
        """If true the key will require the cas parameter to be set on all metadata update
requests. If false, the backend's configuration will be used.""",
    ),
    "after": Field(
        FieldType.STRING,
        "Optional entry to list begin listing after, not required to exist. Only used for listing.",
    ),
    "limit": Field(
        FieldType.INT, "Optional number of entries to return; defaults to all entries. Only used for listing."
    ),
}

_SETTINGS = (
    "max_versions",
    "cas_required",
    "delete_version_after",
    "custom_metadata",
    "metadata_cas_required",
    "metadata_cas",
)


def paths(engine: KVEngine) -> list[Path]:
    """The `metadata/` declaration of a KV v2 mount."""

    async def exists(request: Request, fields: FieldData) -> bool:
        return await store_for(request, engine).metadata(fields.get("path")) is not None

    async def read(request: Request, fields: FieldData) -> Response | None:
        meta = await store_for(request, engine).metadata(fields.get("path"))
        return None if meta is None else Response(data=metadata_view(meta))

    async def list_keys(request: Request, fields: FieldData) -> Response | None:
        keys = await store_for(request, engine).list_keys(fields.get("path"))
        after = fields.get("after")
        if after:
            keys = [k for k in keys if k > after]
        limit = fields.get("limit")
        if limit > 0:
            keys = keys[:limit]
        # Like Vault's ListResponse: no "keys" when empty, which the HTTP layer answers with a 404.
        return Response(data={"keys": keys} if keys else {})

    async def write(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        if key == "":
            raise InvalidRequestError("missing path")
        if not any(fields.get_ok(name)[1] for name in _SETTINGS):
            return None
        custom = _custom_metadata(fields, drop_nulls=False)
        store = store_for(request, engine)
        async with engine.locks.for_key(key):
            config = await store.config()
            meta = await store.metadata(key)
            _check_metadata_cas(fields, config, meta)
            base = meta or new_metadata(engine.clock.now())
            updated = _apply(base, fields, custom)
            await store.put_metadata(key, _bump(updated, engine.clock.now()))
        return _cas_warning(fields, config)

    async def patch(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        if key == "":
            raise InvalidRequestError("missing path")
        patch_custom = _custom_metadata(fields, drop_nulls=True)
        store = store_for(request, engine)
        async with engine.locks.for_key(key):
            config = await store.config()
            meta = await store.metadata(key)
            if meta is None:
                return Response(status=404)
            _check_metadata_cas(fields, config, meta)
            custom: dict[str, str] | None = None
            if patch_custom is not None:
                # A JSON merge patch of the key's custom_metadata: null removes a key.
                custom = dict(meta.custom_metadata or {})
                for name, value in fields.get("custom_metadata").items():
                    if value is None:
                        custom.pop(name, None)
                    else:
                        custom[name] = patch_custom[name]
            updated = _apply(meta, fields, custom)
            await store.put_metadata(key, _bump(updated, engine.clock.now()))
        return _cas_warning(fields, config)

    async def delete(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        store = store_for(request, engine)
        async with engine.locks.for_key(key):
            meta = await store.metadata(key)
            if meta is None:
                return None
            for number in meta.versions:
                await store.delete_version(key, number)
            await store.delete_metadata(key)
        return None

    return [
        Path(
            "metadata/{path*}",
            fields=FIELDS,
            operations={
                Operation.READ: read,
                Operation.LIST: list_keys,
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.PATCH: patch,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
        )
    ]


def _custom_metadata(fields: FieldData, *, drop_nulls: bool) -> dict[str, str] | None:
    raw, supplied = fields.get_ok("custom_metadata")
    if not supplied:
        return None
    try:
        custom = parse_custom_metadata(raw, drop_nulls=drop_nulls)
        validate_custom_metadata(custom)
    except KVRuleError as exc:
        raise InvalidRequestError(str(exc)) from None
    return custom


def _check_metadata_cas(fields: FieldData, config: KVConfig, meta: KeyMetadata | None) -> None:
    cas, supplied = fields.get_ok("metadata_cas")
    try:
        check_metadata_cas(supplied, cas, config, meta)
    except KVRuleError as exc:
        raise InvalidRequestError(str(exc)) from None


def _apply(meta: KeyMetadata, fields: FieldData, custom: dict[str, str] | None) -> KeyMetadata:
    changes: dict[str, Any] = {}
    for name in ("cas_required", "delete_version_after", "metadata_cas_required"):
        value, supplied = fields.get_ok(name)
        if supplied:
            changes[name] = value
    max_versions, supplied = fields.get_ok("max_versions")
    if supplied:
        changes["max_versions"] = max_versions & UINT32_MASK
    if custom is not None:
        changes["custom_metadata"] = custom
    return replace(meta, **changes)


def _bump(meta: KeyMetadata, now: float) -> KeyMetadata:
    return replace(meta, updated_time=now, current_metadata_version=meta.current_metadata_version + 1)


def _cas_warning(fields: FieldData, config: KVConfig) -> Response | None:
    cas_required, supplied = fields.get_ok("cas_required")
    if supplied and config.cas_required and not cas_required:
        return Response(warnings=(CAS_IGNORED_WARNING,))
    return None
