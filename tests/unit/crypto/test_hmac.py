"""Salted hashes: exact values against the standard library's HMAC-SHA256."""

from __future__ import annotations

from strongroom.crypto.hmac import identified_hmac, salted_hash


def test_salted_hash_known_answer() -> None:
    # RFC 4231 test case 2.
    assert salted_hash(b"Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_identified_hmac_prefix() -> None:
    assert identified_hmac(b"Jefe", b"what do ya want for nothing?") == (
        "hmac-sha256:5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_salt_changes_the_hash() -> None:
    assert salted_hash(b"salt-a", "s.token") != salted_hash(b"salt-b", "s.token")
    assert salted_hash(b"salt-a", "s.token") == salted_hash(b"salt-a", b"s.token")
