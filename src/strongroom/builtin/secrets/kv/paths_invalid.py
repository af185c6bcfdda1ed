"""KV v2's answer to paths outside its API (`GET secret/foo`): 404 with OpenBao's hint to use `bao kv`.

Layer: builtin. Imports framework and logical. Declared last, so it only catches what nothing else matched.
"""

from __future__ import annotations

from strongroom.framework import FieldData, Handler, Path
from strongroom.logical import Operation, Request, Response

_HINT = (
    "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to "
    "use. If using the OpenBao CLI, use 'bao kv {command}' for this operation."
)

_COMMANDS = {
    Operation.READ: "get",
    Operation.CREATE: "put",
    Operation.UPDATE: "put",
    Operation.PATCH: "patch",
    Operation.DELETE: "delete",
    Operation.LIST: "list",
}


def _answer(command: str) -> Handler:
    async def handler(request: Request, fields: FieldData) -> Response | None:
        return Response(status=404, warnings=(_HINT.format(command=command),))

    return handler


def paths() -> list[Path]:
    """The catch-all declaration of a KV v2 mount."""
    return [
        Path(
            "{path*}",
            operations={operation: _answer(command) for operation, command in _COMMANDS.items()},
            synopsis="Invalid path for a versioned K/V secrets engine.",
            any_data=True,
        )
    ]
