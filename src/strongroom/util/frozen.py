"""Copies of frozen values with some fields changed. Bottom layer: stdlib only.

`dataclasses.replace` re-reads the class's fields and runs `__init__` on every call; the request pipeline
copies its frozen values several times per request, so `replace` here copies the slots of a plain slotted
dataclass directly (same result: it has no `__post_init__` or init-less field whose logic would be
skipped) and hands every other class, and any unknown field name, to `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

T = TypeVar("T")

_set = object.__setattr__
# Per class: its field names and their set, when a direct copy is the same as dataclasses.replace.
_PLAIN: dict[type, tuple[tuple[str, ...], frozenset[str]] | None] = {}


def replace(value: T, /, **changes: Any) -> T:
    """A copy of the dataclass instance `value` with `changes` applied (as dataclasses.replace)."""
    cls = type(value)
    plain = _PLAIN[cls] if cls in _PLAIN else _plain_fields(cls)
    if plain is None or not changes.keys() <= plain[1]:
        return dataclasses.replace(value, **changes)  # type: ignore[type-var]
    fresh = object.__new__(cls)
    for name in plain[0]:
        _set(fresh, name, changes[name] if name in changes else getattr(value, name))
    return fresh


def _plain_fields(cls: type) -> tuple[tuple[str, ...], frozenset[str]] | None:
    fields = dataclasses.fields(cls)
    plain = "__slots__" in cls.__dict__ and not hasattr(cls, "__post_init__") and all(f.init for f in fields)
    names = tuple(f.name for f in fields)
    _PLAIN[cls] = (names, frozenset(names)) if plain else None
    return _PLAIN[cls]
