"""A server's metrics: counters, gauges and histograms kept by label values, rendered two ways.

Layer: telemetry (a service). Imports the stdlib, and telemetry.exposition (prometheus-client) on the
first Prometheus scrape.

Metrics carry Vault's dotted names ("vault.core.handle_request"); the Prometheus exposition uses the same
name with underscores (vault_core_handle_request), so dashboards built for Vault keep working. Each
registry owns its own prometheus-client CollectorRegistry: servers in one process never share metrics.

Vault's prometheus sink exposes counters without the "_total" suffix prometheus-client would add, so
counters are exposed untyped under their exact Vault names.

A series that has not changed for `retention` seconds is dropped, as Vault's prometheus sink expires it.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class MetricKind(StrEnum):
    """What a metric measures, which decides how it is kept and rendered."""

    COUNTER = "counter"
    GAUGE = "gauge"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric's declaration: its Vault name, kind, help text, label names and (histograms) buckets."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()

    @property
    def prometheus_name(self) -> str:
        """The name in the Prometheus exposition: vault.core.handle_request -> vault_core_handle_request."""
        return self.name.replace(".", "_").replace("-", "_")


@dataclass(slots=True)
class _Series:
    """The running values of one label combination."""

    updated: float
    count: int = 0
    total: float = 0.0
    squares: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    value: float = 0.0
    bucket_counts: list[int] = field(default_factory=list)


class Family:
    """One metric and its series, one per combination of label values."""

    def __init__(self, spec: MetricSpec, clock: Callable[[], float]) -> None:
        self.spec = spec
        self._clock = clock
        self._series: dict[tuple[str, ...], _Series] = {}

    def _get(self, labels: Sequence[str]) -> _Series:
        if len(labels) != len(self.spec.labels):
            raise ValueError(f"{self.spec.name} takes labels {self.spec.labels}, got {len(labels)} values")
        key = tuple(labels)
        series = self._series.get(key)
        if series is None:
            series = _Series(updated=self._clock(), bucket_counts=[0] * (len(self.spec.buckets) + 1))
            self._series[key] = series
        series.updated = self._clock()
        return series

    def inc(self, amount: float = 1.0, labels: Sequence[str] = ()) -> None:
        """Add to a counter."""
        self._sample(self._get(labels), amount)

    def set_total(self, total: float, labels: Sequence[str] = ()) -> None:
        """Set a counter kept elsewhere (an audit broker's failure count) to its current total."""
        series = self._get(labels)
        series.count, series.total, series.value = int(total), float(total), float(total)

    def set(self, value: float, labels: Sequence[str] = ()) -> None:
        """Set a gauge."""
        self._get(labels).value = float(value)

    def observe(self, value: float, labels: Sequence[str] = ()) -> None:
        """Record one observation in a histogram."""
        series = self._get(labels)
        self._sample(series, value)
        series.bucket_counts[bisect_left(self.spec.buckets, value)] += 1

    def clear(self) -> None:
        """Forget every series (a gauge whose source went away)."""
        self._series.clear()

    def expire(self, older_than: float) -> None:
        """Drop the series not updated since `older_than` (a monotonic time)."""
        for key in [k for k, s in self._series.items() if s.updated < older_than]:
            del self._series[key]

    def items(self) -> Iterator[tuple[dict[str, str], _Series]]:
        """Each series with its labels, in label order."""
        for key in sorted(self._series):
            yield dict(zip(self.spec.labels, key, strict=True)), self._series[key]

    @staticmethod
    def _sample(series: _Series, value: float) -> None:
        series.count += 1
        series.total += value
        series.squares += value * value
        series.low = min(series.low, value)
        series.high = max(series.high, value)
        series.value = series.total


class MetricsRegistry:
    """Every metric of one server; renders the Prometheus text exposition and Vault's JSON summary."""

    def __init__(
        self,
        *,
        retention: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention = retention
        self._clock = clock
        self._wall_clock = wall_clock
        self._started = clock()
        self._families: dict[str, Family] = {}
        self._prometheus: CollectorRegistry | None = None

    def add(self, spec: MetricSpec) -> Family:
        """Declare a metric; its name must be new."""
        if spec.name in self._families:
            raise ValueError(f"metric {spec.name} is already declared")
        family = Family(spec, self._clock)
        self._families[spec.name] = family
        return family

    def expire(self) -> None:
        """Drop the series older than the retention time."""
        if self.retention > 0:
            deadline = self._clock() - self.retention
            for family in self._families.values():
                family.expire(deadline)

    def prometheus_text(self) -> bytes:
        """The Prometheus text exposition (format 0.0.4), process metrics included."""
        from strongroom.telemetry.exposition import generate_latest, prometheus_registry

        self.expire()
        if self._prometheus is None:
            self._prometheus = prometheus_registry(self._families)
        return generate_latest(self._prometheus)

    def summary(self) -> dict[str, Any]:
        """Vault's JSON metrics shape (go-metrics' in-memory summary), cumulative since the server started."""
        self.expire()
        elapsed = max(self._clock() - self._started, 1e-9)
        gauges: list[dict[str, Any]] = []
        counters: list[dict[str, Any]] = []
        samples: list[dict[str, Any]] = []
        for name in sorted(self._families):
            family = self._families[name]
            for labels, series in family.items():
                if family.spec.kind is MetricKind.GAUGE:
                    gauges.append({"Name": name, "Value": series.value, "Labels": labels})
                else:
                    entry = _aggregate(name, series, labels, elapsed)
                    (counters if family.spec.kind is MetricKind.COUNTER else samples).append(entry)
        moment = datetime.fromtimestamp(self._wall_clock(), tz=UTC)
        return {
            "Timestamp": moment.strftime("%Y-%m-%d %H:%M:%S +0000 UTC"),
            "Gauges": gauges,
            "Points": [],
            "Counters": counters,
            "Samples": samples,
        }


def _aggregate(name: str, series: _Series, labels: Mapping[str, str], elapsed: float) -> dict[str, Any]:
    """go-metrics' AggregateSample fields for one series (Rate is per second since the server started)."""
    mean = series.total / series.count if series.count else 0.0
    # The sample standard deviation, as go-metrics computes it.
    spread = (series.squares - series.total * mean) / (series.count - 1) if series.count > 1 else 0.0
    return {
        "Name": name,
        "Count": series.count,
        "Rate": series.total / elapsed,
        "Sum": series.total,
        "Min": series.low if series.count else 0.0,
        "Max": series.high if series.count else 0.0,
        "Mean": mean,
        "Stddev": math.sqrt(max(spread, 0.0)),
        "Labels": dict(labels),
    }
