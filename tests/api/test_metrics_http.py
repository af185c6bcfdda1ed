"""sys/metrics, sys/in-flight-req and sys/host-info over real HTTP, and what debug logs hold back."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.servers import ConfigServer, RunningServer, free_port, sqlite_config, strongroom_config_server

ROOT_CLIENT_ID = "0DHqvq2D77kL2/JTPSZkTMJbkFVmUu0TzMi0jiXcFy8="  # OpenBao's client_id of a root token
TELEMETRY = """
log_level = "debug"
log_format = "json"
telemetry {
  prometheus_retention_time = "0"
  usage_gauge_period = "1s"
  disable_hostname = true
  statsd_address = "127.0.0.1:9125"
}
"""


def request_counts(text: str, mount: str) -> dict[tuple[str, str], float]:
    """vault_core_handle_request_count by (operation, status class) for one mount."""
    return {
        (s.labels["operation"], s.labels["status_class"]): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "vault_core_handle_request_count" and s.labels["mount_point"] == mount
    }


def test_prometheus_counts_requests_by_mount_operation_and_status(root: httpx.Client) -> None:
    mount = f"metrics-{uuid.uuid4().hex[:8]}"
    assert (
        root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "1"}}).status_code
        == 204
    )
    for i in range(3):
        assert root.post(f"/v1/{mount}/k{i}", json={"v": "x"}).status_code == 204
    for _ in range(2):
        assert root.get(f"/v1/{mount}/k0").status_code == 200
    assert root.get(f"/v1/{mount}/missing").status_code == 404

    scraped = root.get("/v1/sys/metrics", params={"format": "prometheus"})

    assert scraped.status_code == 200
    assert scraped.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert request_counts(scraped.text, f"{mount}/") == {
        ("update", "2xx"): 3.0,
        ("read", "2xx"): 2.0,
        ("read", "4xx"): 1.0,
    }
    types = {
        s.labels["mount_type"]
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
        if s.name == "vault_core_handle_request_count" and s.labels["mount_point"] == f"{mount}/"
    }
    assert types == {"kv"}
    gauges = {s.name: s.value for f in text_string_to_metric_families(scraped.text) for s in f.samples}
    assert gauges["vault_core_unsealed"] == 1.0
    assert gauges["vault_core_in_flight_requests"] == 1.0  # the scrape itself

    assert root.get(f"/v1/{mount}/k1").status_code == 200
    again = root.get("/v1/sys/metrics", params={"format": "prometheus"}).text
    assert request_counts(again, f"{mount}/")[("read", "2xx")] == 3.0


def test_node_status_requests_are_not_counted_as_handled_requests(root: httpx.Client) -> None:
    # As in Vault, sys/health and its kin are answered beside the core's request handling: a load
    # balancer's probes do not swell vault.core.handle_request (the scrapes themselves are counted).
    def sys_reads() -> float:
        scraped = root.get("/v1/sys/metrics", params={"format": "prometheus"}).text
        return request_counts(scraped, "sys/").get(("read", "2xx"), 0.0)

    before = sys_reads()
    for path in ("health", "seal-status", "init", "leader", "health", "health"):
        assert root.get(f"/v1/sys/{path}").status_code == 200
    assert root.get("/v1/sys/mounts").status_code == 200
    assert sys_reads() - before == 2.0  # the first scrape and sys/mounts


def test_the_default_format_is_vaults_json(root: httpx.Client) -> None:
    answer = root.get("/v1/sys/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"Timestamp", "Gauges", "Points", "Counters", "Samples"}
    assert {"Name": "vault.core.unsealed", "Value": 1.0, "Labels": {}} in body["Gauges"]
    sample = next(s for s in body["Samples"] if s["Name"] == "vault.core.handle_request")
    assert set(sample) == {"Name", "Count", "Rate", "Sum", "Min", "Max", "Mean", "Stddev", "Labels"}


def test_an_unknown_format_is_refused_as_vault_does(root: httpx.Client) -> None:
    answer = root.get("/v1/sys/metrics", params={"format": "xml"})
    assert (answer.status_code, answer.headers["content-type"], answer.text) == (
        400, "text/plain", 'metric response format "xml" unknown'
    )  # fmt: skip
    assert root.post("/v1/sys/metrics").status_code == 405


def test_the_dev_listener_serves_metrics_without_a_token(server: RunningServer) -> None:
    assert httpx.get(f"{server.address}/v1/sys/metrics", params={"format": "prometheus"}).status_code == 200


def test_in_flight_req_shows_itself(root: httpx.Client) -> None:
    answer = root.get("/v1/sys/in-flight-req")
    assert answer.status_code == 200
    (entry,) = [e for e in answer.json().values() if e["request_path"] == "/v1/sys/in-flight-req"]
    assert entry["request_method"] == "GET"
    assert entry["client_id"] == ROOT_CLIENT_ID
    assert entry["client_remote_address"].startswith("127.0.0.1:")
    assert entry["start_time"].endswith("Z")


def test_in_flight_req_shows_a_slow_upload(server: RunningServer, root: httpx.Client) -> None:
    name = f"slow-{uuid.uuid4().hex[:8]}"
    release = threading.Event()
    results: list[int] = []

    def body() -> Iterator[bytes]:
        yield b'{"data": {"v": "'
        release.wait(10)
        yield b'x"}}'

    def upload() -> None:
        with server.client() as client:
            results.append(client.post(f"/v1/secret/data/{name}", content=body()).status_code)

    uploader = threading.Thread(target=upload)
    uploader.start()
    try:
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        while not seen and time.monotonic() < deadline:
            entries = root.get("/v1/sys/in-flight-req").json().values()
            seen = [e for e in entries if e["request_path"] == f"/v1/secret/data/{name}"]
        assert [e["request_method"] for e in seen] == ["POST"]
        assert seen[0]["client_id"] == ""  # still uploading: the token is not checked yet
    finally:
        release.set()
        uploader.join(10)
    assert results == [200]
    paths = [e["request_path"] for e in root.get("/v1/sys/in-flight-req").json().values()]
    assert f"/v1/secret/data/{name}" not in paths


def test_host_info_has_openbaos_fields(root: httpx.Client) -> None:
    answer = root.get("/v1/sys/host-info")
    assert answer.status_code == 200
    data = answer.json()["data"]
    assert set(data) == {"cpu", "cpu_times", "disk", "host", "memory", "timestamp"}
    assert data["cpu"][0]["cpu"] == 0
    assert data["memory"]["total"] > 0
    assert data["disk"][0]["path"] == "/"
    assert data["host"]["kernelVersion"]
    text = answer.text
    assert "-dev-root-token-id" not in text  # no command line
    assert "HOME" not in text  # no environment


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConfigServer, str]]:
    """A config-file server at debug log level with a telemetry stanza, initialized and unsealed."""
    workdir = tmp_path_factory.mktemp("metrics")
    port = free_port()
    with strongroom_config_server(workdir, sqlite_config(workdir, port, TELEMETRY), port) as running:
        init = httpx.put(f"{running.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        keys = init.json()
        httpx.put(f"{running.address}/v1/sys/unseal", json={"key": keys["keys_base64"][0]})
        yield running, keys["root_token"]


def test_metrics_need_a_token_allowed_to_read_them(production: tuple[ConfigServer, str]) -> None:
    running, root_token = production
    assert httpx.get(f"{running.address}/v1/sys/metrics").status_code == 403
    with httpx.Client(base_url=running.address, headers={"X-Vault-Token": root_token}) as root:
        limited = root.post("/v1/auth/token/create", json={"policies": ["default"]}).json()["auth"][
            "client_token"
        ]
        assert root.get("/v1/sys/metrics").status_code == 200
        for path in ("metrics", "in-flight-req", "host-info"):
            assert (
                httpx.get(f"{running.address}/v1/sys/{path}", headers={"X-Vault-Token": limited}).status_code
                == 403
            )


def test_a_retention_time_of_zero_turns_prometheus_off(production: tuple[ConfigServer, str]) -> None:
    running, root_token = production
    answer = httpx.get(
        f"{running.address}/v1/sys/metrics",
        params={"format": "prometheus"},
        headers={"X-Vault-Token": root_token},
    )
    assert (answer.status_code, answer.text) == (400, "prometheus is not enabled")
    assert "telemetry 'statsd_address' is accepted and ignored" in running.log.read_text()


def test_tokens_are_counted_by_type(production: tuple[ConfigServer, str]) -> None:
    running, root_token = production
    with httpx.Client(base_url=running.address, headers={"X-Vault-Token": root_token}) as root:
        before = _token_counts(root)
        for kind in ("service", "service", "batch"):
            assert (
                root.post("/v1/auth/token/create", json={"type": kind, "policies": ["default"]}).status_code
                == 200
            )
        time.sleep(1.1)  # the usage_gauge_period
        after = _token_counts(root)
    assert after == {"service": before["service"] + 2, "batch": before["batch"] + 1}


def _token_counts(root: httpx.Client) -> dict[str, float]:
    gauges = root.get("/v1/sys/metrics").json()["Gauges"]
    return {g["Labels"]["token_type"]: g["Value"] for g in gauges if g["Name"] == "vault.token.count"}


def test_debug_logs_carry_no_request_data_or_token(
    production: tuple[ConfigServer, str], tmp_path: Path
) -> None:
    running, root_token = production
    secret = f"hunter2-{uuid.uuid4().hex}"
    token_id = f"tok-{uuid.uuid4().hex}"
    with httpx.Client(base_url=running.address, headers={"X-Vault-Token": root_token}) as root:
        root.post("/v1/sys/mounts/kv", json={"type": "kv", "options": {"version": "2"}})
        assert root.post("/v1/kv/data/app", json={"data": {"password": secret}}).status_code == 200
        assert root.get("/v1/kv/data/app").json()["data"]["data"]["password"] == secret
        assert root.get("/v1/kv/data/app", params={"version": secret}).status_code == 400
        created = root.post("/v1/auth/token/create", json={"id": token_id, "policies": ["default"]})
        assert created.status_code == 200
    with httpx.Client(base_url=running.address, headers={"X-Vault-Token": token_id}) as mine:
        assert mine.post("/v1/cubbyhole/note", json={"v": secret}).status_code == 204
        assert mine.get("/v1/kv/data/app").status_code == 403
    with httpx.Client(base_url=running.address, headers={"X-Vault-Token": secret}) as stranger:
        assert stranger.get("/v1/kv/data/app").status_code == 403

    log = running.log.read_text(errors="replace")
    assert '"@level":"debug"' in log
    assert "on mount 'kv/' answered 200" in log
    assert "on mount 'cubbyhole/' answered 204" in log
    for leaked in (secret, token_id, root_token, created.json()["auth"]["accessor"], "/v1/kv/data/app"):
        assert leaked not in log


def lease_gauge(client: httpx.Client) -> float:
    text = client.get("/v1/sys/metrics", params={"format": "prometheus"}).text
    return next(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "vault_expire_num_leases"
    )


def test_the_lease_gauge_follows_token_leases(root: httpx.Client) -> None:
    before = lease_gauge(root)
    created = root.post("/v1/auth/token/create", json={"policies": ["default"], "ttl": "1h"}).json()["auth"]
    assert lease_gauge(root) == before + 1
    root.post("/v1/auth/token/revoke-accessor", json={"accessor": created["accessor"]}).raise_for_status()
    assert lease_gauge(root) == before
