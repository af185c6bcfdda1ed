"""The metrics registry: Vault's names, the Prometheus exposition, Vault's JSON summary, retention."""

from __future__ import annotations

import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from strongroom.telemetry import MetricKind, MetricSpec, MetricsRegistry


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


LATENCY = MetricSpec(
    "vault.core.handle_request", MetricKind.HISTOGRAM, "latency", labels=("mount_point",), buckets=(1, 10)
)
FAILURES = MetricSpec("vault.audit.log_failure", MetricKind.COUNTER, "failures", labels=("path",))
UNSEALED = MetricSpec("vault.core.unsealed", MetricKind.GAUGE, "sealed?")


def families(text: bytes) -> dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    found: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for family in text_string_to_metric_families(text.decode()):
        found[family.name] = {(s.name, tuple(sorted(s.labels.items()))): s.value for s in family.samples}
    return found


def test_prometheus_text_uses_vault_names_and_cumulative_buckets() -> None:
    registry = MetricsRegistry(retention=3600, clock=Ticks())
    latency, failures, unsealed = registry.add(LATENCY), registry.add(FAILURES), registry.add(UNSEALED)
    for value in (0.5, 1.0, 7.0, 30.0):
        latency.observe(value, ("secret/",))
    failures.inc(labels=("file/",))
    failures.inc(2, ("file/",))
    unsealed.set(1)

    parsed = families(registry.prometheus_text())

    mount = (("mount_point", "secret/"),)
    assert parsed["vault_core_handle_request"] == {
        ("vault_core_handle_request_bucket", (("le", "1"), *mount)): 2.0,
        ("vault_core_handle_request_bucket", (("le", "10"), *mount)): 3.0,
        ("vault_core_handle_request_bucket", (("le", "+Inf"), *mount)): 4.0,
        ("vault_core_handle_request_count", mount): 4.0,
        ("vault_core_handle_request_sum", mount): 38.5,
    }
    # Vault's counter names carry no "_total", so existing dashboards find them.
    assert parsed["vault_audit_log_failure"] == {("vault_audit_log_failure", (("path", "file/"),)): 3.0}
    assert parsed["vault_core_unsealed"] == {("vault_core_unsealed", ()): 1.0}
    assert "process_start_time_seconds" in parsed


def test_each_registry_is_its_own() -> None:
    first, second = MetricsRegistry(retention=60), MetricsRegistry(retention=60)
    first.add(UNSEALED).set(1)
    second.add(UNSEALED)
    assert families(second.prometheus_text())["vault_core_unsealed"] == {}


def test_summary_is_vaults_json_shape() -> None:
    registry = MetricsRegistry(retention=3600, clock=Ticks(), wall_clock=lambda: 1_700_000_003.9)
    latency, failures, unsealed = registry.add(LATENCY), registry.add(FAILURES), registry.add(UNSEALED)
    for value in (1.0, 2.0, 3.0):
        latency.observe(value, ("secret/",))
    failures.set_total(5, ("file/",))
    unsealed.set(0)

    summary = registry.summary()

    assert summary["Timestamp"] == "2023-11-14 22:13:23 +0000 UTC"
    assert summary["Points"] == []
    assert summary["Gauges"] == [{"Name": "vault.core.unsealed", "Value": 0.0, "Labels": {}}]
    (counter,) = summary["Counters"]
    assert (counter["Name"], counter["Count"], counter["Sum"], counter["Labels"]) == (
        "vault.audit.log_failure", 5, 5.0, {"path": "file/"}
    )  # fmt: skip
    (sample,) = summary["Samples"]
    assert sample["Name"] == "vault.core.handle_request"
    assert (sample["Count"], sample["Sum"], sample["Min"], sample["Max"]) == (3, 6.0, 1.0, 3.0)
    assert sample["Mean"] == 2.0
    assert math.isclose(sample["Stddev"], 1.0)
    assert sample["Labels"] == {"mount_point": "secret/"}


def test_series_not_updated_within_the_retention_time_are_dropped() -> None:
    ticks = Ticks()
    registry = MetricsRegistry(retention=60, clock=ticks)
    latency = registry.add(LATENCY)
    latency.observe(1.0, ("old/",))
    ticks.now += 45
    latency.observe(1.0, ("new/",))
    ticks.now += 30

    labels = [s["Labels"]["mount_point"] for s in registry.summary()["Samples"]]

    assert labels == ["new/"]


def test_label_values_must_match_the_declaration() -> None:
    latency = MetricsRegistry(retention=60).add(LATENCY)
    with pytest.raises(ValueError, match=r"takes labels \('mount_point',\), got 2 values"):
        latency.observe(1.0, ("a/", "b"))


def test_a_name_is_declared_once() -> None:
    registry = MetricsRegistry(retention=60)
    registry.add(UNSEALED)
    with pytest.raises(ValueError, match="already declared"):
        registry.add(UNSEALED)


def test_prometheus_names_replace_dots_and_dashes() -> None:
    spec = MetricSpec("vault.route.list-page", MetricKind.GAUGE, "")
    assert spec.prometheus_name == "vault_route_list_page"
