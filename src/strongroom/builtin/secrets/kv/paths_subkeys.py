"""KV v2 `subkeys/<path>`: the key structure of a version without its values (depth, version).

Layer: builtin. Imports framework, logical and the kv domain modules.
"""

from __future__ import annotations

from strongroom.builtin.secrets.kv.store import KVEngine, store_for
from strongroom.builtin.secrets.kv.versions import subkeys
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

FIELDS = {
    "path": Field(FieldType.STRING, "Location of the secret."),
    "version": Field(
        FieldType.INT,
        "Specifies which version to retrieve. If not provided, the current version will be used.",
    ),
    "depth": Field(
        FieldType.INT,
        "Specifies the deepest nesting level to provide in the output. If non-zero, keys that reside at the "
        "specified depth value will be artificially treated as leaves and will thus be 'null' even if "
        "further underlying sub-keys exist.",
    ),
}


def paths(engine: KVEngine) -> list[Path]:
    """The `subkeys/` declaration of a KV v2 mount."""

    async def read(request: Request, fields: FieldData) -> Response | None:
        key = fields.get("path")
        # OpenBao reads a negative depth as unlimited, like 0.
        depth = max(fields.get("depth"), 0)
        found = await store_for(request, engine).read_version(key, fields.get("version"), engine.clock.now())
        if found is None:
            return None
        if found.data is None:
            return Response(status=404, data={"metadata": found.metadata, "subkeys": None})
        return Response(data={"metadata": found.metadata, "subkeys": subkeys(found.data, depth)})

    return [
        Path(
            "subkeys/{path*}",
            fields=FIELDS,
            operations={Operation.READ: read},
            synopsis="Read the structure of a secret entry from the Key-Value store with the values removed.",
            description="This path provides the subkeys that exist within a secret entry that exists at the "
            "provided path. The values of the secret entry are removed.",
        )
    ]
