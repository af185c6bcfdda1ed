"""AES-256-GCM: round trip, random nonces, and authentication failures."""

from __future__ import annotations

import secrets

import pytest

from strongroom.crypto.aead import NONCE_SIZE, TAG_SIZE, Cipher, decrypt, encrypt
from strongroom.errors import IntegrityError

KEY = bytes(range(32))


def test_round_trip_with_associated_data() -> None:
    sealed = encrypt(KEY, b"plaintext", b"path/a")
    assert len(sealed) == NONCE_SIZE + len(b"plaintext") + TAG_SIZE
    assert b"plaintext" not in sealed
    assert decrypt(KEY, sealed, b"path/a") == b"plaintext"


def test_known_answer_layout() -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    sealed = Cipher(KEY).encrypt(b"value", b"ad")
    assert AESGCM(KEY).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], b"ad") == b"value"


def test_nonces_are_fresh() -> None:
    cipher = Cipher(KEY)
    nonces = {cipher.encrypt(b"same", b"")[:NONCE_SIZE] for _ in range(200)}
    assert len(nonces) == 200


def test_wrong_associated_data_fails() -> None:
    sealed = encrypt(KEY, b"v", b"path/a")
    with pytest.raises(IntegrityError, match="message authentication failed"):
        decrypt(KEY, sealed, b"path/b")


def test_wrong_key_fails() -> None:
    sealed = encrypt(KEY, b"v", b"")
    with pytest.raises(IntegrityError):
        decrypt(secrets.token_bytes(32), sealed, b"")


@pytest.mark.parametrize("position", [0, NONCE_SIZE, -1])
def test_any_flipped_bit_fails(position: int) -> None:
    sealed = bytearray(encrypt(KEY, b"value", b""))
    sealed[position] ^= 0x01
    with pytest.raises(IntegrityError):
        decrypt(KEY, bytes(sealed), b"")


def test_truncated_fails() -> None:
    with pytest.raises(IntegrityError, match="ciphertext is too short"):
        decrypt(KEY, b"\x00" * (NONCE_SIZE + TAG_SIZE - 1), b"")


@pytest.mark.parametrize("size", [0, 16, 24, 31, 33])
def test_only_256_bit_keys(size: int) -> None:
    with pytest.raises(ValueError, match=f"an AES-256-GCM key is 32 bytes, not {size}"):
        Cipher(bytes(size))


def test_repr_hides_the_key() -> None:
    assert repr(Cipher(KEY)) == "Cipher(<redacted>)"
