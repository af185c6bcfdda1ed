"""Telemetry: what a server measures (requests, tokens, leases, audit failures, seal state) and sys/metrics.

Layer: telemetry (a service, beside tokens, policy, audit and leases). Imports the registry and in-flight
table beside it and the stdlib; the core lends it what it reads through `Sources`, on unseal.

Invariant: metrics and their labels carry mount paths, types, operations and counts only; never a request
path beyond its mount, a token, or a value.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import orjson

from strongroom.telemetry.inflight import ROOT_NAMESPACE_ID, InFlightRequests
from strongroom.telemetry.registry import PROMETHEUS_CONTENT_TYPE, MetricKind, MetricSpec, MetricsRegistry

DEFAULT_RETENTION = 24 * 3600
DEFAULT_USAGE_GAUGE_PERIOD = 600
PROMETHEUS = "prometheus"
# Accept headers that ask for the Prometheus format (Vault's metricsutil.FormatFromRequest).
_OPENMETRICS = "application/openmetrics-text"
_PROMETHEUS_SCHEMA = "prometheus/telemetry"

HANDLE_REQUEST = MetricSpec(
    "vault.core.handle_request",
    MetricKind.HISTOGRAM,
    "Time to serve a request, in milliseconds (Vault's unit), by mount, operation and HTTP status class.",
    labels=("mount_point", "mount_type", "operation", "status_class"),
    buckets=(1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
IN_FLIGHT = MetricSpec("vault.core.in_flight_requests", MetricKind.GAUGE, "Requests being served now.")
UNSEALED = MetricSpec("vault.core.unsealed", MetricKind.GAUGE, "1 when the server is unsealed, else 0.")
UPTIME = MetricSpec("strongroom.uptime_seconds", MetricKind.GAUGE, "Seconds since the server started.")
TOKEN_COUNT = MetricSpec(
    "vault.token.count",
    MetricKind.GAUGE,
    "Stored tokens by type, counted every usage_gauge_period.",
    labels=("namespace", "token_type"),
)
NUM_LEASES = MetricSpec("vault.expire.num_leases", MetricKind.GAUGE, "Leases the lease manager holds.")
AUDIT_FAILURES = MetricSpec(
    "vault.audit.log_failure",
    MetricKind.COUNTER,
    "Entries an audit device failed to record, by device path.",
    labels=("path",),
)


MountOf = Callable[[str], tuple[str, str] | None]
"""API path ("secret/data/x") -> (mount path, mount type) of the mount serving it, or None."""


@dataclass(frozen=True, slots=True)
class Sources:
    """What an unsealed core lends telemetry. A part that does not exist (yet) is not reported."""

    mount_of: MountOf
    token_counts: Callable[[], Awaitable[Mapping[str, int]]]
    lease_count: Callable[[], Awaitable[int]] | None = None
    # Failed writes by audit device path since unseal.
    audit_failures: Callable[[], Mapping[str, int]] | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    """A sys/metrics answer."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class FinishedRequest:
    """What the HTTP layer may log about a request once it is answered."""

    mount_point: str
    milliseconds: float


def metrics_format(requested: str, accept: str) -> str:
    """The format asked for: the `format` parameter, else "prometheus" when the Accept header wants it."""
    if requested:
        return requested
    if accept.startswith(_OPENMETRICS) or _PROMETHEUS_SCHEMA in accept:
        return PROMETHEUS
    return ""


class Telemetry:
    """One server's metrics and in-flight requests; outlives seals (the core attaches sources on unseal)."""

    def __init__(
        self,
        *,
        retention: int = DEFAULT_RETENTION,
        usage_gauge_period: int = DEFAULT_USAGE_GAUGE_PERIOD,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.usage_gauge_period = usage_gauge_period
        self._clock = clock
        self._started = clock()
        self.registry = MetricsRegistry(retention=retention, clock=clock, wall_clock=wall_clock)
        self.in_flight = InFlightRequests(clock=clock, wall_clock=wall_clock)
        self._handle_request = self.registry.add(HANDLE_REQUEST)
        self._in_flight = self.registry.add(IN_FLIGHT)
        self._unsealed = self.registry.add(UNSEALED)
        self._uptime = self.registry.add(UPTIME)
        self._tokens = self.registry.add(TOKEN_COUNT)
        self._leases = self.registry.add(NUM_LEASES)
        self._audit_failures = self.registry.add(AUDIT_FAILURES)
        self._sources: Sources | None = None
        self._tokens_counted_at: float | None = None

    @property
    def prometheus_enabled(self) -> bool:
        """False when prometheus_retention_time is 0, which turns the Prometheus format off (as in Vault)."""
        return self.registry.retention > 0

    def attach(self, sources: Sources) -> None:
        """The core is unsealed: read its services from now on."""
        self._sources = sources
        self._tokens_counted_at = None

    def detach(self) -> None:
        """The core is sealed: its services are gone, and so are the gauges read from them."""
        self._sources = None
        self._tokens.clear()
        self._leases.clear()
        self._audit_failures.clear()

    def request_started(self, request_id: str, *, method: str, path: str, remote_address: str) -> None:
        """An HTTP request has arrived (`path` is the raw one, /v1/...)."""
        self.in_flight.begin(request_id, method=method, path=path, remote_address=remote_address)

    def request_finished(self, request_id: str, *, operation: str, status: int) -> FinishedRequest | None:
        """The request is answered: leave the in-flight table and count it under its mount."""
        ended = self.in_flight.end(request_id)
        if ended is None:
            return None
        path, seconds = ended
        mount = None
        if self._sources is not None and path.startswith("/v1/"):
            mount = self._sources.mount_of(path[len("/v1/") :])
        mount_point, mount_type = mount or ("", "")
        milliseconds = seconds * 1000
        self._handle_request.observe(milliseconds, (mount_point, mount_type, operation, f"{status // 100}xx"))
        return FinishedRequest(mount_point=mount_point, milliseconds=milliseconds)

    def status_request_finished(self, request_id: str) -> None:
        """A node status request (sys/health, sys/seal-status, ...) is answered. As in Vault, it was in
        flight but is not counted as a handled request: those are the requests the core serves."""
        self.in_flight.end(request_id)

    async def render(self, fmt: str) -> Rendered:
        """sys/metrics in `fmt`: "" for Vault's JSON summary, "prometheus" for the text exposition."""
        if fmt not in ("", PROMETHEUS):
            return Rendered(400, "text/plain", f'metric response format "{fmt}" unknown'.encode())
        if fmt == PROMETHEUS and not self.prometheus_enabled:
            return Rendered(400, "text/plain", b"prometheus is not enabled")
        await self._refresh()
        if fmt == PROMETHEUS:
            return Rendered(200, PROMETHEUS_CONTENT_TYPE, self.registry.prometheus_text())
        return Rendered(200, "application/json", orjson.dumps(self.registry.summary()))

    async def _refresh(self) -> None:
        """Set the gauges read at scrape time from the attached sources."""
        self._in_flight.set(len(self.in_flight))
        self._uptime.set(self._clock() - self._started)
        sources = self._sources
        self._unsealed.set(0 if sources is None else 1)
        if sources is None:
            return
        await self._count_tokens(sources)
        if sources.lease_count is not None:
            self._leases.set(await sources.lease_count())
        if sources.audit_failures is not None:
            for path, count in sources.audit_failures().items():
                self._audit_failures.set_total(count, (path,))

    async def _count_tokens(self, sources: Sources) -> None:
        """Count tokens at most once per usage_gauge_period (0 turns the count off, as Vault's "none")."""
        if self.usage_gauge_period <= 0:
            return
        now = self._clock()
        if self._tokens_counted_at is not None and now - self._tokens_counted_at < self.usage_gauge_period:
            return
        self._tokens_counted_at = now
        self._tokens.clear()
        for token_type, count in (await sources.token_counts()).items():
            self._tokens.set(count, (ROOT_NAMESPACE_ID, token_type))
