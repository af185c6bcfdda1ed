"""sys/key-status, sys/rotate (and OpenBao's sys/rotate/keyring), the automatic rotation config
(sys/rotate/keyring/config, alias sys/rotate/config) and sys/step-down: the barrier's key terms, and giving
up active status."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.barrier.keyring import MAX_OPERATIONS, MIN_INTERVAL, MIN_OPERATIONS
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339
from strongroom.util.durations import format_duration

_ROTATION_FIELDS = {
    "max_operations": Field(FieldType.INT, "The number of encryption operations performed before the key "
                            "is rotated automatically."),
    "interval": Field(FieldType.DURATION, "How long after installation a key is rotated automatically; "
                      "0 disables rotation by time."),
    "enabled": Field(FieldType.BOOL, "Whether automatic rotation is enabled."),
}  # fmt: skip


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

    async def read_rotation(_request: Request, _data: FieldData) -> Response:
        config = services.keyring.rotation_config()
        # Vault shows a set interval as a Go duration string, an unset one as the number 0.
        interval: Any = format_duration(config.interval) if config.interval else 0
        data = {"max_operations": config.max_operations, "interval": interval, "enabled": config.enabled}
        return Response(data=data)

    async def write_rotation(_request: Request, data: FieldData) -> None:
        changes: dict[str, Any] = {}
        for name in _ROTATION_FIELDS:
            value, given = data.get_ok(name)
            if given:
                changes[name] = value
        config = replace(services.keyring.rotation_config(), **changes)
        if 0 < config.interval < MIN_INTERVAL:
            raise InvalidRequestError(f"interval must be greater or equal to {format_duration(MIN_INTERVAL)}")
        if not MIN_OPERATIONS <= config.max_operations <= MAX_OPERATIONS:
            raise InvalidRequestError(
                f"max_operations must be in the range [{MIN_OPERATIONS},{MAX_OPERATIONS}]"
            )
        await services.keyring.set_rotation_config(config)

    rotation_config = {Operation.READ: read_rotation, Operation.UPDATE: write_rotation}
    rotation_help = "Configures settings related to the backend encryption key management."

    return [
        Path("key-status", operations={Operation.READ: key_status},
             synopsis="Provides information about the backend encryption key."),
        Path("rotate", operations={Operation.UPDATE: rotate},
             synopsis="Rotates the backend encryption key used to persist data."),
        Path("rotate/keyring", operations={Operation.UPDATE: rotate},
             synopsis="Rotates the backend encryption key used to persist data."),
        Path("rotate/keyring/config", fields=_ROTATION_FIELDS, operations=rotation_config,
             synopsis=rotation_help),
        Path("rotate/config", fields=_ROTATION_FIELDS, operations=rotation_config, synopsis=rotation_help),
        Path("step-down", operations={Operation.UPDATE: step_down},
             synopsis="Cause the node to give up active status."),
    ]  # fmt: skip
