"""Vault's hashstructure rules: every string in a structure becomes its salted HMAC; nothing else changes.

Layer: audit (a service). Imports crypto only.

Rules (from Vault's audit/hashstructure.go): map keys are kept; strings (also inside lists and nested maps)
are replaced by "hmac-sha256:<hex>"; numbers, booleans and null are kept; a string whose nearest enclosing
map key is one of the exempt keys (a mount's audit_non_hmac_*_keys) is kept as it is.

Invariant: with hashing on, no string of the input reaches the output unhashed unless its key is exempt.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

Hasher = Callable[[str], str]


def hash_structure(value: Any, hasher: Hasher, exempt: Collection[str] = (), key: str = "") -> Any:
    """A copy of `value` with every string hashed by `hasher`, except under an exempt map key."""
    # Exact types first: they are nearly every value, and the ABC checks cost more than the rest.
    kind = type(value)
    if kind in _KEPT:
        return value
    if kind is str or isinstance(value, str):
        return value if key in exempt else hasher(value)
    if kind is dict or isinstance(value, Mapping):
        return _hash_map(value, hasher, exempt)
    if isinstance(value, list | tuple):
        return [hash_structure(v, hasher, exempt, key) for v in value]
    return value


def _hash_map(value: Mapping[Any, Any], hasher: Hasher, exempt: Collection[str]) -> dict[Any, Any]:
    # A map's strings and scalars (most of its values) are handled here, without a call per value.
    hashed: dict[Any, Any] = {}
    for k, v in value.items():
        kind = type(v)
        if kind is str:
            hashed[k] = v if exempt and str(k) in exempt else hasher(v)
        elif kind in _KEPT:
            hashed[k] = v
        elif kind is dict:  # a nested map's strings go by their own keys, not this one
            hashed[k] = _hash_map(v, hasher, exempt)
        elif kind is list or kind is tuple:
            hashed[k] = _hash_list(v, hasher, exempt, str(k))
        else:
            hashed[k] = hash_structure(v, hasher, exempt, str(k))
    return hashed


def _hash_list(items: Sequence[Any], hasher: Hasher, exempt: Collection[str], key: str) -> list[Any]:
    # A list's strings (policy names, key names) are handled here, without a call per item.
    kept = key in exempt
    return [
        (item if kept else hasher(item)) if type(item) is str else hash_structure(item, hasher, exempt, key)
        for item in items
    ]


_KEPT = frozenset({int, float, bool, type(None)})
