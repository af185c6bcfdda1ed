"""sys/metrics, sys/in-flight-req and sys/host-info: what a server measures, serves now, and runs on.

Layer: core (framework-declared paths over the telemetry service). Each needs a token allowed to read the
path, as in Vault; a listener with unauthenticated_metrics_access serves sys/metrics before the pipeline.
"""

from __future__ import annotations

import asyncio

import orjson

from strongroom.core.services import Services
from strongroom.framework import Field, FieldData, Path
from strongroom.logical import Operation, Request, Response
from strongroom.telemetry import metrics_format
from strongroom.telemetry.hostinfo import host_info


def paths(services: Services) -> list[Path]:
    """The telemetry paths."""
    telemetry = services.telemetry

    async def metrics(request: Request, data: FieldData) -> Response:
        rendered = await telemetry.render(
            metrics_format(data.get("format"), request.headers.get("accept", ""))
        )
        return Response(raw_body=rendered.body, status=rendered.status, content_type=rendered.content_type)

    async def in_flight(_request: Request, _data: FieldData) -> Response:
        return Response(raw_body=orjson.dumps(telemetry.in_flight.snapshot()), status=200)

    async def host(_request: Request, _data: FieldData) -> Response:
        return Response(data=await asyncio.to_thread(host_info))

    return [
        Path(
            "metrics",
            fields={
                "format": Field(description='The format of the metrics: "prometheus", or empty for JSON.')
            },
            operations={Operation.READ: metrics},
            synopsis="Export the metrics aggregated for telemetry purpose.",
        ),
        Path(
            "in-flight-req",
            operations={Operation.READ: in_flight},
            synopsis="Reports the requests being served now.",
        ),
        Path(
            "host-info",
            operations={Operation.READ: host},
            synopsis="Information about the host instance that this node is running on.",
        ),
    ]
