"""Salted hashes: exact values against the standard library's HMAC-SHA256."""

from __future__ import annotations

from strongroom.crypto.hmac import SaltedHasher, identified_hmac, salted_hash


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


def test_salted_hasher_matches_the_one_shot_hash() -> None:
    # Salts shorter than, exactly, and longer than SHA-256's 64-byte block (a long key is hashed first).
    for salt in (b"Jefe", b"k" * 32, b"s" * 64, b"x" * 65, b"y" * 131):
        hasher = SaltedHasher(salt)
        for value in ("", "what do ya want for nothing?", "hvs." + "a" * 200, b"\x00\xff"):
            assert hasher.hex(value) == salted_hash(salt, value)
    # RFC 4231 test case 2, and the same hasher again: its keyed states are copied, never consumed.
    jefe = SaltedHasher(b"Jefe")
    for _ in range(2):
        assert jefe.hex("what do ya want for nothing?") == (
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )


def test_salted_hasher_repr_hides_the_salt() -> None:
    assert "Jefe" not in repr(SaltedHasher(b"Jefe"))
