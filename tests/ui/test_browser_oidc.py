"""JWT/OIDC browser login end to end in a real headless Chromium, with strongroom's own OIDC provider as
the identity provider: the login page lists the oidc mount, the mount's auth_url sends the tab to the
provider's authorize page (strongroom's UI at /ui/vault/identity/oidc/provider/<name>/authorize), the user
logs in there with userpass and allows the application, and the callback page
(/ui/vault/auth/<mount>/oidc/callback) trades the code for a token of the oidc mount. No code, state or
nonce stays in the address bar or the tab's history, and the token never appears in a URL.

One browser and the session's dev server serve the module. Console errors, uncaught exceptions and CSP
violations fail a test.
"""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import expect

from tests.api.test_oidc_login_http import setup_oidc_mount, setup_provider
from tests.servers import RunningServer
from tests.ui.browser import Watched
from tests.ui.test_browser import stored_token


def test_oidc_login_through_strongrooms_own_provider(server: RunningServer, tab: Watched) -> None:
    page, name = tab.page, f"uiidp{uuid.uuid4().hex[:6]}"
    mount = f"sso-{name}"
    callback = f"{server.address}/ui/vault/auth/{mount}/oidc/callback"
    with server.client() as root:
        provider = setup_provider(root, server.address, name, [callback])
        setup_oidc_mount(root, mount, provider, name, allowed_redirect_uris=[callback])
        root.post(
            f"/v1/sys/auth/{mount}/tune",
            json={"listing_visibility": "unauth", "description": "Company login"},
        ).raise_for_status()
    urls: list[str] = []
    page.on("framenavigated", lambda frame: urls.append(frame.url) if frame == page.main_frame else None)
    page.on("request", lambda request: urls.append(request.url))

    page.goto(f"{server.address}/ui/")
    expect(page.get_by_role("heading", name="Log in to strongroom")).to_be_visible()
    page.get_by_label("Method").select_option(label="Single sign-on: Company login")
    expect(page.get_by_label("Single sign-on mount")).to_have_value(mount)
    expect(page.get_by_text(f"Redirect URI to allow: {callback}")).to_be_visible()
    page.get_by_role("button", name="Sign in with OIDC").click()

    # The provider's page: a stranger logs in there first, then allows the application.
    expect(page.get_by_text("Log in to the identity provider to go on.")).to_be_visible()
    assert f"/ui/vault/identity/oidc/provider/{name}/authorize?" in page.url
    page.get_by_label("Method").select_option("userpass")
    page.get_by_label("Username").fill(f"{name}-user")
    page.get_by_label("Password").fill("pw")
    page.get_by_label("Mount path").fill(f"{name}-up")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Sign in to an application")).to_be_visible()
    expect(page.locator("main")).to_contain_text(provider.client_id)
    tab.screenshot("oidc-authorize")
    page.get_by_role("button", name="Continue").click()

    # Back at the callback, then the engines, logged in with a token of the oidc mount.
    expect(page.get_by_role("heading", name="Secrets engines")).to_be_visible()
    assert page.url == f"{server.address}/ui/#/secrets"
    token = stored_token(page)
    assert token
    with httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as client:
        lookup = client.get("/v1/auth/token/lookup-self").json()["data"]
    assert lookup["path"] == f"auth/{mount}/oidc/callback"
    assert f"{mount}-eng" in lookup["identity_policies"]  # the provider's group reached the login
    assert page.evaluate("sessionStorage.getItem('strongroom.oidc')") is None
    # The tab's history holds no page with a code or state: each step replaced the one before.
    assert page.evaluate("history.length") <= 2
    assert all(token not in url for url in urls)

    # A callback this tab never started (a replayed or forged link) is refused.
    page.goto(f"{callback}?state=forged&code=nothing")
    expect(page.get_by_role("heading", name="Sign-in failed")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("not started in this tab")
    assert page.url == f"{server.address}/ui/"
    tab.assert_clean()


def test_a_redirect_uri_the_role_does_not_allow_is_explained(server: RunningServer, tab: Watched) -> None:
    page, name = tab.page, f"uibad{uuid.uuid4().hex[:6]}"
    mount = f"sso-{name}"
    with server.client() as root:
        provider = setup_provider(root, server.address, name, ["http://localhost:8250/oidc/callback"])
        setup_oidc_mount(root, mount, provider, name)
    page.goto(f"{server.address}/ui/")
    page.get_by_label("Method").select_option("oidc")
    page.get_by_label("Single sign-on mount").fill(mount)
    page.get_by_role("button", name="Sign in with OIDC").click()
    expect(page.get_by_role("alert")).to_contain_text(
        f"allowed_redirect_uris must include {server.address}/ui/vault/auth/{mount}/oidc/callback"
    )
    assert page.url == f"{server.address}/ui/"
    tab.assert_clean()
