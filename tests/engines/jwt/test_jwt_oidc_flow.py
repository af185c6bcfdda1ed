"""The OIDC login's pure parts: the redirect URI rule, the pending logins (one use, expiry, a bound on how
many wait), the authorization URL, and the form_post page's escaping."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from strongroom.builtin.auth.jwt import oidc_client
from strongroom.builtin.auth.jwt.keysets import Discovery
from strongroom.builtin.auth.jwt.oidc_client import REQUEST_TIMEOUT, FlowError, FlowRequests
from strongroom.builtin.auth.jwt.paths_oidc import form_post_page, parse_mount, valid_redirect

ALLOWED = ("http://localhost:8250/oidc/callback", "https://app.example/cb")


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("http://localhost:8250/oidc/callback", True),
        ("http://localhost:1/oidc/callback", True),
        ("http://localhost/oidc/callback", True),
        ("http://127.0.0.1:8250/oidc/callback", False),
        ("http://localhost:8250/oidc/callback/", False),
        ("https://localhost:8250/oidc/callback", False),
        ("https://app.example/cb", True),
        ("https://app.example:443/cb", False),
        ("https://app.example/cb?x=1", False),
        ("http://[::1", False),
    ],
)
def test_valid_redirect(uri: str, allowed: bool) -> None:
    assert valid_redirect(uri, ALLOWED) is allowed


def test_parse_mount() -> None:
    assert parse_mount("https://vault.example/v1/auth/oidc-x/oidc/callback") == "oidc-x"
    assert parse_mount("https://vault.example/ui/vault/auth/oidc/oidc/callback") == ""


def _start(
    pending: FlowRequests, now: float, *, max_age: int = 0, implicit: bool = False
) -> oidc_client.FlowRequest:
    return pending.start(
        role="r", redirect_uri="u", client_nonce="", audiences=(), max_age=max_age, implicit=implicit, now=now
    )


def test_a_state_is_used_once_and_expires() -> None:
    pending = FlowRequests()
    first = _start(pending, 0)
    assert pending.take(first.state, 1) == first
    assert pending.take(first.state, 1) is None
    second = _start(pending, 0)
    assert pending.peek(second.state, REQUEST_TIMEOUT - 1) == second
    assert pending.take(second.state, REQUEST_TIMEOUT) is None
    assert pending.take("", 0) is None


def test_pending_logins_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oidc_client, "MAX_PENDING", 3)
    pending = FlowRequests()
    for _ in range(3):
        _start(pending, 0)
    with pytest.raises(FlowError):
        _start(pending, 1)
    _start(pending, REQUEST_TIMEOUT)  # the first three have expired by then


def test_authorization_url() -> None:
    discovery = Discovery(
        "https://idp", "https://idp/keys", authorization_endpoint="https://idp/auth?tenant=1"
    )
    flow = _start(FlowRequests(), 0, max_age=60)
    url = oidc_client.authorization_url(discovery, "client 1", flow, ("openid", "groups"))
    assert url.startswith("https://idp/auth?tenant=1&")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "tenant": "1",
        "client_id": "client 1",
        "code_challenge": oidc_client.challenge(flow.code_verifier),
        "code_challenge_method": "S256",
        "max_age": "60",
        "nonce": flow.nonce,
        "redirect_uri": "u",
        "response_type": "code",
        "scope": "openid groups",
        "state": flow.state,
    }
    implicit = _start(FlowRequests(), 0, implicit=True)
    query = parse_qs(urlsplit(oidc_client.authorization_url(discovery, "c", implicit, ())).query)
    assert (query["response_type"], query["response_mode"]) == (["id_token"], ["form_post"])
    assert "code_challenge" not in query


def test_form_post_page_escapes_its_values() -> None:
    page = (form_post_page("a'b\"</script><script>x()", "s<t>&").raw_body or b"").decode()
    assert "</script><script>x()" not in page
    assert '"a\'b\\"\\u003c/script\\u003e\\u003cscript\\u003ex()"' in page
    assert '"s\\u003ct\\u003e\\u0026"' in page
