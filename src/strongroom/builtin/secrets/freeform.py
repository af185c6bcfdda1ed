"""Free-form key/value handlers over a request's storage: what KV v1 and cubbyhole share.

Layer: builtin. Imports framework, logical and errors. Each handler works on the storage view the core
passed with the request (a mount's own, or a token's own for cubbyhole) and the `path` capture.
"""

from __future__ import annotations

from strongroom.errors import InvalidRequestError, StorageError
from strongroom.framework import FieldData
from strongroom.logical import Request, Response, Storage, put_json


def request_storage(request: Request) -> Storage:
    """The storage view the core passed with the request."""
    if request.storage is None:
        raise StorageError("the request carries no storage view")
    return request.storage


async def exists(request: Request, fields: FieldData) -> bool:
    """Whether a value is stored at the path (CREATE versus UPDATE). Nothing is ever stored at the mount's
    own path, and saying so here (rather than refusing the empty key) leaves the refusal to the ACL check
    first, then to `write`, as in Vault."""
    path: str = fields.get("path")
    return bool(path) and await request_storage(request).get(path) is not None


async def write(request: Request, fields: FieldData) -> Response | None:
    """Store the whole request body at the path (the core has refused paths ending in "/")."""
    if not fields.get("path"):
        raise InvalidRequestError("missing path")
    if not request.data:
        raise InvalidRequestError("missing data fields")
    await put_json(request_storage(request), fields.get("path"), dict(request.data))
    return None


async def delete(request: Request, fields: FieldData) -> Response | None:
    """Remove the value at the path (a missing one is not an error)."""
    await request_storage(request).delete(fields.get("path"))
    return None


async def list_keys(request: Request, fields: FieldData) -> Response | None:
    """The keys under the path's folder."""
    keys = await request_storage(request).list(fields.get("path"))
    # Like Vault's ListResponse: no "keys" when empty, which the HTTP layer answers with a 404.
    return Response(data={"keys": keys} if keys else {})
