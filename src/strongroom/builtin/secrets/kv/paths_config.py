"""KV v2 `config`: the mount-wide max_versions, cas_required, delete_version_after, metadata_cas_required.

Layer: builtin. Imports framework, logical and the kv domain modules.
"""

from __future__ import annotations

from dataclasses import replace

from strongroom.builtin.secrets.kv.models import UINT32_MASK
from strongroom.builtin.secrets.kv.store import store_for
from strongroom.builtin.secrets.kv.versions import config_view
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

SYNOPSIS = "Configures settings for the KV store"
DESCRIPTION = """
This path configures backend level settings that are applied to every key in the
key-value store. This parameter accepts:

    * max_versions (int) - The number of versions to keep for each key. Defaults
      to 10

    * cas_required (bool) - If true, the backend will require the cas parameter
      to be set for each write

    * delete_version_after (duration) - If set, the length of time before a
      version is deleted. A negative duration disables the use of
      delete_version_after on all keys. A zero duration clears the current
      setting. Accepts a Go duration format string.
"""

FIELDS = {
    "max_versions": Field(FieldType.INT, "The number of versions to keep for each key. Defaults to 10"),
    "cas_required": Field(
        FieldType.BOOL, "If true, the backend will require the cas parameter to be set for each write"
    ),
    "delete_version_after": Field(
        FieldType.SIGNED_DURATION,
        """If set, the length of time before a version is deleted. A negative duration
disables the use of delete_version_after on all keys. A zero duration
clears the current setting. Accepts a Go duration format string.""",
    ),
    "metadata_cas_required": Field(
        FieldType.BOOL,
        "If true, the backend will require the metadata_cas parameter to be set for each metadata update",
    ),
}


async def read_config(request: Request, fields: FieldData) -> Response | None:
    return Response(data=config_view(await store_for(request).config()))


async def write_config(request: Request, fields: FieldData) -> Response | None:
    store = store_for(request)
    config = await store.config()
    max_versions, max_ok = fields.get_ok("max_versions")
    if max_ok:
        config = replace(config, max_versions=max_versions & UINT32_MASK)
    cas_required, cas_ok = fields.get_ok("cas_required")
    if cas_ok:
        config = replace(config, cas_required=cas_required)
    delete_after, delete_ok = fields.get_ok("delete_version_after")
    if delete_ok:
        config = replace(config, delete_version_after=delete_after)
    metadata_cas, metadata_cas_ok = fields.get_ok("metadata_cas_required")
    if metadata_cas_ok:
        config = replace(config, metadata_cas_required=metadata_cas)
    await store.put_config(config)
    return None


def paths() -> list[Path]:
    """The `config` declaration of a KV v2 mount."""
    return [
        Path(
            "config",
            fields=FIELDS,
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
        )
    ]
