"""Authenticated encryption with AES-256-GCM (cryptography's AESGCM). Bottom layer.

Output format: a 12-byte random nonce followed by the ciphertext and its 16-byte tag.

Invariant: every nonce comes from the operating system's CSPRNG, never from a counter or an injected source,
so a nonce is never reused under one key.
Invariant: a failed authentication raises IntegrityError and reveals nothing of the key or the plaintext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import IntegrityError

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16


class Cipher:
    """An AES-256-GCM key ready for use: build it once per key, since AESGCM setup is not free."""

    __slots__ = ("_aesgcm",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_SIZE:
            raise ValueError(f"an AES-256-GCM key is {KEY_SIZE} bytes, not {len(key)}")
        self._aesgcm = AESGCM(key)

    def __repr__(self) -> str:
        return "Cipher(<redacted>)"

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> bytes:
        """Nonce + ciphertext + tag of `plaintext`, bound to `associated_data`."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aesgcm.encrypt(nonce, plaintext, associated_data)

    def decrypt(self, sealed: bytes, associated_data: bytes) -> bytes:
        """The plaintext of `sealed`; IntegrityError if it was altered, truncated, or bound to other data."""
        if len(sealed) < NONCE_SIZE + TAG_SIZE:
            raise IntegrityError("ciphertext is too short")
        try:
            return self._aesgcm.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], associated_data)
        except InvalidTag:
            raise IntegrityError("message authentication failed") from None


def encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """One-shot `Cipher(key).encrypt(...)`, for keys used once (the root key at unseal)."""
    return Cipher(key).encrypt(plaintext, associated_data)


def decrypt(key: bytes, sealed: bytes, associated_data: bytes) -> bytes:
    """One-shot `Cipher(key).decrypt(...)`."""
    return Cipher(key).decrypt(sealed, associated_data)
