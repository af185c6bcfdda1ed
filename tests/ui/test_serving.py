"""How the server serves the web UI's files: the redirect to /ui/ (as OpenBao's), the security headers on
every UI response, caching, and no UI unless `ui = true` (or dev mode)."""

from __future__ import annotations

from pathlib import Path

import httpx

from strongroom.config.server import load_server_config
from strongroom.http.ui import CONTENT_SECURITY_POLICY
from tests.servers import RunningServer, free_port, sqlite_config, strongroom_config_server


def test_the_root_and_ui_redirect_to_ui_slash_as_openbao(server: RunningServer, bao: RunningServer) -> None:
    for path in ("/", "/ui"):
        ours = httpx.get(server.address + path)
        theirs = httpx.get(bao.address + path)
        answer = (ours.status_code, ours.headers["location"])
        assert answer == (theirs.status_code, theirs.headers["location"]) == (307, "/ui/")


def test_ui_responses_carry_strict_security_headers(server: RunningServer) -> None:
    page = httpx.get(f"{server.address}/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-store"
    for response in (page, httpx.get(f"{server.address}/ui/js/main.js"), httpx.get(f"{server.address}/ui/x")):
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    policy = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == policy["style-src"] == "'self'"  # no inline code, no eval
    assert policy["frame-ancestors"] == "'none'"
    assert '<script type="module" src="/ui/js/main.js">' in page.text
    for inline in ("<style", " style=", "onclick", "javascript:"):
        assert inline not in page.text


def test_assets_are_revalidated_by_etag(server: RunningServer) -> None:
    script = httpx.get(f"{server.address}/ui/js/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert script.headers["cache-control"] == "no-cache"
    again = httpx.get(f"{server.address}/ui/js/main.js", headers={"If-None-Match": script.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    stale = httpx.get(f"{server.address}/ui/js/main.js", headers={"If-None-Match": '"0"'})
    assert stale.status_code == 200
    head = httpx.head(f"{server.address}/ui/app.css")
    assert (head.status_code, head.content, head.headers["content-length"]) == (
        200, b"", str(len(httpx.get(f"{server.address}/ui/app.css").content)),
    )  # fmt: skip


def test_only_packaged_files_are_served(server: RunningServer) -> None:
    for path in ("/ui/nope.js", "/ui/../server.py", "/ui/%2e%2e/server.py", "/ui/js/", "/ui/__init__.py"):
        assert httpx.get(server.address + path).status_code == 404, path
    # Vault's path routes (the OIDC callback, the OIDC provider's authorize page) are the page itself.
    for path in ("/ui/vault/auth/oidc/oidc/callback", "/ui/vault/identity/oidc/provider/p/authorize"):
        assert httpx.get(server.address + path).text == httpx.get(f"{server.address}/ui/").text, path
    assert httpx.get(f"{server.address}/ui/vault/secrets").status_code == 404
    refused = httpx.post(f"{server.address}/ui/", content=b"x")
    assert (refused.status_code, refused.headers["allow"]) == (405, "GET, HEAD")


def test_a_config_server_serves_no_ui_without_ui_true(tmp_path: Path) -> None:
    """(With `ui = true` it does: see test_browser's unseal test.)"""
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as running:
        page = httpx.get(f"{running.address}/ui/")
        assert (page.status_code, page.json()) == (404, {"errors": []})
        assert "content-security-policy" not in page.headers
        assert httpx.get(f"{running.address}/").status_code == 404


def test_ui_true_is_read_from_the_config(tmp_path: Path) -> None:
    (tmp_path / "a.hcl").write_text(sqlite_config(tmp_path, 8200, 'ui = "true"\n'))
    (tmp_path / "b.hcl").write_text(sqlite_config(tmp_path, 8200))
    assert load_server_config([tmp_path / "a.hcl"]).ui is True
    assert load_server_config([tmp_path / "b.hcl"]).ui is False
    assert load_server_config([tmp_path / "a.hcl"]).notices == ()
