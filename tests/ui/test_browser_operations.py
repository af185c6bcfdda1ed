"""The web UI's Operations screens in a real headless Chromium: the token's lookup and renewal, leases by
prefix with revoke, audit devices with their health, metrics charts, the Docker-secrets store (checked
against the CLI's own SecretStore), and the seal status with sealing and unsealing again.

One browser and one dev server (which lets the API enable audit devices) serve the module; each test opens
its own tab. Console errors, uncaught exceptions and CSP violations fail a test.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from strongroom.client import Client
from strongroom.delivery.store import SecretStore
from tests.servers import (
    API_AUDIT,
    RunningServer,
    free_port,
    init_and_unseal,
    sqlite_config,
    strongroom_config_server,
    strongroom_dev_server,
)
from tests.ui.browser import SCREENSHOTS, Watched
from tests.ui.test_browser import log_in, stored_token

ROOT = {"X-Vault-Token": "root"}


@pytest.fixture(scope="module")
def ops_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with strongroom_dev_server(tmp_path_factory.mktemp("strongroom-ops"), config=API_AUDIT) as running:
        yield running


def new_token(server: RunningServer, ttl: str) -> str:
    created = httpx.post(
        f"{server.address}/v1/auth/token/create", headers=ROOT, json={"policies": ["default"], "ttl": ttl}
    )
    created.raise_for_status()
    return str(created.json()["auth"]["client_token"])


def test_the_token_looks_itself_up_and_renews(ops_server: RunningServer, tab: Watched) -> None:
    page = tab.page
    token = new_token(ops_server, "10m")
    log_in(page, ops_server.address, token)
    page.get_by_role("link", name="Operations").click()
    page.get_by_role("link", name="This token").click()
    expect(page.get_by_role("heading", name="This token")).to_be_visible()
    facts = page.locator(".facts")
    expect(facts).to_contain_text("default")
    expect(page.locator(".token-ttl")).to_have_text(re.compile(r"^9m\d+s$|^10m$"))
    expect(facts).to_contain_text("none")  # no entity: a token made by root
    assert token not in page.inner_text("main")  # the accessor names it, the token is never shown
    before = page.evaluate("Number(sessionStorage.getItem('strongroom.expires'))")
    tab.screenshot("token")
    page.get_by_label("Increment").fill("1h")
    page.get_by_role("button", name="Renew token").click()
    expect(page.locator(".token-ttl")).to_have_text(re.compile(r"^(59m\d+s|1h)$"))
    ttl = httpx.get(f"{ops_server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
    assert ttl.json()["data"]["ttl"] > 3000
    # The tab now forgets the token when the server would, an hour on, not ten minutes on.
    after = page.evaluate("Number(sessionStorage.getItem('strongroom.expires'))")
    assert after - before > 45 * 60 * 1000
    assert stored_token(page) == token
    tab.assert_clean()


def test_revoke_a_lease_by_prefix(ops_server: RunningServer, tab: Watched) -> None:
    listing = f"{ops_server.address}/v1/sys/leases/lookup/auth/token/create/?list=true"
    before = set(httpx.get(listing, headers=ROOT).json()["data"]["keys"])
    victim = new_token(ops_server, "30m")
    (lease,) = set(httpx.get(listing, headers=ROOT).json()["data"]["keys"]) - before
    page = tab.page
    log_in(page, ops_server.address, ops_server.root_token)
    page.goto(f"{ops_server.address}/ui/#/operations")
    page.get_by_role("link", name="Leases").click()
    page.get_by_role("link", name="auth/").click()
    page.get_by_role("link", name="token/").click()
    page.get_by_role("link", name="create/").click()
    expect(page.get_by_role("heading", name="Leases under auth/token/create/")).to_be_visible()
    row = page.locator(f'tr[data-lease="auth/token/create/{lease}"]')
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"^(29m\d+s|30m)$"))
    tab.screenshot("leases")
    row.get_by_role("button", name=f"Revoke {lease}").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    victim_lookup = f"{ops_server.address}/v1/auth/token/lookup-self"
    assert httpx.get(victim_lookup, headers={"X-Vault-Token": victim}).status_code == 200
    row.get_by_role("button", name=f"Revoke {lease}").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke lease").click()
    expect(row).to_have_count(0)
    assert httpx.get(victim_lookup, headers={"X-Vault-Token": victim}).status_code == 403
    tab.assert_clean()


def test_audit_devices_with_their_health(ops_server: RunningServer, tab: Watched, tmp_path: Path) -> None:
    path = f"file-{uuid.uuid4().hex[:6]}"
    log = tmp_path / "audit.log"
    httpx.put(
        f"{ops_server.address}/v1/sys/audit/{path}",
        headers=ROOT,
        json={"type": "file", "options": {"file_path": str(log)}},
    ).raise_for_status()
    page = tab.page
    log_in(page, ops_server.address, ops_server.root_token)
    page.goto(f"{ops_server.address}/ui/#/audit")
    row = page.locator(f'tr[data-path="{path}/"]')
    expect(row.locator(".state")).to_have_text("healthy")
    expect(row).to_contain_text(str(log))
    expect(row.locator("td").nth(4)).to_have_text(re.compile(r"^[1-9]\d* writes, 0 failures$"))
    tab.screenshot("audit")
    httpx.request("DELETE", f"{ops_server.address}/v1/sys/audit/{path}", headers=ROOT).raise_for_status()
    tab.assert_clean()


def check_charts(tab: Watched, address: str, token: str, source: str) -> None:
    page = tab.page
    log_in(page, address, token)
    page.goto(f"{address}/ui/#/metrics")
    expect(page.get_by_text(f"From sys/metrics ({source})")).to_be_visible()
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    expect(page.locator('[data-chart="tokens"] .value')).to_have_text(re.compile(r"^[1-9]\d*$"))
    # Two polls give a rate: requests per second is a number, drawn as a line of several points.
    requests = page.locator('[data-chart="requests"]')
    expect(requests.locator(".value")).to_have_text(re.compile(r"^\d+\.\d$"), timeout=8000)
    expect(requests.locator("polyline")).to_have_attribute("points", re.compile(r"^\S+ \S+"))
    label = requests.locator("svg").get_attribute("aria-label") or ""
    assert label.startswith("Requests per second: now ")
    expect(page.locator('[data-chart="errorRate"] .value')).to_have_text(re.compile(r"^\d+\.\d %$"))


def test_metrics_are_drawn_as_charts(ops_server: RunningServer, tab: Watched) -> None:
    check_charts(tab, ops_server.address, ops_server.root_token, "Prometheus format")
    if SCREENSHOTS:  # a picture worth keeping: some traffic, and enough samples to draw it
        for burst in (3, 12, 6, 20, 9, 4, 15, 8):
            for number in range(burst):
                missing = f"secret/data/missing-{number}" if number % 4 == 0 else "sys/mounts"
                httpx.get(f"{ops_server.address}/v1/{missing}", headers=ROOT)
            tab.page.wait_for_timeout(2000)
    tab.screenshot("metrics")
    tab.assert_clean()


def test_metrics_without_prometheus_come_from_the_json_summary(tab: Watched, tmp_path: Path) -> None:
    port = free_port()
    telemetry = 'ui = true\ntelemetry {\n  prometheus_retention_time = "0"\n}\n'
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port, telemetry), port) as running:
        _, root_token = init_and_unseal(running.address)
        prometheus = httpx.get(
            f"{running.address}/v1/sys/metrics?format=prometheus", headers={"X-Vault-Token": root_token}
        )
        assert prometheus.status_code == 400
        check_charts(tab, running.address, root_token, "JSON")
    tab.assert_clean()


@pytest.fixture
def store(ops_server: RunningServer) -> Iterator[SecretStore]:
    """The Docker-secrets store as `strongroom secret` reaches it (the CLI's own code)."""
    with Client(ops_server.address, ops_server.root_token) as client:
        yield SecretStore(client)


def test_docker_secrets_create_list_and_remove(
    ops_server: RunningServer, tab: Watched, store: SecretStore
) -> None:
    name, value = f"ui-{uuid.uuid4().hex[:6]}", "docker-value-6612"
    page = tab.page
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    log_in(page, ops_server.address, ops_server.root_token)
    page.goto(f"{ops_server.address}/ui/#/docker-secrets")
    expect(page.get_by_text("No Docker secrets yet.")).to_be_visible()
    page.get_by_label("Name").fill("not a docker name")
    page.get_by_role("button", name="Create secret").click()
    expect(page.get_by_role("alert")).to_contain_text("invalid name")
    # The first secret enables the docker-secrets/ mount, as `strongroom secret create` does.
    page.get_by_label("Name").fill(name)
    page.get_by_label("Value", exact=True).fill(value)
    page.get_by_label("Labels").fill("env=prod\ntier=db")
    page.get_by_role("button", name="Create secret").click()
    row = page.locator(f'tr[data-name="{name}"]')
    expect(row).to_be_visible()
    record = store.inspect(name)
    expect(row).to_contain_text(record.id)
    assert re.fullmatch(r"[a-z0-9]{25}", record.id)
    assert record.labels == {"env": "prod", "tier": "db"}
    assert store.fetch(name) == value.encode()
    assert value not in page.inner_text("main")
    assert [u for u in urls if value in u] == []

    made_by_cli = f"cli-{uuid.uuid4().hex[:6]}"
    store.create(made_by_cli, b"from-the-cli", {"team": "ops"})
    page.reload()
    cli_row = page.locator(f'tr[data-name="{made_by_cli}"]')
    expect(cli_row).to_contain_text(store.inspect(made_by_cli).id)
    expect(cli_row).to_contain_text("team=ops")
    tab.screenshot("docker-secrets")

    page.get_by_label("Name").fill(name)
    page.get_by_label("Value", exact=True).fill("again")
    page.get_by_role("button", name="Create secret").click()
    expect(page.get_by_role("alert")).to_have_text(f"secret {name} already exists")
    row.get_by_role("button", name=f"Remove {name}").click()
    page.get_by_role("dialog").get_by_role("button", name=f"Remove {name}").click()
    expect(row).to_have_count(0)
    assert name not in store.names()
    assert made_by_cli in store.names()
    tab.assert_clean()


def test_operations_fit_a_phone(ops_server: RunningServer, tab: Watched) -> None:
    page = tab.page
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, ops_server.address, ops_server.root_token)
    for route, heading in (
        ("#/token", "This token"),
        ("#/metrics", "Metrics"),
        ("#/docker-secrets", "Docker secrets"),
    ):
        page.goto(f"{ops_server.address}/ui/{route}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, route
    tab.assert_clean()


def test_seal_status_seal_and_unseal(ops_server: RunningServer, tab: Watched) -> None:
    """Last in the module: it seals the module's server, and unseals it again through the UI."""
    key = re.search(r"Unseal Key: (\S+)", ops_server.log.read_text())
    assert key is not None
    page = tab.page
    token = new_token(ops_server, "10m")
    log_in(page, ops_server.address, token)
    page.goto(f"{ops_server.address}/ui/#/status")
    expect(page.locator(".facts")).to_contain_text("unsealed")
    expect(page.get_by_role("button", name="Seal server")).to_have_count(0)  # no sudo on sys/seal
    page.get_by_role("button", name="Log out").click()

    log_in(page, ops_server.address, ops_server.root_token)
    page.goto(f"{ops_server.address}/ui/#/status")
    tab.screenshot("seal-status")
    page.get_by_role("button", name="Seal server").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    assert httpx.get(f"{ops_server.address}/v1/sys/seal-status").json()["sealed"] is False
    page.get_by_role("button", name="Seal server").click()
    page.get_by_role("dialog").get_by_role("button", name="Seal server").click()
    expect(page.get_by_role("heading", name="strongroom is sealed")).to_be_visible()
    assert httpx.get(f"{ops_server.address}/v1/sys/seal-status").json()["sealed"] is True
    page.get_by_label("Unseal key").fill(key.group(1))
    page.get_by_role("button", name="Unseal").click()
    expect(page.get_by_role("heading", name="Seal status")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("unsealed")
    tab.assert_clean()
