"""FrameworkBackend: a Backend made of Path declarations, routed by first full match. Layer: framework.

Imports logical, errors and the framework's own modules. Help, OpenAPI, field validation, unknown-field
warnings and existence checks all come from the declarations; handlers only do the work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from strongroom.errors import InvalidRequestError, NotFoundError, UnsupportedOperationError
from strongroom.framework import openapi
from strongroom.framework.path import Path
from strongroom.framework.secret import SecretType, secret_type_of
from strongroom.logical.backend import SpecialPaths
from strongroom.logical.operation import Operation
from strongroom.logical.request import Request
from strongroom.logical.response import Response, Secret

Hook = Callable[[], Awaitable[None]]


# Vault's words (in its multierror form) for a path under a mount that no declaration matches.
UNSUPPORTED_PATH = "1 error occurred:\n\t* unsupported path\n\n"
# Routes remembered per backend, by path (client-chosen, so bounded; the oldest go first).
ROUTES_KEPT = 1024


class FrameworkBackend:
    """A backend declared as data; implements strongroom.logical.Backend."""

    def __init__(
        self,
        paths: Sequence[Path],
        help: str = "",
        *,
        special_paths: SpecialPaths = SpecialPaths(),  # noqa: B008 (a frozen value, safe to share)
        per_token_storage: bool = False,
        on_initialize: Hook | None = None,
        on_cleanup: Hook | None = None,
        secrets: Sequence[SecretType] = (),
    ) -> None:
        self.paths = tuple(paths)
        # What `route` found for recent paths: a request is routed twice or more (existence check, handle)
        # and the same few paths come back request after request, each a walk of many regexes.
        self._routes: dict[str, tuple[Path, dict[str, str]] | None] = {}
        # Whether any declaration folds a name: most backends fold none, and skip the lookup.
        self._folds = any(declared.folds for declared in self.paths)
        # The kinds of leased secret it issues, by name (Vault's Backend.Secrets).
        self.secrets: Mapping[str, SecretType] = {kind.type: kind for kind in secrets}
        self.help = help
        self._special_paths = special_paths
        self._per_token_storage = per_token_storage
        self._on_initialize = on_initialize
        self._on_cleanup = on_cleanup

    @property
    def special_paths(self) -> SpecialPaths:
        return self._special_paths

    @property
    def per_token_storage(self) -> bool:
        return self._per_token_storage

    def route(self, path: str) -> tuple[Path, dict[str, str]] | None:
        """The first declaration matching the whole of `path`, with its captures."""
        routes = self._routes
        if path in routes:
            found = routes[path]
            return None if found is None else (found[0], dict(found[1]))
        found = None
        for declared in self.paths:
            captured = declared.match(path)
            if captured is not None:
                found = (declared, captured)
                break
        if len(routes) >= ROUTES_KEPT:
            del routes[next(iter(routes))]
        routes[path] = found
        return None if found is None else (found[0], dict(found[1]))

    async def handle(self, request: Request) -> Response | None:
        if request.operation is Operation.HELP and not request.path:
            return Response(
                data={
                    "help": openapi.root_help_text(self.help, list(self.paths)),
                    "openapi": openapi.document(self.openapi_paths()),
                }
            )
        routed = self.route(request.path)
        if routed is None:
            raise NotFoundError(UNSUPPORTED_PATH)
        declared, captured = routed
        if request.operation is Operation.HELP:
            return Response(
                data={
                    "help": openapi.help_text(declared, request.path),
                    "openapi": openapi.document(
                        {openapi.openapi_key(declared.pattern): openapi.path_item(declared)}
                    ),
                }
            )
        handler = declared.operations.get(request.operation)
        if handler is None:
            raise UnsupportedOperationError()
        response = await handler(request, declared.field_data(request, captured))
        if response is None:
            return None
        ignored = declared.unknown_fields(request)
        if ignored:
            response = response.with_warning(
                f"Endpoint ignored these unrecognized parameters: [{' '.join(ignored)}]"
            )
        return response

    async def exists(self, request: Request) -> bool | None:
        routed = self.route(request.path)
        if routed is None:
            return None
        declared, captured = routed
        check = declared.existence_check
        if check is None:
            return None
        return await check(request, declared.field_data(request, captured, existence_check=True))

    def has_route(self, path: str) -> bool:
        return self.route(path) is not None

    def canonical_path(self, path: str) -> str:
        routed = self.route(path) if self._folds else None
        return path if routed is None else routed[0].canonical(path)

    def openapi_paths(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for declared in self.paths:
            result.setdefault(openapi.openapi_key(declared.pattern), openapi.path_item(declared))
        return result

    async def renew_secret(self, request: Request, secret: Secret) -> Response | None:
        kind = secret_type_of(self.secrets, secret)
        if kind.renew is None:
            raise InvalidRequestError("lease is not renewable")
        return await kind.renew(request, secret)

    async def revoke_secret(self, request: Request, secret: Secret) -> None:
        await secret_type_of(self.secrets, secret).revoke(request, secret)

    async def initialize(self) -> None:
        if self._on_initialize is not None:
            await self._on_initialize()

    async def cleanup(self) -> None:
        if self._on_cleanup is not None:
            await self._on_cleanup()
