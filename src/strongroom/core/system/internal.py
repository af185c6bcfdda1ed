"""sys/internal/ui/mounts (how clients such as `bao kv` find a mount and its KV version) and
sys/internal/specs/openapi (the OpenAPI document generated from every mounted backend's declarations)."""

from __future__ import annotations

from typing import Any

from strongroom import __version__
from strongroom.core.services import Services
from strongroom.core.system.mounts import mount_info
from strongroom.errors import PermissionDeniedError
from strongroom.framework import FieldData, Path
from strongroom.logical import Caller, Operation, Request, Response
from strongroom.router import MountEntry


def paths(services: Services) -> list[Path]:
    """The internal paths."""
    manager = services.mounts

    async def has_access(caller: Caller, entry: MountEntry) -> bool:
        acl = await services.policies.acl(caller.policies)
        return acl.has_access_under(entry.api_path)

    async def listed(caller: Caller | None, entry: MountEntry) -> bool:
        if entry.config.listing_visibility == "unauth":  # listed for everyone, token or not
            return True
        return caller is not None and await has_access(caller, entry)

    async def list_mounts(request: Request, _data: FieldData) -> Response:
        listing: dict[str, dict[str, Any]] = {"auth": {}, "secret": {}}
        for entry in manager.router.entries():
            if not await listed(request.caller, entry):
                continue
            info = mount_info(entry)
            if request.caller is None:  # strangers learn only what a login page needs
                info = {k: info[k] for k in ("description", "options", "type")}
            listing["auth" if entry.table == "auth" else "secret"][entry.path] = info
        return Response(data=listing)

    async def read_mount(request: Request, data: FieldData) -> Response:
        path = data.get("path").strip("/") + "/"
        denied = PermissionDeniedError(
            "preflight capability check returned 403, please ensure client's policies grant access to "
            f'path "{path}"'
        )
        if request.caller is None:
            raise PermissionDeniedError()
        route = manager.router.route(path)
        if route is None or not await has_access(request.caller, route.entry):
            raise denied
        info = mount_info(route.entry)
        info["path"] = route.entry.api_path
        return Response(data=info)

    async def openapi(_request: Request, _data: FieldData) -> Response:
        document_paths: dict[str, Any] = {}
        for entry in manager.router.entries():
            route = manager.router.route(entry.api_path)
            if route is None:
                continue
            for key, item in route.backend.openapi_paths().items():
                document_paths["/" + entry.api_path.rstrip("/") + key] = item
        return Response(
            data={
                "openapi": "3.0.2",
                "info": {
                    "title": "strongroom API",
                    "description": "HTTP API that gives you full access to strongroom.",
                    "version": __version__,
                    "license": {"name": "Mozilla Public License 2.0"},
                },
                "paths": dict(sorted(document_paths.items())),
                "components": {"schemas": {}},
            }
        )

    return [
        Path(
            "internal/ui/mounts/?",
            operations={Operation.READ: list_mounts},
            synopsis="Lists the mounts the caller may see.",
        ),
        Path(
            "internal/ui/mounts/{path*}",
            operations={Operation.READ: read_mount},
            synopsis="Information about the mount that serves a path.",
        ),
        Path(
            "internal/specs/openapi",
            operations={Operation.READ: openapi},
            synopsis="Generate an OpenAPI 3 document of all mounted paths.",
        ),
    ]
