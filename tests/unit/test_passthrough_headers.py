"""What headers cross a mount: request headers its backend sees (only passthrough_request_headers, never
the token) and response headers it may send (only allowed_response_headers)."""

from __future__ import annotations

from strongroom.router import allowed_headers, passthrough_headers

HEADERS = {
    "x-vault-token": "s.secret",
    "authorization": "Bearer abc",
    "accept": "text/plain",
    "x-custom": "1",
}


def test_a_mount_without_passthrough_headers_gives_its_backend_none() -> None:
    assert dict(passthrough_headers(HEADERS, ())) == {}


def test_named_headers_pass_whatever_their_case() -> None:
    assert passthrough_headers(HEADERS, ("Accept", "X-CUSTOM")) == {"accept": "text/plain", "x-custom": "1"}


def test_the_token_header_never_passes_even_when_named() -> None:
    passed = passthrough_headers(HEADERS, ("X-Vault-Token", "Authorization"))
    assert passed == {"authorization": "Bearer abc"}


def test_a_backend_response_header_passes_only_when_its_mount_allows_it() -> None:
    answer = {"Replay-Nonce": "n", "Location": "http://x/", "Set-Cookie": "a=b"}
    assert dict(allowed_headers(answer, ())) == {}
    assert allowed_headers(answer, ("replay-nonce", "LOCATION")) == {
        "Replay-Nonce": "n",
        "Location": "http://x/",
    }
