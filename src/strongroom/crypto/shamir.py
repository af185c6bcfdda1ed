"""Shamir secret sharing over GF(2^8), byte-compatible with Vault's `shamir` package. Bottom layer.

A share is the polynomial values for every secret byte (y1..yN) followed by one byte: its x-coordinate.
The field is GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1, as in Vault, so shares from either
implementation combine in the other.

Invariant: coefficients and x-coordinates come from `secrets`; the leading coefficient is never zero, so
any threshold-1 shares reveal nothing about the secret.
"""

from __future__ import annotations

import secrets

_REDUCE = 0x1B
"""x^8 = x^4 + x^3 + x + 1 in the field: what a carry out of the top bit folds back in."""


def _mul(a: int, b: int) -> int:
    """a * b in GF(2^8): eight fixed rounds of shift-and-add, with masks instead of branches and no table.

    Log/exp tables indexed by key bytes leak those bytes through the CPU cache, which is how unseal key
    shares could be narrowed down in Vault (HCSEC-2023-10 / CVE-2023-25000); this is Vault's fix.
    """
    result = 0
    for bit in range(7, -1, -1):
        result = (-((b >> bit) & 1) & a) ^ (-(result >> 7) & _REDUCE) ^ ((result << 1) & 0xFF)
    return result


def _inverse(a: int) -> int:
    """a^254, the inverse of a non-zero a (a^255 = 1), by a fixed chain of multiplications."""
    b = _mul(a, a)
    c = _mul(a, b)
    b = _mul(c, c)
    b = _mul(b, b)
    c = _mul(b, c)
    b = _mul(b, b)
    b = _mul(b, b)
    b = _mul(b, c)
    b = _mul(b, b)
    b = _mul(a, b)
    return _mul(b, b)


def _div(a: int, b: int) -> int:
    return _mul(a, _inverse(b))


def _evaluate(coefficients: list[int], x: int) -> int:
    """Horner's rule, highest coefficient first."""
    result = 0
    for coefficient in reversed(coefficients):
        result = _mul(result, x) ^ coefficient
    return result


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    """`parts` shares of `secret`, any `threshold` of which rebuild it (threshold 1: any one share)."""
    if not 1 <= parts <= 255:
        raise ValueError("parts must be between 1 and 255")
    if not 1 <= threshold <= parts:
        raise ValueError("threshold must be between 1 and parts")
    if not secret:
        raise ValueError("cannot split an empty secret")
    # Distinct random non-zero x-coordinates, as Vault picks them.
    pool = list(range(1, 256))
    xs = [pool.pop(secrets.randbelow(len(pool))) for _ in range(parts)]
    ys = [bytearray(len(secret)) for _ in range(parts)]
    for index, byte in enumerate(secret):
        coefficients = [byte, *(secrets.randbelow(256) for _ in range(threshold - 2))]
        if threshold > 1:
            coefficients.append(1 + secrets.randbelow(255))
        for share, x in zip(ys, xs, strict=True):
            share[index] = _evaluate(coefficients, x)
    return [bytes(share) + bytes([x]) for share, x in zip(ys, xs, strict=True)]


def combine(shares: list[bytes]) -> bytes:
    """The secret the given shares were split from (Lagrange interpolation at x = 0).

    Raises ValueError for no shares, shares shorter than two bytes, shares of different lengths, or two
    shares with the same x-coordinate. Too few or foreign shares yield a wrong secret, not an error: the
    caller authenticates the result.
    """
    if not shares:
        raise ValueError("no shares to combine")
    length = len(shares[0])
    if length < 2:
        raise ValueError("shares must be at least two bytes")
    if any(len(share) != length for share in shares):
        raise ValueError("all shares must be the same length")
    xs = [share[-1] for share in shares]
    if 0 in xs:
        raise ValueError("share x-coordinate cannot be zero")
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate share detected")
    # The Lagrange basis at 0 depends only on the x-coordinates: compute it once for every byte.
    basis = []
    for i, xi in enumerate(xs):
        weight = 1
        for j, xj in enumerate(xs):
            if i != j:
                weight = _mul(weight, _div(xj, xi ^ xj))
        basis.append(weight)
    secret = bytearray(length - 1)
    for index in range(length - 1):
        value = 0
        for share, weight in zip(shares, basis, strict=True):
            value ^= _mul(share[index], weight)
        secret[index] = value
    return bytes(secret)
