"""sys/key-status, sys/rotate and sys/step-down: the barrier's key terms, and giving up active status."""

from __future__ import annotations

from strongroom.core.services import Services
from strongroom.framework import FieldData, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339


def paths(services: Services) -> list[Path]:
    """The key-management paths."""

    async def key_status(_request: Request, _data: FieldData) -> Response:
        status = services.keyring.key_status()
        data = {
            "encryptions": status.encryptions,
            "install_time": rfc3339(status.install_time),
            "term": status.term,
        }
        return Response(data=data, legacy_top_level=True)

    async def rotate(_request: Request, _data: FieldData) -> None:
        await services.keyring.rotate()

    async def step_down(_request: Request, _data: FieldData) -> None:
        await services.leadership.step_down()

    return [
        Path("key-status", operations={Operation.READ: key_status},
             synopsis="Provides information about the backend encryption key."),
        Path("rotate", operations={Operation.UPDATE: rotate},
             synopsis="Rotates the backend encryption key used to persist data."),
        Path("step-down", operations={Operation.UPDATE: step_down},
             synopsis="Cause the node to give up active status."),
    ]  # fmt: skip
