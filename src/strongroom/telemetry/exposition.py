"""The Prometheus side of a MetricsRegistry: its families presented to prometheus-client at scrape time.

Layer: telemetry. Imports prometheus-client and telemetry.registry; imported on the first Prometheus
scrape, so a server that is never scraped never loads prometheus-client.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from strongroom.telemetry.registry import Family, MetricKind

__all__ = ["generate_latest", "prometheus_registry"]


def prometheus_registry(families: Mapping[str, Family]) -> CollectorRegistry:
    """A CollectorRegistry of its own over `families` (read at each scrape), with the process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_FamiliesCollector(families))
    ProcessCollector(registry=registry)
    return registry


class _FamiliesCollector(Collector):
    """Presents the registry's families to prometheus-client at scrape time."""

    def __init__(self, families: Mapping[str, Family]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        for name in sorted(self._families):
            family = self._families[name]
            spec = family.spec
            if spec.kind is MetricKind.GAUGE:
                gauge = GaugeMetricFamily(spec.prometheus_name, spec.help, labels=spec.labels)
                for labels, series in family.items():
                    gauge.add_metric([labels[k] for k in spec.labels], series.value)
                yield gauge
            elif spec.kind is MetricKind.COUNTER:
                counter = Metric(spec.prometheus_name, spec.help, "unknown")
                for labels, series in family.items():
                    counter.add_sample(spec.prometheus_name, labels, series.total)
                yield counter
            else:
                yield _histogram(family)


def _histogram(family: Family) -> HistogramMetricFamily:
    spec = family.spec
    histogram = HistogramMetricFamily(spec.prometheus_name, spec.help, labels=spec.labels)
    for labels, series in family.items():
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip((*spec.buckets, math.inf), series.bucket_counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == math.inf else _bound(bound), cumulative))
        histogram.add_metric([labels[k] for k in spec.labels], buckets, series.total)
    return histogram


def _bound(bound: float) -> str:
    return str(int(bound)) if bound == int(bound) else str(bound)
