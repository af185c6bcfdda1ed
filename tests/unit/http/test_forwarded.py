"""X-Forwarded-For resolution (http/forwarded.py): Vault's wrapForwardedForHandler, answer for answer."""

from __future__ import annotations

import ipaddress

import pytest

from strongroom.errors import InvalidRequestError
from strongroom.http.forwarded import NOT_TRUSTED, ForwardedFor, Headers

PEER = ("127.0.0.1", 50000)
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)


def xff(*values: str) -> Headers:
    return [(b"host", b"vault"), *((b"x-forwarded-for", v.encode()) for v in values)]


def test_without_authorized_addrs_the_header_is_ignored_even_from_loopback() -> None:
    headers = xff("10.99.1.1")
    assert NOT_TRUSTED.resolve(PEER, headers) == (PEER, headers)
    assert ForwardedFor(reject_not_present=True, reject_not_authorized=True).resolve(PEER, headers)[0] == PEER


def test_an_authorized_peer_gets_the_last_hop() -> None:
    trust = ForwardedFor(authorized_addrs=LOOPBACK)
    assert trust.resolve(PEER, xff("1.2.3.4, 2.3.4.5,3.4.5.6"))[0] == ("3.4.5.6", 50000)


@pytest.mark.parametrize(("skips", "expected"), [(0, "4.5.6.7"), (1, "3.4.5.6"), (3, "1.2.3.4")])
def test_hop_skips_count_from_the_rear_across_header_lines(skips: int, expected: str) -> None:
    trust = ForwardedFor(authorized_addrs=LOOPBACK, hop_skips=skips)
    client, _ = trust.resolve(PEER, xff("1.2.3.4, 2.3.4.5", "3.4.5.6,4.5.6.7"))
    assert client == (expected, 50000)


def test_skipping_past_the_chain_is_refused_naming_the_header_lines_as_vault_does() -> None:
    trust = ForwardedFor(authorized_addrs=LOOPBACK, hop_skips=4)
    with pytest.raises(InvalidRequestError) as refused:
        trust.resolve(PEER, xff("1.2.3.4, 2.3.4.5", "3.4.5.6,4.5.6.7"))
    assert refused.value.errors == (
        "malformed x-forwarded-for configuration or request, hops to skip (4) would skip before earliest "
        "chain link (chain length 2)",
    )


def test_header_names_match_in_any_case() -> None:
    trust = ForwardedFor(authorized_addrs=LOOPBACK)
    assert trust.resolve(PEER, [(b"X-Forwarded-For", b"10.0.0.9")])[0] == ("10.0.0.9", 50000)


def test_a_missing_header_is_refused_by_default_and_passes_when_allowed() -> None:
    with pytest.raises(InvalidRequestError) as refused:
        ForwardedFor(authorized_addrs=LOOPBACK).resolve(PEER, xff())
    assert refused.value.errors == (
        "missing x-forwarded-for header and configured to reject when not present",
    )
    lenient = ForwardedFor(authorized_addrs=LOOPBACK, reject_not_present=False)
    assert lenient.resolve(PEER, xff()) == (PEER, xff())


def test_an_unauthorized_peer_is_refused_by_default_or_has_its_header_dropped() -> None:
    elsewhere = (ipaddress.ip_network("10.0.0.0/8"),)
    with pytest.raises(InvalidRequestError) as refused:
        ForwardedFor(authorized_addrs=elsewhere).resolve(PEER, xff("10.99.1.1"))
    assert refused.value.errors == (
        "client address not authorized for x-forwarded-for and configured to reject connection",
    )
    lenient = ForwardedFor(authorized_addrs=elsewhere, reject_not_authorized=False)
    assert lenient.resolve(PEER, xff("10.99.1.1")) == (PEER, [(b"host", b"vault")])


def test_ipv6_peers_and_networks() -> None:
    trust = ForwardedFor(authorized_addrs=(ipaddress.ip_network("fd00::/8"),))
    assert trust.resolve(("fd00::1", 1234), xff("2001:db8::5"))[0] == ("2001:db8::5", 1234)
    with pytest.raises(InvalidRequestError):
        trust.resolve(("::1", 1234), xff("2001:db8::5"))


def test_an_unknown_peer_is_treated_as_a_missing_header() -> None:
    with pytest.raises(InvalidRequestError, match="error parsing client hostport"):
        ForwardedFor(authorized_addrs=LOOPBACK).resolve(None, xff("10.0.0.1"))
    lenient = ForwardedFor(authorized_addrs=LOOPBACK, reject_not_present=False)
    assert lenient.resolve(None, xff("10.0.0.1"))[0] is None


def test_rewrite_replaces_the_scope_client_and_leaves_an_unchanged_scope_alone() -> None:
    scope = {"type": "http", "client": PEER, "headers": xff("10.0.0.1")}
    assert NOT_TRUSTED.rewrite(scope) is scope
    rewritten = ForwardedFor(authorized_addrs=LOOPBACK).rewrite(scope)
    assert rewritten["client"] == ("10.0.0.1", 50000)
    assert scope["client"] == PEER
