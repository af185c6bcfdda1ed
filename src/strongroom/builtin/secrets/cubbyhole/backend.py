"""The cubbyhole engine: free-form secrets in storage that belongs to one token.

Layer: builtin. Imports framework, logical, errors. The backend declares per_token_storage; the core hands
each request a storage view prefixed by the caller's token, so this module never sees a token.

Invariant: everything is read and written through request.storage, never a mount-wide storage.
"""

from __future__ import annotations

from strongroom.builtin.secrets import freeform
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, FrameworkBackend, Path
from strongroom.logical import (
    Backend,
    BackendConfig,
    Operation,
    Request,
    Response,
    get_json,
)

SYNOPSIS = """Pass-through secret storage to a token-specific cubbyhole in the storage
backend, allowing you to read/write arbitrary data into secret storage."""
DESCRIPTION = """
The cubbyhole backend reads and writes arbitrary data into secret storage,
encrypting it along the way.

The view into the cubbyhole storage space is different for each token; it is
a per-token cubbyhole. When the token is revoked all values are removed.
"""
HELP = """
The cubbyhole backend reads and writes arbitrary secrets to the backend.
The secrets are encrypted/decrypted by OpenBao: they are never stored
unencrypted in the backend and the backend never has an opportunity to
see the unencrypted value.

This backend differs from the 'kv' backend in that it is namespaced
per-token. Tokens can only read and write their own values, with no
sharing possible (per-token cubbyholes). This can be useful for implementing
certain authentication workflows, as well as "scratch" areas for individual
clients. When the token is revoked, the entire set of stored values for that
token is also removed.
"""


async def _read(request: Request, fields: FieldData) -> Response | None:
    path = fields.get("path")
    if path == "":
        raise InvalidRequestError("missing path")
    data = await get_json(freeform.request_storage(request), path)
    return None if data is None else Response(data=data)


async def cubbyhole_factory(config: BackendConfig) -> Backend:
    """The cubbyhole backend; it keeps nothing of `config`, since all its state is per-token storage."""
    return FrameworkBackend(
        [
            Path(
                "{path*}",
                fields={"path": Field(FieldType.STRING, "Specifies the path of the secret.")},
                operations={
                    Operation.READ: _read,
                    Operation.CREATE: freeform.write,
                    Operation.UPDATE: freeform.write,
                    Operation.DELETE: freeform.delete,
                    Operation.LIST: freeform.list_keys,
                },
                existence_check=freeform.exists,
                synopsis=SYNOPSIS,
                description=DESCRIPTION,
                any_data=True,
            )
        ],
        help=HELP,
        per_token_storage=True,
    )
