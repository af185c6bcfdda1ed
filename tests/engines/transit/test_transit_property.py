"""Property: decrypt(encrypt(x)) == x for every encrypting key type, any version after rotations, any
context of a derived key; and a ciphertext never decrypts under another key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strongroom.builtin.secrets.transit import operations
from strongroom.builtin.secrets.transit.models import KeyPolicy, KeyType, TransitError
from strongroom.builtin.secrets.transit.paths_keys import new_policy
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.util.clock import ManualClock

STORE = KeyStore(ManualClock())


def _rotated(policy: KeyPolicy, times: int) -> KeyPolicy:
    for _ in range(times):
        policy = STORE.rotated(policy)
    return policy


# Built once: RSA generation is slow, and the property is about the data, not the key.
KEYS = {
    key_type: _rotated(new_policy(STORE, key_type.value, key_type), 2)
    for key_type in (KeyType.AES128_GCM96, KeyType.AES256_GCM96, KeyType.CHACHA20_POLY1305, KeyType.RSA_2048)
}
DERIVED = _rotated(new_policy(STORE, "derived", KeyType.AES256_GCM96, derived=True), 1)


@settings(max_examples=60, deadline=None)
@given(
    key_type=st.sampled_from(sorted(KEYS)),
    plaintext=st.binary(max_size=150),
    version=st.integers(min_value=0, max_value=3),
)
def test_round_trip_any_type_and_version(key_type: KeyType, plaintext: bytes, version: int) -> None:
    policy = KEYS[key_type]
    sealed = operations.encrypt(policy, plaintext, None, version)
    assert sealed.startswith(f"vault:v{version or 3}:")
    assert operations.decrypt(policy, sealed, None) == plaintext


@settings(max_examples=40, deadline=None)
@given(plaintext=st.binary(max_size=100), context=st.binary(min_size=1, max_size=32))
def test_derived_round_trip_needs_the_same_context(plaintext: bytes, context: bytes) -> None:
    sealed = operations.encrypt(DERIVED, plaintext, context)
    assert operations.decrypt(DERIVED, sealed, context) == plaintext
    with pytest.raises(TransitError):
        operations.decrypt(DERIVED, sealed, context + b"x")


@settings(max_examples=30, deadline=None)
@given(plaintext=st.binary(max_size=64))
def test_other_key_cannot_decrypt(plaintext: bytes) -> None:
    sealed = operations.encrypt(KEYS[KeyType.AES256_GCM96], plaintext, None)
    other = _rotated(new_policy(STORE, "other", KeyType.AES256_GCM96), 2)
    with pytest.raises(TransitError, match="message authentication failed"):
        operations.decrypt(other, sealed, None)
