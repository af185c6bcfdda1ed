"""Telemetry: metrics (sys/metrics, Prometheus and Vault's JSON), requests in flight, host facts.

Layer: a service beside tokens, policy, audit and leases; the core wires it and lends it what it reads.
"""

from strongroom.telemetry.inflight import InFlightRequests, client_id
from strongroom.telemetry.registry import MetricKind, MetricSpec, MetricsRegistry
from strongroom.telemetry.service import (
    DEFAULT_RETENTION,
    DEFAULT_USAGE_GAUGE_PERIOD,
    FinishedRequest,
    MountOf,
    Rendered,
    Sources,
    Telemetry,
    metrics_format,
)

__all__ = [
    "DEFAULT_RETENTION",
    "DEFAULT_USAGE_GAUGE_PERIOD",
    "FinishedRequest",
    "InFlightRequests",
    "MetricKind",
    "MetricSpec",
    "MetricsRegistry",
    "MountOf",
    "Rendered",
    "Sources",
    "Telemetry",
    "client_id",
    "metrics_format",
]
