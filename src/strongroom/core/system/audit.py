"""sys/audit (list), sys/audit/<path> (enable, disable) and sys/audit-hash/<path>: the audit devices.

Layer: core (framework-declared paths over the audit broker).
Enabling a device through the API is refused unless the server config sets unsafe_allow_api_audit_creation
(OpenBao's rule, in dev mode too); devices declared in the config file cannot be disabled here.
"""

from __future__ import annotations

from strongroom.audit import DeviceSpec
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339

_DEVICE_FIELDS = {
    "path": Field(FieldType.STRING, "The name of the audit device."),
    "type": Field(FieldType.STRING, "The type of the audit device (file, socket or syslog)."),
    "description": Field(FieldType.STRING, "User-friendly description for this audit device."),
    "options": Field(FieldType.KV_PAIRS, "Configuration options for the audit device."),
    "local": Field(FieldType.BOOL, "Mark the device as local-only (kept for Vault compatibility)."),
}
_HASH_FIELDS = {
    "path": Field(FieldType.STRING, "The name of the audit device."),
    "input": Field(FieldType.STRING, "The value to hash."),
}


def paths(services: Services) -> list[Path]:
    """The audit-device paths."""
    broker = services.audit

    async def list_devices(_request: Request, _data: FieldData) -> Response:
        # An empty listing is still an answer (200 with "data": {}), not a missing path.
        return Response(data=broker.list(), legacy_top_level=True, status=200)

    async def enable(_request: Request, data: FieldData) -> None:
        kind = data.get("type")
        if not kind and broker.allow_api_creation:
            raise InvalidRequestError("backend type must be specified as a string")
        await broker.enable(
            DeviceSpec(
                path=data.get("path"),
                type=kind,
                description=data.get("description"),
                options=dict(data.get("options") or {}),
                local=data.get("local"),
            )
        )

    async def disable(_request: Request, data: FieldData) -> None:
        await broker.disable(data.get("path"))

    async def status(_request: Request, _data: FieldData) -> Response:
        devices = {
            path: {
                "healthy": counters.consecutive_failures == 0,
                "writes": counters.writes,
                "failures": counters.failures,
                "consecutive_failures": counters.consecutive_failures,
                "last_failure": counters.last_failure or None,
                "last_failure_time": (
                    rfc3339(counters.last_failure_time) if counters.last_failure_time is not None else None
                ),
            }
            for path, counters in broker.counters().items()
        }
        return Response(data={"devices": devices}, status=200)

    async def audit_hash(_request: Request, data: FieldData) -> Response:
        value = data.get("input")
        if not value:
            raise InvalidRequestError('the "input" parameter is empty')
        return Response(data={"hash": broker.hash(data.get("path"), value)}, legacy_top_level=True)

    return [
        Path(
            "audit-status",
            operations={Operation.READ: status},
            synopsis="Whether each audit device is recording, with its write and failure counts.",
        ),
        Path("audit/?", operations={Operation.READ: list_devices},
             synopsis="List the enabled audit devices."),
        Path("audit/{path*}", fields=_DEVICE_FIELDS,
             operations={Operation.UPDATE: enable, Operation.DELETE: disable},
             synopsis="Enable or disable an audit device."),
        Path("audit-hash/{path*}", fields=_HASH_FIELDS, operations={Operation.UPDATE: audit_hash},
             synopsis="The hash of a value, as the audit device would write it."),
    ]  # fmt: skip
