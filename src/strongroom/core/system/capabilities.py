"""sys/capabilities, sys/capabilities-self and sys/capabilities-accessor: what a token may do on paths.

Layer: core (the sys backend). Every answer comes from ACL.capabilities over the policies the authorize
stage uses (the token's own, its entity's and its groups', templates filled), asked as Vault asks it (as a
list, so a path ending in "/" is answered as its listing).
"""

from __future__ import annotations

from collections.abc import Sequence

from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

_PATHS = {
    "path": Field(FieldType.COMMA_STRING_LIST, "Use 'paths' instead."),
    "paths": Field(FieldType.COMMA_STRING_LIST, "Paths on which capabilities are being queried."),
}


def _multierror(message: str) -> str:
    """Vault wraps these lookup failures in its multierror text."""
    return f"1 error occurred:\n\t* {message}\n\n"


def _queried(data: FieldData) -> list[str]:
    """The paths asked about: "paths", else the deprecated "path", as Vault reads its comma lists (split,
    trimmed, empty entries kept so that they are refused as a missing path rather than dropped)."""
    for name in ("paths", "path"):
        raw = data.raw.get(name)
        items = raw.split(",") if isinstance(raw, str) and raw else raw if isinstance(raw, list) else []
        if items:
            return [str(item).strip() for item in items]
    return []


def paths(services: Services) -> list[Path]:
    """The three capability queries."""

    async def answer(policies: Sequence[str] | None, entity_id: str, data: FieldData) -> Response:
        queried = _queried(data)
        if not queried:
            raise InvalidRequestError("paths must be supplied")
        if "" in queried:
            raise InvalidRequestError(_multierror("missing path"))
        if policies is None:
            per_path = {p: ["deny"] for p in queried}
        else:
            # The same ACL the authorize stage builds: the token's policies and its entity's and groups'.
            grant = services.identity.grant(entity_id)
            acl = await services.policies.acl((*policies, *grant.policies), identity=grant.template)
            per_path = {p: acl.capabilities(p) for p in queried}
        result: dict[str, Sequence[str]] = dict(per_path)
        # Vault keeps the single-path answer under "capabilities" for old clients.
        if len(queried) == 1:
            result["capabilities"] = per_path[queried[0]]
        return Response(data=result, legacy_top_level=True)

    async def by_token(_request: Request, data: FieldData) -> Response:
        token = data.get("token")
        if not token:
            raise InvalidRequestError("missing token")
        entry = await services.tokens.lookup(token)
        if entry is None:
            raise InvalidRequestError(_multierror("invalid token"))
        return await answer(entry.policies, entry.entity_id, data)

    async def by_self(request: Request, data: FieldData) -> Response:
        caller = request.caller
        return await answer(
            None if caller is None else caller.policies, caller.entity_id if caller else "", data
        )

    async def by_accessor(_request: Request, data: FieldData) -> Response:
        accessor = data.get("accessor")
        if not accessor:
            raise InvalidRequestError("missing accessor")
        entry = await services.tokens.lookup_accessor(accessor)
        if entry is None:
            raise InvalidRequestError(_multierror("invalid accessor"))
        return await answer(entry.policies, entry.entity_id, data)

    return [
        Path(
            "capabilities",
            fields={**_PATHS, "token": Field(FieldType.STRING, "Token for which capabilities are queried.")},
            operations={Operation.UPDATE: by_token},
            synopsis="Fetches the capabilities of the given token on the given path.",
        ),
        Path(
            "capabilities-self",
            fields={**_PATHS, "token": Field(FieldType.STRING, "Ignored: the request's own token is used.")},
            operations={Operation.UPDATE: by_self},
            synopsis="Fetches the capabilities of the request's token on the given path.",
        ),
        Path(
            "capabilities-accessor",
            fields={**_PATHS, "accessor": Field(FieldType.STRING, "Accessor of the token.")},
            operations={Operation.UPDATE: by_accessor},
            synopsis="Fetches the capabilities of the token associated with the given accessor.",
        ),
    ]
