"""The keyring: terms, immutability, JSON round trip and refusals."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from strongroom.barrier.keyring import Keyring
from strongroom.errors import IntegrityError

ROOT = bytes(range(32))


def test_create_has_term_one() -> None:
    keyring = Keyring.create(ROOT, install_time=100.0)
    assert keyring.active_term == 1
    assert [key.term for key in keyring.keys] == [1]
    assert len(keyring.active.value) == 32
    assert keyring.active.install_time == 100.0
    assert keyring.root_key == ROOT


def test_add_term_returns_a_new_keyring() -> None:
    first = Keyring.create(ROOT, install_time=1.0)
    second = first.add_term(install_time=2.0)
    assert first.active_term == 1
    assert len(first.keys) == 1
    assert second.active_term == 2
    assert second.term_key(1) == first.term_key(1)
    assert second.term_key(2).value != first.term_key(1).value
    assert second.term_key(2).install_time == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        second.active_term = 5  # type: ignore[misc]


def test_unknown_term() -> None:
    with pytest.raises(IntegrityError, match="no encryption key for term 7"):
        Keyring.create(ROOT, 0.0).term_key(7)


def test_json_round_trip() -> None:
    keyring = Keyring.create(ROOT, 1.5).add_term(2.5).add_term(3.5)
    assert Keyring.from_json(keyring.to_json()) == keyring


def test_repr_hides_keys() -> None:
    keyring = Keyring.create(ROOT, 0.0)
    text = repr(keyring)
    assert ROOT.hex() not in text
    assert repr(ROOT) not in text
    assert repr(keyring.active.value) not in text
    assert "active_term=1" in text


def test_root_key_must_be_256_bits() -> None:
    with pytest.raises(ValueError, match="the root key must be 32 bytes"):
        Keyring.create(b"short", 0.0)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"{}",
        orjson.dumps({"root_key": "!!", "active_term": 1, "keys": []}),
        orjson.dumps({"root_key": "AAAA", "active_term": 1, "keys": []}),
    ],
)
def test_malformed_json_is_an_integrity_error(raw: bytes) -> None:
    with pytest.raises(IntegrityError):
        Keyring.from_json(raw)


def test_active_term_must_exist() -> None:
    data = orjson.loads(Keyring.create(ROOT, 0.0).to_json())
    data["active_term"] = 2
    with pytest.raises(IntegrityError, match="no encryption key for term 2"):
        Keyring.from_json(orjson.dumps(data))
