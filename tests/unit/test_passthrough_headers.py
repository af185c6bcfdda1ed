"""What request headers a backend sees: only its mount's passthrough_request_headers, never the token."""

from __future__ import annotations

from strongroom.router import passthrough_headers

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
