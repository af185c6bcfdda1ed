"""KV v1 (the passthrough engine): any path holds one free-form secret; read, write, delete, list.

Layer: builtin. Imports framework, logical, util. The secret is stored as JSON at its own path in the view.
Like Vault, a read shows a lease_duration (the secret's "ttl" or "lease", else the mount default) without
registering a lease, so it is set on the Response directly and no Secret is returned.
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets import freeform
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response, SystemView, get_json
from strongroom.util.durations import parse_duration

SYNOPSIS = """Pass-through secret storage to the storage backend, allowing you to
read/write arbitrary data into secret storage."""
DESCRIPTION = """
The pass-through backend reads and writes arbitrary data into secret storage,
encrypting it along the way.

A TTL can be specified when writing with the "ttl" field. If given, the
duration of leases returned by this backend will be set to this value. This
can be used as a hint from the writer of a secret to the consumer of a secret
that the consumer should re-read the value before the TTL has expired.
However, any revocation must be handled by the user of this backend; the lease
duration does not affect the provided data in any way.
"""


def _lease_duration(data: dict[str, Any], system: SystemView) -> int:
    for name in ("ttl", "lease"):
        value = data.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            try:
                return parse_duration(value)
            except ValueError:
                break
    return system.default_lease_ttl()


def paths(system: SystemView) -> list[Path]:
    """The single catch-all declaration of a KV v1 mount."""

    async def read(request: Request, fields: FieldData) -> Response | None:
        path: str = fields.get("path")
        # Nothing is stored at the mount's own path: Vault answers its read with a 404.
        data = await get_json(freeform.request_storage(request), path) if path else None
        if data is None:
            return None
        return Response(data=data, lease_duration=_lease_duration(data, system))

    async def delete(request: Request, fields: FieldData) -> Response | None:
        # Deleting the mount's own path deletes nothing, as in Vault.
        return await freeform.delete(request, fields) if fields.get("path") else None

    return [
        Path(
            "{path*}",
            fields={"path": Field(FieldType.STRING, "Location of the secret.")},
            operations={
                Operation.READ: read,
                Operation.CREATE: freeform.write,
                Operation.UPDATE: freeform.write,
                Operation.DELETE: delete,
                Operation.LIST: freeform.list_keys,
            },
            existence_check=freeform.exists,
            synopsis=SYNOPSIS,
            description=DESCRIPTION,
            any_data=True,
        )
    ]
