"""Telemetry: request counting, in-flight requests, the gauges read from an unsealed core, sys/metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from prometheus_client.parser import text_string_to_metric_families

from strongroom.telemetry import InFlightRequests, Sources, Telemetry, client_id, metrics_format


class Ticks:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class FakeCore:
    """Stands in for what an unsealed core lends: a mount table, token counts, audit counters."""

    def __init__(self) -> None:
        self.tokens = {"service": 2, "batch": 1}
        self.token_counts_asked = 0
        self.audit = {"file/": 0}

    def mount_of(self, path: str) -> tuple[str, str] | None:
        return ("secret/", "kv") if path.startswith("secret/") else None

    async def token_counts(self) -> Mapping[str, int]:
        self.token_counts_asked += 1
        return dict(self.tokens)

    async def lease_count(self) -> int:
        return 7

    def sources(self) -> Sources:
        return Sources(
            mount_of=self.mount_of,
            token_counts=self.token_counts,
            lease_count=self.lease_count,
            audit_failures=lambda: dict(self.audit),
        )


async def gauges(telemetry: Telemetry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    rendered = await telemetry.render("")
    assert (rendered.status, rendered.content_type) == (200, "application/json")
    summary: dict[str, Any] = orjson.loads(rendered.body)
    found = {(g["Name"], tuple(sorted(g["Labels"].items()))): g["Value"] for g in summary["Gauges"]}
    found |= {(c["Name"], tuple(sorted(c["Labels"].items()))): c["Count"] for c in summary["Counters"]}
    return found


def test_client_id_is_vaults() -> None:
    # Both values read from an OpenBao dev server's sys/in-flight-req.
    assert client_id("", ["root"]) == "0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8="
    assert client_id("", ["rd", "default"]) == "yRs3XYVbfY7KUkwuM4RWODOzET+oksmL18dIymG8m94="
    assert client_id("entity-1", ["root"]) == "entity-1"


def test_in_flight_table_shows_requests_until_they_end() -> None:
    ticks = Ticks()
    table = InFlightRequests(clock=ticks, wall_clock=lambda: 1_700_000_000.25)
    table.begin("req-1", method="PUT", path="/v1/secret/data/a", remote_address="127.0.0.1:5000")
    table.identify("req-1", "client-a")
    table.identify("unknown", "ignored")

    assert table.snapshot() == {
        "req-1": {
            "start_time": "2023-11-14T22:13:20.25Z",
            "client_remote_address": "127.0.0.1:5000",
            "request_path": "/v1/secret/data/a",
            "request_method": "PUT",
            "client_id": "client-a",
        }
    }
    ticks.now += 0.5
    ended = table.end("req-1")
    assert ended is not None
    assert ended[1] == 0.5
    assert table.snapshot() == {}
    assert table.end("req-1") is None
    # The caller went with the entry: the same ID begun again (or identified late) has no client ID.
    table.identify("req-1", "too-late")
    table.begin("req-1", method="GET", path="/v1/sys/health", remote_address="127.0.0.1:5001")
    assert table.snapshot()["req-1"]["client_id"] == ""


async def test_requests_are_counted_by_mount_operation_and_status_class() -> None:
    ticks = Ticks()
    telemetry = Telemetry(clock=ticks)
    telemetry.attach(FakeCore().sources())
    for request_id, path, operation, status, took in (
        ("a", "/v1/secret/data/x", "update", 200, 0.004),
        ("b", "/v1/secret/data/x", "read", 200, 0.002),
        ("c", "/v1/secret/data/y", "read", 404, 0.001),
        ("d", "/v1/nowhere/x", "read", 404, 0.001),
    ):
        telemetry.request_started(request_id, method="GET", path=path, remote_address="")
        ticks.now += took
        finished = telemetry.request_finished(request_id, operation=operation, status=status)
        assert finished is not None

    rendered = await telemetry.render("prometheus")

    assert rendered.content_type == "text/plain; version=0.0.4; charset=utf-8"
    counts = {
        tuple(s.labels[k] for k in ("mount_point", "mount_type", "operation", "status_class")): s.value
        for family in text_string_to_metric_families(rendered.body.decode())
        for s in family.samples
        if s.name == "vault_core_handle_request_count"
    }
    assert counts == {
        ("secret/", "kv", "update", "2xx"): 1.0,
        ("secret/", "kv", "read", "2xx"): 1.0,
        ("secret/", "kv", "read", "4xx"): 1.0,
        ("", "", "read", "4xx"): 1.0,
    }
    assert telemetry.request_finished("a", operation="read", status=200) is None


async def test_gauges_come_from_the_attached_core_and_go_with_it() -> None:
    telemetry = Telemetry()
    core = FakeCore()
    assert (await gauges(telemetry))[("vault.core.unsealed", ())] == 0.0

    telemetry.attach(core.sources())
    core.audit["file/"] = 3
    found = await gauges(telemetry)

    assert found[("vault.core.unsealed", ())] == 1.0
    assert found[("vault.token.count", (("namespace", "root"), ("token_type", "service")))] == 2.0
    assert found[("vault.token.count", (("namespace", "root"), ("token_type", "batch")))] == 1.0
    assert found[("vault.expire.num_leases", ())] == 7.0
    assert found[("vault.audit.log_failure", (("path", "file/"),))] == 3

    telemetry.detach()
    sealed = await gauges(telemetry)
    assert sealed[("vault.core.unsealed", ())] == 0.0
    assert not [key for key in sealed if key[0] in ("vault.token.count", "vault.expire.num_leases")]


async def test_tokens_are_counted_once_per_usage_gauge_period() -> None:
    ticks = Ticks()
    telemetry = Telemetry(usage_gauge_period=60, clock=ticks)
    core = FakeCore()
    telemetry.attach(core.sources())
    service = ("vault.token.count", (("namespace", "root"), ("token_type", "service")))

    assert (await gauges(telemetry))[service] == 2.0
    core.tokens["service"] = 5
    ticks.now += 59
    assert (await gauges(telemetry))[service] == 2.0
    ticks.now += 1
    assert (await gauges(telemetry))[service] == 5.0
    assert core.token_counts_asked == 2


async def test_a_usage_gauge_period_of_none_turns_token_counts_off() -> None:
    telemetry = Telemetry(usage_gauge_period=0)
    core = FakeCore()
    telemetry.attach(core.sources())
    found = await gauges(telemetry)
    assert not [key for key in found if key[0] == "vault.token.count"]
    assert core.token_counts_asked == 0


async def test_format_errors_are_vaults() -> None:
    unknown = await Telemetry().render("xml")
    assert (unknown.status, unknown.content_type, unknown.body) == (
        400, "text/plain", b'metric response format "xml" unknown'
    )  # fmt: skip
    disabled = await Telemetry(retention=0).render("prometheus")
    assert (disabled.status, disabled.content_type, disabled.body) == (
        400, "text/plain", b"prometheus is not enabled"
    )  # fmt: skip


def test_the_accept_header_can_ask_for_prometheus() -> None:
    assert metrics_format("", "application/openmetrics-text; version=1.0.0") == "prometheus"
    assert metrics_format("", "text/plain, prometheus/telemetry") == "prometheus"
    assert metrics_format("", "application/json") == ""
    assert metrics_format("xml", "application/openmetrics-text") == "xml"
