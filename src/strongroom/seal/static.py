"""The static seal: auto-unseal from a key the environment provides (OpenBao 2.4's `seal "static"`).

Layer: seal. Imports errors and util only. The key comes from the config as base64 or hex text, from a file
(`file:///run/secrets/unseal_key`, as a Docker secret mounts it) or from an environment variable
(`env://UNSEAL_KEY`). A previous key (with its id) lets a restarted server re-wrap its root key after
the operator rotates the static key.

Invariant: key material never appears in an error message or a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom.errors import ConfigError
from strongroom.util.keytext import hex_or_base64

KEY_BYTES = 32


@dataclass(frozen=True, slots=True)
class StaticKey:
    """One static key and its id."""

    key_id: str
    key: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class StaticKeys:
    """The current static key, and the previous one during a rotation."""

    current: StaticKey
    previous: StaticKey | None = None

    def by_id(self, key_id: str) -> StaticKey | None:
        """The key with `key_id`, if this server has it."""
        for candidate in (self.current, self.previous):
            if candidate is not None and candidate.key_id == key_id:
                return candidate
        return None


def load_static_keys(options: Mapping[str, Any]) -> StaticKeys:
    """Read the keys a `seal "static"` stanza names; ConfigError with a clear reason if one is unusable."""
    known = {"current_key_id", "current_key", "previous_key_id", "previous_key"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f'seal "static": unknown key {unknown[0]!r}')
    current = _key(options, "current")
    if current is None:
        raise ConfigError('seal "static" needs current_key_id and current_key')
    previous = _key(options, "previous")
    if previous is not None and previous.key_id == current.key_id:
        raise ConfigError('seal "static": previous_key_id must differ from current_key_id')
    return StaticKeys(current=current, previous=previous)


def _key(options: Mapping[str, Any], which: str) -> StaticKey | None:
    key_id, source = options.get(f"{which}_key_id"), options.get(f"{which}_key")
    if key_id is None and source is None:
        return None
    if not isinstance(key_id, str) or not key_id:
        raise ConfigError(f'seal "static": {which}_key_id must be a non-empty string')
    if not isinstance(source, str) or not source:
        raise ConfigError(f'seal "static": {which}_key must be a non-empty string')
    return StaticKey(key_id=key_id, key=_resolve(source, f"{which}_key"))


def _resolve(source: str, name: str) -> bytes:
    where = f'seal "static": {name}'
    if source.startswith("file://"):
        path = Path(source.removeprefix("file://"))
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read {path}: {exc.strerror}") from None
        if len(raw) == KEY_BYTES:
            return raw
        text = raw.decode("ascii", "replace").strip()
    elif source.startswith("env://"):
        variable = source.removeprefix("env://")
        text = os.environ.get(variable, "").strip()
        if not text:
            raise ConfigError(f"{where}: the environment variable {variable} is not set")
    else:
        text = source.strip()
    key = hex_or_base64(text)
    if key is None or len(key) != KEY_BYTES:
        raise ConfigError(
            f"{where}: the key must be {KEY_BYTES} bytes, as raw bytes in a file, or hex or base64"
        )
    return key
