"""The web UI in a real headless Chromium against real servers: log in, write and version a secret, a
forbidden page, token expiry, a narrow screen, and unsealing a fresh config-file server.

Each test opens its own page (a tab: its own sessionStorage) in one browser shared by the module; console
errors, uncaught exceptions and CSP violations fail the test.
"""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect

from tests.servers import RunningServer, free_port, sqlite_config, strongroom_config_server
from tests.ui.browser import Watched


def log_in(page: Page, address: str, token: str) -> None:
    page.goto(f"{address}/")
    expect(page.get_by_role("heading", name="Log in to strongroom")).to_be_visible()
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secrets engines")).to_be_visible()


def stored_token(page: Page) -> str | None:
    return page.evaluate("sessionStorage.getItem('strongroom.token')")  # type: ignore[no-any-return]


def test_write_edit_and_version_a_secret(server: RunningServer, tab: Watched) -> None:
    page = tab.page
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    folder = f"ui-{uuid.uuid4().hex[:8]}"
    log_in(page, server.address, server.root_token)
    assert page.url == f"{server.address}/ui/#/secrets"
    assert stored_token(page) == server.root_token
    tab.screenshot("secrets-engines")

    page.get_by_role("link", name="secret/").click()
    expect(page.get_by_role("heading", name="secret/")).to_be_visible()
    page.get_by_role("link", name="Create secret").click()
    page.get_by_label("Path").fill(f"{folder}/db")
    page.locator(".pair-key").fill("username")
    page.locator(".pair-value").fill("first-value-4711")
    page.get_by_role("button", name="Add row").click()
    page.locator(".pair-key").nth(1).fill("password")
    page.locator(".pair-value").nth(1).fill("hunter2-9042")
    page.get_by_role("button", name="Create").click()

    expect(page.get_by_role("heading", name="db")).to_be_visible()
    expect(page.get_by_text("Version 1,")).to_be_visible()
    assert "hunter2-9042" not in page.inner_text("main")  # masked until revealed
    page.get_by_role("button", name="Reveal password").click()
    expect(page.get_by_text("hunter2-9042")).to_be_visible()
    page.get_by_role("button", name="Hide password").click()
    expect(page.get_by_text("hunter2-9042")).to_have_count(0)

    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_role("heading", name="Edit db")).to_be_visible()
    expect(page.locator(".pair-value").nth(1)).to_have_value("hunter2-9042")
    page.locator(".pair-value").nth(1).fill("correct-horse-5521")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Version 2,")).to_be_visible()

    written = httpx.get(f"{server.address}/v1/secret/data/{folder}/db", headers={"X-Vault-Token": "root"})
    expected = {"username": "first-value-4711", "password": "correct-horse-5521"}
    assert written.json()["data"]["data"] == expected

    page.get_by_role("link", name="Versions").click()
    expect(page.get_by_role("heading", name="Versions of db")).to_be_visible()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Compare").click()
    diff = page.locator("table.diff tbody tr")
    expect(diff).to_have_count(2)
    expect(diff.nth(0)).to_contain_text("password")
    expect(diff.nth(0).locator("td").nth(0)).to_have_text("changed")
    expect(diff.nth(1).locator("td").nth(0)).to_have_text("unchanged")
    assert "hunter2-9042" not in page.inner_text("main")  # masked in the diff too
    page.get_by_label("Show values").check()
    expect(diff.nth(0).locator("td").nth(1)).to_have_text("hunter2-9042")
    expect(diff.nth(0).locator("td").nth(2)).to_have_text("correct-horse-5521")
    tab.screenshot("versions")
    first = page.locator('tr[data-version="1"]')
    first.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete version 1").click()
    expect(first.locator("td").nth(2)).to_have_text("deleted")
    first.get_by_role("button", name="Undelete").click()
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    expect(first.locator("td").nth(2)).to_have_text("deleted")  # cancelled: nothing changed
    first.get_by_role("button", name="Undelete").click()
    page.get_by_role("dialog").get_by_role("button", name="Undelete version 1").click()
    expect(first.locator("td").nth(2)).to_have_text("active")
    first.get_by_role("button", name="Destroy").click()
    page.get_by_role("dialog").get_by_role("button", name="Destroy version 1").click()
    expect(first.locator("td").nth(2)).to_have_text("destroyed")
    meta = httpx.get(f"{server.address}/v1/secret/metadata/{folder}/db", headers={"X-Vault-Token": "root"})
    assert meta.json()["data"]["versions"]["1"]["destroyed"] is True

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to strongroom")).to_be_visible()
    assert stored_token(page) is None
    secrets = ("root", "first-value-4711", "hunter2-9042", "correct-horse-5521")
    assert [u for u in urls if any(s in u.removeprefix(server.address) for s in secrets)] == []
    tab.assert_clean()


def test_a_forbidden_page_says_so(server: RunningServer, tab: Watched) -> None:
    created = httpx.post(
        f"{server.address}/v1/auth/token/create",
        headers={"X-Vault-Token": "root"},
        json={"policies": ["default"], "ttl": "10m"},
    )
    token = created.json()["auth"]["client_token"]
    tab.page.goto(f"{server.address}/ui/#/kv/secret/list/")  # a shared link, opened before logging in
    tab.page.get_by_label("Token").fill(token)
    tab.page.get_by_role("button", name="Log in").click()
    expect(tab.page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(tab.page.get_by_role("alert")).to_contain_text("permission denied")
    tab.page.get_by_role("link", name="Back to the secrets engines").click()
    expect(tab.page.get_by_role("heading", name="Secrets engines")).to_be_visible()
    # After a navigation the heading has the focus, so a screen reader announces the new page.
    assert tab.page.evaluate("document.activeElement.textContent") == "Secrets engines"
    expect(tab.page.get_by_role("cell", name="cubbyhole/")).to_be_visible()
    expect(tab.page.get_by_role("cell", name="secret/", exact=True)).to_have_count(0)
    tab.assert_clean()


def test_an_expired_token_is_dropped(server: RunningServer, tab: Watched) -> None:
    # Long enough for a login and a reload on a busy machine; the test waits for the rest of it.
    expires = time.monotonic() + 6
    created = httpx.post(
        f"{server.address}/v1/auth/token/create",
        headers={"X-Vault-Token": "root"},
        json={"policies": ["default"], "ttl": "6s"},
    )
    log_in(tab.page, server.address, created.json()["auth"]["client_token"])
    tab.page.reload()  # a token that has not expired outlives a reload: it is the tab's
    expect(tab.page.get_by_role("heading", name="Secrets engines")).to_be_visible()
    time.sleep(max(0.0, expires - time.monotonic()))
    # Nobody clicks: the tab logs itself out within a second of the expiry.
    expect(tab.page.get_by_role("heading", name="Log in to strongroom")).to_be_visible(timeout=2000)
    expect(tab.page.get_by_text("Your token expired")).to_be_visible()
    assert stored_token(tab.page) is None
    tab.assert_clean()


def test_a_phone_wide_screen_needs_no_sideways_scrolling(server: RunningServer, tab: Watched) -> None:
    tab.page.set_viewport_size({"width": 375, "height": 740})
    log_in(tab.page, server.address, server.root_token)
    tab.page.goto(f"{server.address}/ui/#/kv/secret/create/")
    expect(tab.page.get_by_role("heading", name="Create secret")).to_be_visible()
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= 375
    tab.assert_clean()


def test_a_csp_violation_fails_the_watch(server: RunningServer, tab: Watched) -> None:
    tab.page.goto(f"{server.address}/ui/")
    expect(tab.page.get_by_role("heading", name="Log in to strongroom")).to_be_visible()
    tab.page.evaluate(
        "() => { const s = document.createElement('style'); s.textContent = 'body{}';"
        " document.head.append(s); }"
    )
    tab.page.wait_for_timeout(200)
    assert any("Content Security Policy" in problem for problem in tab.problems), tab.problems


def test_initialize_and_unseal_a_config_server(tmp_path: Path, tab: Watched) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port, "ui = true\n"), port) as running:
        page = tab.page
        page.goto(f"{running.address}/")
        expect(page.get_by_role("heading", name="Initialize strongroom")).to_be_visible()
        page.get_by_label("Key shares").fill("3")
        page.get_by_label("Key threshold").fill("2")
        page.get_by_role("button", name="Initialize").click()
        expect(page.get_by_role("heading", name="strongroom is initialized")).to_be_visible()
        keys = page.locator(".keys code").all_inner_texts()
        root_token = page.locator(".root-token").inner_text()
        assert len(keys) == 3
        page.get_by_role("button", name="Continue to unseal").click()

        expect(page.get_by_role("heading", name="strongroom is sealed")).to_be_visible()
        expect(page.get_by_text("Unseal progress: 0 of 2 keys")).to_be_visible()
        page.get_by_label("Unseal key").fill(keys[0])
        page.get_by_role("button", name="Unseal").click()
        expect(page.get_by_text("Unseal progress: 1 of 2 keys")).to_be_visible()
        tab.screenshot("unseal")
        page.get_by_role("button", name="Reset").click()
        expect(page.get_by_text("Unseal progress: 0 of 2 keys")).to_be_visible()
        page.get_by_label("Unseal key").fill("not-a-key")
        page.get_by_role("button", name="Unseal").click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.get_by_label("Unseal key").fill(keys[1])
        page.get_by_role("button", name="Unseal").click()
        expect(page.get_by_text("Unseal progress: 1 of 2 keys")).to_be_visible()
        expect(page.get_by_label("Unseal key")).to_have_value("")
        page.get_by_label("Unseal key").fill(keys[2])
        page.get_by_role("button", name="Unseal").click()
        expect(page.get_by_role("heading", name="Log in to strongroom")).to_be_visible()
        assert httpx.get(f"{running.address}/v1/sys/seal-status").json()["sealed"] is False
        page.get_by_label("Token").fill(root_token)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Secrets engines")).to_be_visible()
        assert re.search(r"#/secrets$", page.url)
        tab.assert_clean()


def test_userpass_login_and_names_that_need_escaping(server: RunningServer, tab: Watched) -> None:
    root = {"X-Vault-Token": "root"}
    mount, folder = f"up-{uuid.uuid4().hex[:6]}", f"ui-{uuid.uuid4().hex[:8]}"
    name = "db conn?#1 %2F"
    policy = f'path "secret/data/{folder}/*" {{ capabilities = ["read"] }}\n'
    policy += f'path "secret/metadata/{folder}/*" {{ capabilities = ["list"] }}\n'
    assert httpx.put(f"{server.address}/v1/sys/policies/acl/{mount}", headers=root, json={"policy": policy})
    httpx.post(f"{server.address}/v1/sys/auth/{mount}", headers=root, json={"type": "userpass"})
    httpx.post(
        f"{server.address}/v1/auth/{mount}/users/alice",
        headers=root,
        json={"password": "s3cret-pw", "token_policies": mount},
    ).raise_for_status()
    httpx.post(
        f"{server.address}/v1/secret/data/{folder}/{quote(name, safe='')}",
        headers=root,
        json={"data": {"k": "v"}},
    ).raise_for_status()

    page = tab.page
    page.goto(f"{server.address}/ui/")
    page.get_by_label("Method").select_option("userpass")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_label("Mount path").fill(mount)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_have_text("Login failed: check what you entered.")
    page.get_by_label("Password").fill("s3cret-pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secrets engines")).to_be_visible()
    assert stored_token(page) not in (None, "root")
    assert "s3cret-pw" not in page.url

    page.goto(f"{server.address}/ui/#/kv/secret/list/{folder}/")
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    page.get_by_role("button", name="Reveal k").click()
    expect(page.locator("code.revealed")).to_have_text("v")
    page.get_by_role("link", name="Edit").click()
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_role("alert")).to_contain_text("permission denied")
    tab.assert_clean()


def test_the_theme_follows_the_system_and_focus_is_visible(server: RunningServer, tab: Watched) -> None:
    page = tab.page
    page.goto(f"{server.address}/ui/")
    expect(page.get_by_role("heading", name="Log in to strongroom")).to_be_visible()
    background = "getComputedStyle(document.body).backgroundColor"
    page.emulate_media(color_scheme="light")
    light = page.evaluate(background)
    page.emulate_media(color_scheme="dark")
    dark = page.evaluate(background)
    assert light != dark
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.id && document.activeElement.labels[0].textContent")
    assert focused == "Method"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    tab.assert_clean()


def test_cubbyhole_without_versions(server: RunningServer, tab: Watched) -> None:
    created = httpx.post(
        f"{server.address}/v1/auth/token/create",
        headers={"X-Vault-Token": "root"},
        json={"policies": ["default"], "ttl": "10m"},
    )
    token = created.json()["auth"]["client_token"]
    page = tab.page
    log_in(page, server.address, token)
    page.get_by_role("link", name="cubbyhole/").click()
    expect(page.get_by_text("No secrets here yet.")).to_be_visible()
    page.get_by_role("link", name="Create secret").click()
    page.get_by_label("Path").fill("notes/wifi")
    page.locator(".pair-key").fill("psk")
    page.locator(".pair-value").fill("cubby-7731")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="wifi")).to_be_visible()
    expect(page.get_by_role("link", name="Versions")).to_have_count(0)
    page.get_by_role("link", name="Edit").click()
    page.locator(".pair-value").fill("cubby-8842")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_role("heading", name="wifi")).to_be_visible()
    read = httpx.get(f"{server.address}/v1/cubbyhole/notes/wifi", headers={"X-Vault-Token": token})
    assert read.json()["data"] == {"psk": "cubby-8842"}

    page.get_by_role("link", name="notes/").click()
    expect(page.get_by_role("link", name="wifi")).to_be_visible()
    page.get_by_role("link", name="Create secret").click()
    page.get_by_label("Path").fill("notes/wifi")
    page.locator(".pair-key").fill("psk")
    page.locator(".pair-value").fill("overwritten")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert")).to_have_text("A secret with this path exists already.")
    read = httpx.get(f"{server.address}/v1/cubbyhole/notes/wifi", headers={"X-Vault-Token": token})
    assert read.json()["data"] == {"psk": "cubby-8842"}
    page.goto(f"{server.address}/ui/#/kv1/cubbyhole/show/notes/nothing")
    expect(page.get_by_text("No such secret.")).to_be_visible()
    tab.assert_clean()


def test_hcsec_2023_17_diff_viewer_shows_markup_as_text(server: RunningServer, tab: Watched) -> None:
    """HCSEC-2023-17 (CVE-2023-2121): Vault's KV diff viewer rendered keys and values as HTML (stored XSS).
    Here keys and values are text nodes, and the CSP's Trusted Types refuse HTML strings anyway."""
    root = {"X-Vault-Token": "root"}
    path = f"ui-{uuid.uuid4().hex[:8]}/xss"
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    for value in ("safe", payload):
        httpx.post(
            f"{server.address}/v1/secret/data/{path}", headers=root, json={"data": {payload: value}}
        ).raise_for_status()
    page = tab.page
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/kv/secret/versions/{path}")
    page.get_by_role("button", name="Compare").click()
    page.get_by_label("Show values").check()
    row = page.locator("table.diff tbody tr")
    expect(row.locator("th")).to_have_text(payload)
    expect(row.locator("td").nth(2)).to_have_text(payload)
    page.goto(f"{server.address}/ui/#/kv/secret/show/{path}")
    page.get_by_role("button", name=f"Reveal {payload}").click()
    expect(page.locator("code.revealed")).to_have_text(payload)
    assert page.locator("main img, main script").count() == 0
    assert page.evaluate("window.__xss") is None
    tab.assert_clean()
