"""The web UI's Access screens in a real headless Chromium: ACL policies written with the server's
validation, auth methods enabled, tuned and disabled, an AppRole role and a userpass user made in the UI
(and that user logging in), the capabilities line, and "Not allowed" for a token that may not see policies.

One browser and the session's dev server serve the module; each test opens its own tab and names what it
makes uniquely. Console errors, uncaught exceptions and CSP violations fail a test.
"""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import expect

from tests.servers import RunningServer
from tests.ui.browser import Watched
from tests.ui.test_browser import log_in, stored_token

ROOT = {"X-Vault-Token": "root"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def test_a_policy_with_an_error_is_refused_then_fixed(server: RunningServer, tab: Watched) -> None:
    page, name = tab.page, unique("ops")
    log_in(page, server.address, server.root_token)
    page.get_by_role("link", name="Access").click()
    page.get_by_role("link", name="ACL policies").click()
    expect(page.get_by_role("heading", name="ACL policies")).to_be_visible()
    expect(page.locator(".caps")).to_contain_text("root")
    page.get_by_role("link", name="Create policy").click()
    page.get_by_label("Name").fill(name)
    broken = 'path "secret/data/app/*" {\n  capabilities = ["read", "list"\n}\n'
    page.get_by_label("Policy (HCL)").fill(broken)
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("alert")).to_contain_text("failed to parse policy: At 3:1")
    expect(page.locator(".error-line")).to_have_text("Line 3: }")
    # The editor's selection is the line the server named, so the author lands on it.
    selected = "(t => t.value.slice(t.selectionStart, t.selectionEnd))(document.activeElement)"
    assert page.evaluate(selected) == "}"
    tab.screenshot("policy-error")
    assert httpx.get(f"{server.address}/v1/sys/policies/acl/{name}", headers=ROOT).status_code == 404

    page.get_by_label("Policy (HCL)").fill(broken.replace('"list"\n', '"list"]\n'))
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("heading", name=f"Policy {name}")).to_be_visible()
    expect(page.locator("pre.policy")).to_contain_text('capabilities = ["read", "list"]')
    expect(page.locator(".caps")).to_contain_text(f"root on sys/policies/acl/{name}")
    stored = httpx.get(f"{server.address}/v1/sys/policies/acl/{name}", headers=ROOT).json()["data"]
    assert '["read", "list"]' in stored["policy"]

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Policy (HCL)").fill('path "secret/data/app/*" { capabilities = ["reed"] }\n')
    page.get_by_role("button", name="Save policy").click()
    expect(page.get_by_role("alert")).to_contain_text('invalid capability "reed"')
    expect(page.locator(".error-line")).to_have_count(0)  # this error names no line
    page.get_by_role("link", name="Cancel").click()

    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")  # a modal dialog: Escape is "no"
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert httpx.get(f"{server.address}/v1/sys/policies/acl/{name}", headers=ROOT).status_code == 200
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete policy").click()
    expect(page.get_by_role("heading", name="ACL policies")).to_be_visible()
    expect(page.get_by_role("link", name=name)).to_have_count(0)
    assert httpx.get(f"{server.address}/v1/sys/policies/acl/{name}", headers=ROOT).status_code == 404
    tab.assert_clean()


def test_enable_tune_and_disable_an_auth_method(server: RunningServer, tab: Watched) -> None:
    page, path = tab.page, unique("people")
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/auth")
    expect(page.get_by_role("heading", name="Auth methods")).to_be_visible()
    page.get_by_label("Type").fill("userpass")
    page.get_by_label("Path").fill(path)
    page.get_by_label("Description").fill("people who log in")
    page.get_by_role("button", name="Enable method").click()
    row = page.locator(f'tr[data-path="{path}/"]')
    expect(row).to_contain_text("people who log in")
    tab.screenshot("auth-methods")

    row.get_by_role("link", name=f"Tune {path}/").click()
    expect(page.get_by_role("heading", name=f"Tune {path}/")).to_be_visible()
    page.get_by_label("Default lease TTL").fill("1h")
    page.get_by_label("Max lease TTL").fill("2h")
    page.get_by_label("Listing visibility").select_option("unauth")
    page.get_by_label("Description").fill("tuned")
    page.get_by_role("button", name="Save tuning").click()
    expect(page.get_by_text(f"Saved: {path}/ is tuned.")).to_be_visible()
    tune = httpx.get(f"{server.address}/v1/sys/auth/{path}/tune", headers=ROOT).json()["data"]
    assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200)
    assert (tune["listing_visibility"], tune["description"]) == ("unauth", "tuned")
    page.reload()
    expect(page.get_by_label("Default lease TTL")).to_have_value("1h")
    expect(page.get_by_label("Listing visibility")).to_have_value("unauth")

    page.get_by_role("link", name="Back").click()
    page.get_by_label("Type").fill("no-such-type")
    page.get_by_role("button", name="Enable method").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the server's refusal, in its own words
    row.get_by_role("button", name=f"Disable {path}/").click()
    page.get_by_role("dialog").get_by_role("button", name=f"Disable {path}/").click()
    expect(row).to_have_count(0)
    assert f"{path}/" not in httpx.get(f"{server.address}/v1/sys/auth", headers=ROOT).json()["data"]
    expect(page.locator('tr[data-path="token/"]').get_by_role("button")).to_have_count(0)
    tab.assert_clean()


def test_an_approle_role_and_a_userpass_user_made_in_the_ui(server: RunningServer, tab: Watched) -> None:
    page, approle, userpass, policy = tab.page, unique("ar"), unique("up"), unique("readers")
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    for path, kind in ((approle, "approle"), (userpass, "userpass")):
        enabled = httpx.post(f"{server.address}/v1/sys/auth/{path}", headers=ROOT, json={"type": kind})
        enabled.raise_for_status()
    log_in(page, server.address, server.root_token)

    page.goto(f"{server.address}/ui/#/auth")
    page.locator(f'tr[data-path="{approle}/"]').get_by_role("link", name="Roles").click()
    expect(page.get_by_text("No roles yet.")).to_be_visible()
    page.get_by_role("link", name="Create role").click()
    page.get_by_label("Role name").fill("ci")
    page.get_by_label("Token policies").fill(f"default, {policy}")
    page.get_by_label("Token TTL").fill("20m")
    page.get_by_label("Secret ID TTL").fill("10m")
    page.get_by_label("Secret ID uses").fill("3")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("heading", name="Role ci")).to_be_visible()
    role_id = httpx.get(f"{server.address}/v1/auth/{approle}/role/ci/role-id", headers=ROOT).json()["data"]
    expect(page.locator("code.role-id")).to_have_text(role_id["role_id"])
    expect(page.get_by_label("Token TTL")).to_have_value("20m")
    role = httpx.get(f"{server.address}/v1/auth/{approle}/role/ci", headers=ROOT).json()["data"]
    assert role["token_policies"] == ["default", policy]
    assert (role["token_ttl"], role["secret_id_ttl"], role["secret_id_num_uses"]) == (1200, 600, 3)
    assert role["bind_secret_id"] is True
    page.get_by_label("Require a secret ID to log in").uncheck()
    page.get_by_label("Secret ID bound CIDRs").fill("10.0.0.0/8")
    page.get_by_role("button", name="Save role").click()
    expect(page.get_by_text("Saved the role ci.")).to_be_visible()
    role = httpx.get(f"{server.address}/v1/auth/{approle}/role/ci", headers=ROOT).json()["data"]
    assert role["bind_secret_id"] is False
    assert role["secret_id_bound_cidrs"] == ["10.0.0.0/8"]
    page.get_by_role("link", name=f"{approle}/ roles").click()
    expect(page.get_by_role("link", name="ci")).to_be_visible()
    page.get_by_role("link", name="Create role").click()
    page.get_by_label("Role name").fill("ci")
    page.get_by_role("button", name="Create role").click()
    expect(page.get_by_role("alert")).to_have_text("A role named ci exists already.")
    role = httpx.get(f"{server.address}/v1/auth/{approle}/role/ci", headers=ROOT).json()["data"]
    assert role["bind_secret_id"] is False  # not overwritten

    page.goto(f"{server.address}/ui/#/userpass/{userpass}")
    page.get_by_role("link", name="Create user").click()
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password", exact=True).fill("first-pw-7713")
    page.get_by_label("Token policies").fill(policy)
    page.get_by_label("Token TTL", exact=True).fill("30m")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("heading", name="User carol")).to_be_visible()
    user = httpx.get(f"{server.address}/v1/auth/{userpass}/users/carol", headers=ROOT).json()["data"]
    assert (user["token_policies"], user["token_ttl"]) == ([policy], 1800)
    page.get_by_label("New password").fill("second-pw-8824")
    page.get_by_role("button", name="Save user").click()
    expect(page.get_by_text("Saved the user carol.")).to_be_visible()
    tab.screenshot("userpass-user")

    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Method").select_option("userpass")
    page.get_by_label("Username").fill("carol")
    page.get_by_label("Password").fill("second-pw-8824")
    page.get_by_label("Mount path").fill(userpass)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Secrets engines")).to_be_visible()
    assert stored_token(page) not in (None, "root")
    page.get_by_role("link", name="Operations").click()
    page.get_by_role("link", name="This token").click()
    expect(page.locator(".facts")).to_contain_text(f"default, {policy}")
    assert [u for u in urls if "first-pw-7713" in u or "second-pw-8824" in u] == []
    tab.assert_clean()


def test_the_access_screens_by_keyboard(server: RunningServer, tab: Watched) -> None:
    page = tab.page
    log_in(page, server.address, server.root_token)
    page.goto(f"{server.address}/ui/#/access")
    expect(page.get_by_role("heading", name="Access")).to_be_visible()
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Auth methods":
            break
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Auth methods")).to_be_visible()
    # The new page's heading has the focus, so a screen reader announces it and Tab starts from there.
    expect(page.get_by_role("heading", name="Auth methods")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("tbody tr").first.locator("a, button").first).to_be_focused()
    tab.assert_clean()


def test_a_token_without_the_policy_sees_not_allowed(server: RunningServer, tab: Watched) -> None:
    created = httpx.post(
        f"{server.address}/v1/auth/token/create", headers=ROOT, json={"policies": ["default"], "ttl": "10m"}
    )
    page = tab.page
    log_in(page, server.address, created.json()["auth"]["client_token"])
    page.get_by_role("link", name="Access").click()
    page.get_by_role("link", name="ACL policies").click()
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("permission denied")
    page.goto(f"{server.address}/ui/#/auth")
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    # The KV screens carry the capabilities line too: this token may do nothing in cubbyhole's root but list.
    page.goto(f"{server.address}/ui/#/kv1/cubbyhole/list/")
    expect(page.locator(".caps")).to_contain_text("on cubbyhole/")
    expect(page.locator(".caps strong")).to_contain_text("list")
    tab.assert_clean()


def test_access_screens_fit_a_phone(server: RunningServer, tab: Watched) -> None:
    page = tab.page
    page.set_viewport_size({"width": 375, "height": 740})
    log_in(page, server.address, server.root_token)
    for route, heading in (("#/auth", "Auth methods"), ("#/policies/edit/default", "Edit policy default")):
        page.goto(f"{server.address}/ui/{route}")
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, route
    tab.assert_clean()
