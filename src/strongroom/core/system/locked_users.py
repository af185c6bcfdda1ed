"""sys/locked-users: the users auth methods have locked out after failed logins, and unlocking them.

Layer: core (framework-declared paths). Asks each auth mount whose backend is a LockingBackend; the failed
login records themselves stay in the auth method's own storage.
"""

from __future__ import annotations

from typing import Any

from strongroom.core.services import Services
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import LockingBackend, Operation, Request, Response


def paths(services: Services) -> list[Path]:
    """The locked-users paths."""
    router = services.mounts.router
    accessor_field = Field(FieldType.STRING, "MountAccessor is the identifier of the mount.")

    def locking_backends() -> list[tuple[str, LockingBackend]]:
        found: list[tuple[str, LockingBackend]] = []
        for entry in services.mounts.entries("auth"):
            route = router.route(entry.api_path)
            if route is not None and isinstance(route.backend, LockingBackend):
                found.append((entry.accessor, route.backend))
        return found

    async def list_locked(_request: Request, data: FieldData) -> Response:
        wanted = data.get("mount_accessor")
        accessors: list[dict[str, Any]] = []
        total = 0
        for accessor, backend in locking_backends():
            if wanted and accessor != wanted:
                continue
            names = await backend.locked_users()
            if names or wanted:
                accessors.append(
                    {"mount_accessor": accessor, "counts": len(names), "alias_identifiers": names or None}
                )
            total += len(names)
        namespace = {
            "namespace_id": "root",
            "namespace_path": "",
            "counts": total,
            "mount_accessors": accessors,
        }
        return Response(data={"by_namespace": [namespace], "total": total})

    async def unlock(_request: Request, data: FieldData) -> None:
        accessor = data.get("mount_accessor")
        for candidate, backend in locking_backends():
            if candidate == accessor:
                await backend.unlock_user(data.get("alias_identifier"))

    return [
        Path(
            "locked-users",
            fields={"mount_accessor": accessor_field},
            operations={Operation.READ: list_locked},
            synopsis="Report the locked user count metrics, for this namespace and all child namespaces.",
        ),
        Path(
            "locked-users/{mount_accessor}/unlock/{alias_identifier}",
            fields={
                "mount_accessor": accessor_field,
                "alias_identifier": Field(FieldType.STRING, "The name of the user to unlock."),
            },
            operations={Operation.UPDATE: unlock},
            synopsis="Unlocks the user with given mount_accessor and alias_identifier.",
        ),
    ]
