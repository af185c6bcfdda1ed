"""An auth method's roles, one stored record each under a prefix: the `role/` and `role/{name}` paths and
the read, delete, list and existence answers every such family gives alike (JWT/OIDC and Kubernetes
roles); each family brings its own fields and write. Layer: framework (imports logical).

Vault's behaviour kept here: a role read of a missing role is a 404 with no body, a delete of a missing
role succeeds, and a list with nothing in it has no "keys" (which the HTTP layer answers with a 404).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from strongroom.errors import InvalidRequestError
from strongroom.framework.fields import Field
from strongroom.framework.path import FieldData, Handler, Path
from strongroom.logical import Operation, Request, Response, Storage


class StoredRole(Protocol):
    def view(self) -> dict[str, Any]:
        """The role as a read shows it."""
        ...


R = TypeVar("R", bound=StoredRole)


@dataclass(frozen=True, slots=True)
class RoleRecords(Generic[R]):
    """The roles under `prefix`, each read back with `load(storage, name)` (None when absent)."""

    prefix: str
    load: Callable[[Storage, str], Awaitable[R | None]]

    @staticmethod
    def name(fields: FieldData) -> str:
        """The role named by the path; "missing role name" (Vault's words) when empty."""
        name: str = fields.get("name")
        if not name:
            raise InvalidRequestError("missing role name")
        return name

    async def exists(self, request: Request, fields: FieldData) -> bool:
        assert request.storage is not None
        return await self.load(request.storage, fields.get("name")) is not None

    async def read(self, request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        role = await self.load(request.storage, self.name(fields))
        return None if role is None else Response(data=role.view())

    async def delete(self, request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        await request.storage.delete(self.prefix + self.name(fields))
        return None

    async def list_keys(self, request: Request, fields: FieldData) -> Response | None:
        assert request.storage is not None
        keys = [key for key in await request.storage.list(self.prefix) if not key.endswith("/")]
        return Response(data={"keys": keys} if keys else {})

    def paths(
        self, *, fields: dict[str, Field], write: Handler, synopsis: str, description: str
    ) -> list[Path]:
        """`role/` (LIST) and `role/{name}` (read, create and update with `write`, delete)."""
        return [
            Path(
                "role/?",
                operations={Operation.LIST: self.list_keys},
                synopsis="Lists all the roles registered with the backend.",
                description="The list will contain the names of the roles.",
            ),
            Path(
                "role/{name}",
                fields=fields,
                operations={
                    Operation.READ: self.read,
                    Operation.CREATE: write,
                    Operation.UPDATE: write,
                    Operation.DELETE: self.delete,
                },
                existence_check=self.exists,
                synopsis=synopsis,
                description=description,
            ),
        ]
