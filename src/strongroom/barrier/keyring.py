"""The barrier's keyring: the root key and one data-encryption key per term. Layer: barrier.

Imports the stdlib, orjson and errors only.

Invariant: a Keyring is immutable; rotation returns a new one, so a reader never sees a half-rotated ring.
Invariant: key bytes never appear in a repr or an error message.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field

import orjson

from strongroom.errors import IntegrityError

KEY_SIZE = 32


@dataclass(frozen=True, slots=True)
class TermKey:
    """The data-encryption key of one term."""

    term: int
    value: bytes = field(repr=False)
    install_time: float


@dataclass(frozen=True, slots=True)
class Keyring:
    """The root key and every term's key; `active_term` encrypts new writes, every term still decrypts."""

    root_key: bytes = field(repr=False)
    keys: tuple[TermKey, ...]
    active_term: int

    @classmethod
    def create(cls, root_key: bytes, install_time: float) -> Keyring:
        """A new keyring with a random key for term 1."""
        if len(root_key) != KEY_SIZE:
            raise ValueError(f"the root key must be {KEY_SIZE} bytes")
        first = TermKey(term=1, value=secrets.token_bytes(KEY_SIZE), install_time=install_time)
        return cls(root_key=root_key, keys=(first,), active_term=1)

    @property
    def active(self) -> TermKey:
        """The key new writes are encrypted with."""
        return self.term_key(self.active_term)

    def term_key(self, term: int) -> TermKey:
        """The key of `term`; IntegrityError if this keyring has none (a forged or foreign header)."""
        for key in self.keys:
            if key.term == term:
                return key
        raise IntegrityError(f"no encryption key for term {term}")

    def add_term(self, install_time: float) -> Keyring:
        """A new keyring whose active term is one past the newest, with a fresh random key."""
        term = max(key.term for key in self.keys) + 1
        added = TermKey(term=term, value=secrets.token_bytes(KEY_SIZE), install_time=install_time)
        return Keyring(root_key=self.root_key, keys=(*self.keys, added), active_term=term)

    def to_json(self) -> bytes:
        """The serialized keyring; the barrier encrypts it with the root key before it is stored."""
        return orjson.dumps(
            {
                "root_key": _b64(self.root_key),
                "active_term": self.active_term,
                "keys": [
                    {"term": key.term, "value": _b64(key.value), "install_time": key.install_time}
                    for key in self.keys
                ],
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Keyring:
        """The keyring serialized in `raw`; IntegrityError if it is not a well-formed keyring."""
        try:
            data = orjson.loads(raw)
            keys = tuple(
                TermKey(
                    term=int(item["term"]),
                    value=base64.b64decode(item["value"], validate=True),
                    install_time=float(item["install_time"]),
                )
                for item in data["keys"]
            )
            keyring = cls(
                root_key=base64.b64decode(data["root_key"], validate=True),
                keys=keys,
                active_term=int(data["active_term"]),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise IntegrityError("stored keyring is malformed") from exc
        _check_size(keyring.root_key, "root key")
        for key in keyring.keys:
            _check_size(key.value, f"key of term {key.term}")
        keyring.term_key(keyring.active_term)
        return keyring


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _check_size(key: bytes, name: str) -> None:
    if len(key) != KEY_SIZE:
        raise IntegrityError(f"{name} must be {KEY_SIZE} bytes")
