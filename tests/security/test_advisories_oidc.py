"""Advisories about the OIDC browser login (auth/<jwt mount>/oidc/auth_url, oidc/callback, oidc/poll), run
against strongroom and OpenBao, each with its own OIDC provider (identity/oidc/provider) as the identity
provider.

GHSA-cpj3-3r2f-xj59 / CVE-2026-33758 (OpenBao 2.5.2): the callback reflected the provider's
`error_description` into its answer and its HTML pages (error and form_post) interpolated request values
unescaped: reflected XSS on the server's origin.
GHSA-7q7g-x6vg-xpc3 / CVE-2026-33757 (OpenBao 2.5.2): in `callback_mode=direct` the server completed the
login when the victim's browser reached the callback, and handed the token to whoever polled with the
state: an attacker who sent the victim the auth_url got the victim's token. Both servers now show the
victim a confirmation page naming the address that started the login, and complete nothing until the
user confirms.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.api.test_oidc_login_http import CALLBACK, play_browser, setup_oidc_mount, setup_provider
from tests.security.advisories import BOTH, ok, target, unique

SCRIPT = "<script>alert(document.domain)</script>"


def _query(auth_url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(auth_url).query).items()}


@BOTH
def test_ghsa_cpj3_3r2f_xj59_cve_2026_33758_callback_errors_are_not_reflected(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    name = unique("xss").replace("-", "")
    with running.client() as root:
        provider = setup_provider(root, running.address, name, [CALLBACK])
        mount = f"oidc-{name}"
        setup_oidc_mount(root, mount, provider, name)
    with httpx.Client(base_url=running.address, timeout=10) as anonymous:
        start = {"role": "person", "redirect_uri": CALLBACK, "client_nonce": "n"}
        state = _query(
            ok(anonymous.post(f"/v1/auth/{mount}/oidc/auth_url", json=start)).json()["data"]["auth_url"]
        )["state"]
        params = {
            "state": state,
            "client_nonce": "n",
            "error": SCRIPT,
            "error_description": SCRIPT,
            "error_uri": SCRIPT,
        }
        answer = anonymous.get(f"/v1/auth/{mount}/oidc/callback", params=params)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    assert "<script" not in answer.text
    assert answer.json() == {
        "errors": [
            "OpenBao login failed. An unknown error occurred during OIDC authentication. "
            "Check server logs for details"
        ]
    }


@BOTH
def test_ghsa_cpj3_3r2f_xj59_cve_2026_33758_form_post_pages_escape_what_they_show(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    name = unique("fp").replace("-", "")
    mount = f"oidc-{name}"
    with running.client() as root:
        provider = setup_provider(root, running.address, name, [CALLBACK])
        setup_oidc_mount(root, mount, provider, name)
        config = ok(root.get(f"/v1/auth/{mount}/config")).json()["data"]
        ok(
            root.post(
                f"/v1/auth/{mount}/config",
                json={
                    "oidc_discovery_url": config["oidc_discovery_url"],
                    "oidc_client_id": provider.client_id,
                    "oidc_client_secret": provider.client_secret,
                    "oidc_response_mode": "form_post",
                    "default_role": "person",
                },
            )
        )
        redirect = f"http://localhost:8250/v1/auth/{mount}/oidc/callback"
        ok(root.post(f"/v1/auth/{mount}/role/person", json={"allowed_redirect_uris": [CALLBACK, redirect]}))
        ok(root.post(f"/v1/identity/oidc/client/{name}-app", json={"redirect_uris": [CALLBACK, redirect]}))
    with httpx.Client(base_url=running.address, timeout=10) as anonymous:
        unknown = anonymous.post(f"/v1/auth/{mount}/oidc/callback", data={"state": SCRIPT, "code": SCRIPT})
        assert unknown.status_code == 400
        assert unknown.headers["content-type"].startswith("text/html")
        assert "<script>alert" not in unknown.text
        start = {"redirect_uri": redirect, "client_nonce": "n"}
        auth_url = ok(anonymous.post(f"/v1/auth/{mount}/oidc/auth_url", json=start)).json()["data"][
            "auth_url"
        ]
        # As cap builds it for Vault: the code flow's URL names no response_mode (only the implicit flow's).
        assert "response_mode" not in _query(auth_url)
        granted = play_browser(running.address, auth_url, provider.user_token)
        # The provider's form post, with a hostile extra value the page must not echo.
        posted = anonymous.post(
            f"/v1/auth/{mount}/oidc/callback",
            data={"state": granted["state"], "code": granted["code"], "id_token": SCRIPT},
        )
        assert posted.status_code == 200
        assert posted.headers["content-type"].startswith("text/html")
        assert "<script>alert" not in posted.text
        assert granted["code"] not in posted.text
        # The UI then completes the login with the state alone; the stored code is used.
        params = {"state": granted["state"], "code": "no_code", "client_nonce": "n"}
        done = anonymous.get(f"/v1/auth/{mount}/oidc/callback", params=params)
    assert done.status_code == 200, done.text
    assert done.json()["auth"]["metadata"]["role"] == "person"


@BOTH
def test_ghsa_7q7g_x6vg_xpc3_cve_2026_33757_direct_mode_gives_no_token_to_the_link_sender(
    request: pytest.FixtureRequest, which: str
) -> None:
    running = target(request, which)
    name = unique("dm").replace("-", "")
    mount = f"oidc-{name}"
    server_callback = f"{running.address}/v1/auth/{mount}/oidc/callback"
    with running.client() as root:
        victim = setup_provider(root, running.address, name, [server_callback])
        setup_oidc_mount(
            root, mount, victim, name, callback_mode="direct", allowed_redirect_uris=[server_callback]
        )
    with httpx.Client(base_url=running.address, timeout=10) as anonymous:
        # The attacker starts the login with a client_nonce of their own and sends the victim the link.
        start = {"role": "person", "redirect_uri": server_callback, "client_nonce": "attacker"}
        data = ok(anonymous.post(f"/v1/auth/{mount}/oidc/auth_url", json=start)).json()["data"]
        # The victim follows the link: the provider authorizes them and their browser reaches the callback.
        granted = play_browser(running.address, data["auth_url"], victim.user_token)
        visited = anonymous.get(server_callback, params={"state": granted["state"], "code": granted["code"]})
        assert visited.status_code == 200
        assert "client_token" not in visited.text
        assert "Sign in confirmation required" in visited.text
        polled = anonymous.post(
            f"/v1/auth/{mount}/oidc/poll", json={"state": data["state"], "client_nonce": "attacker"}
        )
    assert polled.status_code == 400
    assert polled.json() == {"errors": ["authorization_pending"]}
