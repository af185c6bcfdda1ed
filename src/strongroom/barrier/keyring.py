"""The barrier's keyring: the root key, one data-encryption key per term, and when to rotate on its own.
Layer: barrier.

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

# Vault's bounds for automatic rotation: about 2^32 * 0.9 AES-GCM encryptions per key (NIST SP 800-38D's
# limit for random nonces, with a margin), and never more often than daily by time.
MAX_OPERATIONS = 3_865_470_566
MIN_OPERATIONS = 1_000_000
MIN_INTERVAL = 24 * 3600


@dataclass(frozen=True, slots=True)
class RotationConfig:
    """When the barrier rotates its key on its own (Vault's KeyRotationConfig): after `max_operations`
    encryptions with one term, or `interval` seconds after the term was installed (0: never by time)."""

    max_operations: int = MAX_OPERATIONS
    interval: int = 0
    enabled: bool = True

    def due(self, encryptions: int, install_time: float, now: float) -> bool:
        """Whether a term installed at `install_time` that encrypted `encryptions` values must rotate."""
        if not self.enabled:
            return False
        return encryptions >= self.max_operations or (0 < self.interval <= now - install_time)


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
    rotation: RotationConfig = field(default_factory=RotationConfig)

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
        return Keyring(self.root_key, (*self.keys, added), term, self.rotation)

    def to_json(self) -> bytes:
        """The serialized keyring; the barrier encrypts it with the root key before it is stored."""
        return orjson.dumps(
            {
                "root_key": _b64(self.root_key),
                "active_term": self.active_term,
                "rotation": {
                    "max_operations": self.rotation.max_operations,
                    "interval": self.rotation.interval,
                    "enabled": self.rotation.enabled,
                },
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
            rotation = data.get("rotation") or {}
            keyring = cls(
                root_key=base64.b64decode(data["root_key"], validate=True),
                keys=keys,
                active_term=int(data["active_term"]),
                rotation=RotationConfig(
                    max_operations=int(rotation.get("max_operations", MAX_OPERATIONS)),
                    interval=int(rotation.get("interval", 0)),
                    enabled=bool(rotation.get("enabled", True)),
                ),
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
