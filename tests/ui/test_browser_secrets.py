"""The web UI's secret editing in a real headless Chromium: a secret written as JSON (an invalid document
refused in the page, never sent), on KV version 2 and version 1; a secret's metadata and the mount's
settings edited and read back through the API, then the secret deleted with all its versions; and a secret
on screen that changes on the server, redrawn live from the events WebSocket (an edit in progress kept).

One browser and the session's dev server serve the module; each test opens its own tab and names what it
makes uniquely. Console errors, uncaught exceptions and CSP violations fail a test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import expect

from tests.servers import RunningServer
from tests.ui.browser import Watched
from tests.ui.test_browser import log_in


@pytest.fixture
def api(server: RunningServer) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_create_and_edit_as_json(server: RunningServer, api: httpx.Client, tab: Watched) -> None:
    page, name = tab.page, unique("json")
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.method) if "/data/" in request.url else None)
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/kv/secret/create/{name}/")
    page.get_by_label("Path").fill(f"{name}/app")
    page.get_by_role("button", name="Edit as JSON").click()
    data = page.get_by_label("Data as JSON")
    expect(data).to_be_focused()
    data.fill('{"user": "olly", "ports": [80, 443], "retries": 3,}')
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_contain_text("This is not valid JSON")
    tab.screenshot("edit-as-json")
    assert "POST" not in sent  # refused in the page: nothing was written
    data.fill('{"user": "olly", "ports": [80, 443], "retries": 3, "tls": {"on": true}}')
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("Version 1,")).to_be_visible()
    stored = api.get(f"/v1/secret/data/{name}/app").json()["data"]["data"]
    assert stored == {"user": "olly", "ports": [80, 443], "retries": 3, "tls": {"on": True}}

    # As rows, a JSON value stays JSON: changing one string keeps the list a list.
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Value (JSON)")).to_have_count(3)
    page.locator(".pair-value").first.fill("olly2")
    page.get_by_role("button", name="Edit as JSON").click()
    assert '"user": "olly2"' in page.get_by_label("Data as JSON").input_value()
    page.get_by_label("Data as JSON").fill('["not", "an", "object"]')
    page.get_by_role("button", name="Edit as rows").click()  # refused: the JSON stays on screen
    expect(page.get_by_role("alert")).to_contain_text("must be an object")
    page.get_by_label("Data as JSON").fill('{"user": "olly2", "ports": [8443]}')
    page.get_by_role("button", name="Edit as rows").click()
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Version 2,")).to_be_visible()
    stored = api.get(f"/v1/secret/data/{name}/app").json()["data"]["data"]
    assert stored == {"user": "olly2", "ports": [8443]}

    # KV version 1: the same editor without versions.
    mount = unique("kv1")
    api.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "1"}}).raise_for_status()
    page.goto(f"{server.address}/ui/#/kv1/{mount}/create/")
    page.get_by_label("Path").fill("db")
    page.get_by_role("button", name="Edit as JSON").click()
    page.get_by_label("Data as JSON").fill('{"password": "s3cret-v1", "pool": 5}')
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="db")).to_be_visible()
    assert api.get(f"/v1/{mount}/db").json()["data"] == {"password": "s3cret-v1", "pool": 5}

    # Cubbyhole too, and the JSON editor fits a phone-wide screen.
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(f"{server.address}/ui/#/kv1/cubbyhole/create/")
    page.get_by_label("Path").fill(name)
    page.get_by_role("button", name="Edit as JSON").click()
    page.get_by_label("Data as JSON").fill('{"note": "mine only", "n": 1}')
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert api.get(f"/v1/cubbyhole/{name}").json()["data"] == {"note": "mine only", "n": 1}
    tab.assert_clean()


def test_metadata_and_mount_settings(server: RunningServer, api: httpx.Client, tab: Watched) -> None:
    page, name = tab.page, unique("meta")
    mount = unique("kv2")
    api.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "2"}}).raise_for_status()
    for value in ("one", "two"):
        api.post(f"/v1/{mount}/data/{name}", json={"data": {"v": value}}).raise_for_status()
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/kv/{mount}/show/{name}")
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name=f"Settings of {name}")).to_be_visible()
    secret = page.locator("form", has=page.get_by_role("heading", name="This secret's settings"))
    secret.get_by_label("Maximum versions").fill("4")
    secret.get_by_label("Require check-and-set on every write").check()
    secret.get_by_label("Delete versions after").fill("720h")
    secret.get_by_label("Metadata key").fill("owner")
    secret.get_by_label("Metadata value").fill("payments")
    secret.get_by_role("button", name="Add metadata row").click()
    secret.get_by_label("Metadata key").nth(1).fill("ticket")
    secret.get_by_label("Metadata value").nth(1).fill("OPS-12")
    secret.get_by_role("button", name="Save settings").click()
    expect(secret.get_by_role("status")).to_have_text("Saved this secret's settings.")
    page.evaluate("window.scrollTo(0, 0)")
    tab.screenshot("secret-settings")
    meta = api.get(f"/v1/{mount}/metadata/{name}").json()["data"]
    assert (meta["max_versions"], meta["cas_required"], meta["delete_version_after"]) == (4, True, "720h0m0s")
    assert meta["custom_metadata"] == {"owner": "payments", "ticket": "OPS-12"}

    settings = page.locator("form", has=page.get_by_role("heading", name=f"Settings of {mount}/"))
    settings.get_by_label("Maximum versions").fill("7")
    settings.get_by_label("Delete versions after").fill("nonsense")
    settings.get_by_role("button", name="Save mount settings").click()
    expect(settings.get_by_role("alert")).to_be_visible()  # the server's own refusal, shown
    settings.get_by_label("Delete versions after").fill("48h")
    settings.get_by_role("button", name="Save mount settings").click()
    expect(settings.get_by_role("status")).to_have_text("Saved the mount's settings.")
    config = api.get(f"/v1/{mount}/config").json()["data"]
    assert (config["max_versions"], config["cas_required"], config["delete_version_after"]) == (
        7,
        False,
        "48h0m0s",
    )

    page.get_by_role("button", name="Delete all versions and metadata").click()
    page.get_by_role("button", name="Cancel").click()  # asked first: nothing deleted
    assert api.get(f"/v1/{mount}/metadata/{name}").status_code == 200
    page.get_by_role("button", name="Delete all versions and metadata").click()
    page.get_by_role("button", name="Delete everything").click()
    # exact: "Settings of <mount>/" on the page being left holds the same words.
    expect(page.get_by_role("heading", name=f"{mount}/", exact=True)).to_be_visible()
    assert api.get(f"/v1/{mount}/metadata/{name}").status_code == 404
    tab.assert_clean()


def test_a_secret_on_screen_follows_the_server(
    server: RunningServer, api: httpx.Client, tab: Watched
) -> None:
    page, name = tab.page, unique("live")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    api.post(f"/v1/secret/data/{name}", json={"data": {"user": "first"}}).raise_for_status()
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/kv/secret/show/{name}")
    expect(page.get_by_text("Version 1,")).to_be_visible()
    following = page.locator(".live-slot[data-following]")
    expect(following).to_have_count(1)  # the subscription is open
    api.post(f"/v1/secret/data/{name}", json={"data": {"user": "second-live"}}).raise_for_status()
    expect(page.get_by_role("status").filter(has_text="Updated on the server to version 2.")).to_be_visible()
    expect(page.get_by_text("Version 2,")).to_be_visible()
    page.get_by_role("button", name="Reveal user").click()
    expect(page.get_by_text("second-live")).to_be_visible()
    tab.screenshot("live-update")
    # The token went as a subprotocol: no URL the page opened holds it.
    assert sockets
    assert all(server.root_token not in url and "token" not in url for url in sockets)

    # An edit in progress is kept; the notice offers a reload, which starts from the new version.
    page.get_by_role("link", name="Edit").click()
    page.locator(".pair-value").first.fill("my-unsaved-edit")
    expect(following).to_have_count(1)
    api.post(f"/v1/secret/data/{name}", json={"data": {"user": "third"}}).raise_for_status()
    notice = page.get_by_role("status").filter(has_text="Updated on the server to version 3.")
    expect(notice).to_contain_text("Your edit is kept")
    assert page.locator(".pair-value").first.input_value() == "my-unsaved-edit"
    page.get_by_role("button", name="Save new version").click()  # check-and-set refuses the stale edit
    expect(page.get_by_role("alert")).to_contain_text("The secret changed since you opened it")
    notice.get_by_role("button", name="Reload").click()
    expect(page.locator(".pair-value").first).to_have_value("third")
    assert api.get(f"/v1/secret/data/{name}").json()["data"]["data"] == {"user": "third"}

    # An untouched form simply follows.
    expect(following).to_have_count(1)
    api.post(f"/v1/secret/data/{name}", json={"data": {"user": "fourth"}}).raise_for_status()
    expect(page.get_by_role("status").filter(has_text="version 4")).to_be_visible()
    expect(page.locator(".pair-value").first).to_have_value("fourth")
    # This tab's own save is no news: no notice on the screen it lands on.
    page.locator(".pair-value").first.fill("fifth")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Version 5,")).to_be_visible()
    expect(following).to_have_count(1)
    expect(page.locator(".live-notice")).to_have_count(0)

    # KV version 1 follows the server the same way, without versions.
    mount = unique("kv1")
    api.post(f"/v1/sys/mounts/{mount}", json={"type": "kv", "options": {"version": "1"}}).raise_for_status()
    api.post(f"/v1/{mount}/app", json={"user": "v1-first"}).raise_for_status()
    page.goto(f"{server.address}/ui/#/kv1/{mount}/show/app")
    expect(page.get_by_role("heading", name="app")).to_be_visible()
    expect(following).to_have_count(1)
    api.post(f"/v1/{mount}/app", json={"user": "v1-second"}).raise_for_status()
    expect(page.get_by_role("status").filter(has_text="Updated on the server.")).to_be_visible()
    page.get_by_role("button", name="Reveal user").click()
    expect(page.get_by_text("v1-second")).to_be_visible()
    tab.assert_clean()


def test_a_token_that_may_not_subscribe_reads_without_following(
    server: RunningServer, api: httpx.Client, tab: Watched
) -> None:
    page, name = tab.page, unique("nosub")
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    policy = f'path "secret/data/{name}" {{ capabilities = ["read", "update"] }}'
    api.put(f"/v1/sys/policies/acl/{name}", json={"policy": policy}).raise_for_status()
    token = api.post("/v1/auth/token/create", json={"policies": [name]}).json()["auth"]["client_token"]
    api.post(f"/v1/secret/data/{name}", json={"data": {"k": "v"}}).raise_for_status()
    log_in(page, server.address, token)
    asked = page.expect_response(
        lambda r: r.url.endswith("/v1/sys/capabilities-self") and "sys/events" in (r.request.post_data or "")
    )
    with asked:
        page.goto(f"{server.address}/ui/#/kv/secret/show/{name}")
    expect(page.get_by_text("Version 1,")).to_be_visible()
    expect(page.locator(".caps")).to_contain_text("read, update")
    assert sockets == []  # no stream opened, so none refused (a refused one would log an error)
    page.get_by_role("link", name="Settings").click()  # metadata is not this token's: "Not allowed"
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    tab.assert_clean()
