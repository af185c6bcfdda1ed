"""Shamir secret sharing: round trips, Vault compatibility, and refusals."""

from __future__ import annotations

import base64
import itertools
import secrets

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.crypto.shamir import _div, _mul, combine, split

# Shares made by Vault's Go `shamir` package (a published 5-of-8 example): random x-coordinates in the
# last byte, values before it.
VAULT_SHARES_5_OF_8 = [
    base64.b64decode(text)
    for text in (
        "jZYqqJaCxt4kZjh/xCAakXIG0XKdnlxY89/S",
        "1yubXvs8GdSqO8GPX9Xwk4fV22MJ/4F8wxh9",
        "fuVQmRhkVeKQGzpPVT0eNwvLXHxrQmQjFLGH",
        "Yggxmz2bmtTNPAX9ctHffwqsw4Ds8GZHDpa1",
        "Nyns0pAKCfeqLCrzxV+TpoJCvDJKTqJmR2kG",
        "a//rC1IRcRow60BY5SQV+6bZXLFbUxt221zy",
        "uB34M0pUB5vljgIfdItDHetEfKqxDQea6A93",
        "OUQe8CwZBHTbwt0Za/IRLUlLfB39smrEIEpt",
    )
]


def test_field_arithmetic_matches_vaults_tests() -> None:
    assert _mul(3, 7) == 9
    assert _mul(3, 0) == 0
    assert _mul(0, 3) == 0
    assert _div(0, 7) == 0
    assert _div(3, 3) == 1
    assert _div(6, 3) == 2
    assert all(_mul(_div(a, b), b) == a for a in range(256) for b in range(1, 256))


@pytest.mark.parametrize("chosen", [(0, 1, 2, 3, 4), (3, 4, 5, 6, 7), (7, 0, 5, 2, 3)])
def test_combines_shares_made_by_vault(chosen: tuple[int, ...]) -> None:
    shares = [VAULT_SHARES_5_OF_8[i] for i in chosen]
    assert combine(shares) == b"I've never been to Spain.\n"


def test_too_few_vault_shares_give_a_different_secret() -> None:
    assert combine(VAULT_SHARES_5_OF_8[:4]) != b"I've never been to Spain.\n"


def test_share_layout_is_values_then_x() -> None:
    secret = secrets.token_bytes(32)
    shares = split(secret, 5, 3)
    assert [len(share) for share in shares] == [33] * 5
    xs = [share[-1] for share in shares]
    assert len(set(xs)) == 5
    assert 0 not in xs


def test_every_threshold_subset_recovers_and_fewer_do_not() -> None:
    secret = secrets.token_bytes(32)
    shares = split(secret, 5, 3)
    for subset in itertools.combinations(shares, 3):
        assert combine(list(subset)) == secret
    for subset in itertools.permutations(shares, 4):
        assert combine(list(subset)) == secret
    assert combine(shares[:2]) != secret


def test_threshold_one_every_share_carries_the_secret() -> None:
    secret = b"\x00\x01\xff"
    shares = split(secret, 3, 1)
    assert [share[:-1] for share in shares] == [secret] * 3
    assert all(combine([share]) == secret for share in shares)


def test_maximum_parts() -> None:
    shares = split(b"k", 255, 255)
    assert sorted(share[-1] for share in shares) == list(range(1, 256))
    assert combine(shares) == b"k"


@settings(max_examples=40, deadline=None)
@given(
    secret=st.binary(min_size=1, max_size=40),
    sizes=st.integers(1, 12).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n))),
)
def test_round_trip_property(secret: bytes, sizes: tuple[int, int]) -> None:
    parts, threshold = sizes
    shares = split(secret, parts, threshold)
    assert combine(shares[-threshold:]) == secret


@pytest.mark.parametrize(
    ("parts", "threshold", "message"),
    [
        (0, 1, "parts must be between 1 and 255"),
        (256, 2, "parts must be between 1 and 255"),
        (3, 0, "threshold must be between 1 and parts"),
        (3, 4, "threshold must be between 1 and parts"),
    ],
)
def test_split_refuses_bad_sizes(parts: int, threshold: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        split(b"secret", parts, threshold)


def test_split_refuses_empty_secret() -> None:
    with pytest.raises(ValueError, match="cannot split an empty secret"):
        split(b"", 3, 2)


def test_combine_refuses_duplicates() -> None:
    shares = split(b"secret", 3, 2)
    with pytest.raises(ValueError, match="duplicate share detected"):
        combine([shares[0], shares[1], shares[0]])
    same_x = bytes(6) + shares[0][-1:]
    with pytest.raises(ValueError, match="duplicate share detected"):
        combine([shares[0], same_x])


@pytest.mark.parametrize(
    ("shares", "message"),
    [
        ([], "no shares to combine"),
        ([b"\x01"], "shares must be at least two bytes"),
        ([b"\x01\x02", b"\x01\x02\x03"], "all shares must be the same length"),
        ([b"\x01\x00", b"\x01\x02"], "share x-coordinate cannot be zero"),
    ],
)
def test_combine_refuses_malformed(shares: list[bytes], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        combine(shares)
