"""BackendHarness: drive a backend in-process over InmemStorage the way the core does. Layer: framework.

For fast engine tests. It applies the core's conventions that a backend relies on: a write is UPDATE, flipped
to CREATE when `exists()` says False; a LIST path ends in "/"; query parameters also arrive as request data.
It does not apply the HTTP layer's (a READ returning None stays None, so tests can assert it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from strongroom.logical.backend import Backend, BackendConfig, BackendFactory, StaticSystemView
from strongroom.logical.operation import Operation
from strongroom.logical.request import Request, refuse_directory_write
from strongroom.logical.response import Response
from strongroom.logical.storage import InmemStorage
from strongroom.util.clock import Clock, ManualClock
from strongroom.util.paths import ensure_trailing_slash


class BackendHarness:
    """A mounted backend without a core: one storage view, one clock, root-like requests."""

    def __init__(self, backend: Backend, storage: InmemStorage, clock: Clock, mount_path: str = "") -> None:
        self.backend = backend
        self.storage = storage
        self.clock = clock
        self.mount_path = mount_path

    @classmethod
    async def create(
        cls,
        factory: BackendFactory,
        mount_type: str,
        *,
        options: Mapping[str, str] | None = None,
        clock: Clock | None = None,
        mount_path: str = "",
        default_lease_ttl: int = 32 * 24 * 3600,
    ) -> BackendHarness:
        """Build the backend with `factory` over fresh in-memory storage and initialize it."""
        storage = InmemStorage()
        chosen_clock = clock if clock is not None else ManualClock()
        config = BackendConfig(
            storage=storage,
            mount_type=mount_type,
            mount_path=mount_path,
            options=dict(options or {}),
            system=StaticSystemView(default_ttl=default_lease_ttl, max_ttl=default_lease_ttl),
            clock=chosen_clock,
        )
        backend = await factory(config)
        await backend.initialize()
        return cls(backend, storage, chosen_clock, mount_path)

    def make_request(
        self,
        operation: Operation,
        path: str,
        data: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Request:
        """A request as the core would pass it to the backend (mount-relative path, the mount's storage)."""
        merged: dict[str, Any] = {**(query or {}), **(data or {})}
        return Request(
            operation=operation,
            path=path,
            data=merged,
            query=dict(query or {}),
            storage=self.storage,
            mount_point=self.mount_path,
        )

    async def request(
        self,
        operation: Operation,
        path: str,
        data: Mapping[str, Any] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> Response | None:
        """Send one request; CREATE/UPDATE go through the existence check as in the core."""
        request = self.make_request(operation, path, data, query)
        refuse_directory_write(request)
        if operation in (Operation.CREATE, Operation.UPDATE):
            exists = await self.backend.exists(request)
            flipped = Operation.CREATE if exists is False else Operation.UPDATE
            request = request.evolve(operation=flipped)
        return await self.backend.handle(request)

    async def read(self, path: str, **query: str) -> Response | None:
        return await self.request(Operation.READ, path, query=query)

    async def write(self, path: str, data: Mapping[str, Any] | None = None) -> Response | None:
        return await self.request(Operation.UPDATE, path, data or {})

    async def patch(self, path: str, data: Mapping[str, Any]) -> Response | None:
        return await self.request(Operation.PATCH, path, data)

    async def delete(self, path: str, data: Mapping[str, Any] | None = None) -> Response | None:
        return await self.request(Operation.DELETE, path, data)

    async def list(self, path: str, **query: str) -> Response | None:
        return await self.request(Operation.LIST, ensure_trailing_slash(path), query=query)

    async def help(self, path: str) -> Response | None:
        return await self.request(Operation.HELP, path)
