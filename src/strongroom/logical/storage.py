"""The storage a backend sees: its own view of the barrier, with four verbs over bytes.

Invariant: a backend's Storage is prefixed by the core, so it can never reach another mount's keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, cast, runtime_checkable

import orjson


class Storage(Protocol):
    """Key/value storage for one backend. Keys are slash-separated paths; values are bytes."""

    async def get(self, key: str) -> bytes | None:
        """The value at `key`, or None."""
        ...

    async def put(self, key: str, value: bytes) -> None:
        """Store `value` at `key`, replacing any previous value."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; removing a missing key is not an error."""
        ...

    async def list(self, prefix: str) -> list[str]:
        """Sorted immediate children of `prefix`: leaf keys as names, sub-folders with a trailing "/"."""
        ...


@runtime_checkable
class TransactionalStorage(Protocol):
    """An optional extra of a Storage: several writes applied atomically (the barrier and its views)."""

    async def transaction(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        """Apply all `puts` and `deletes` at once, or none of them."""
        ...


_TRANSACTIONAL: dict[type, bool] = {}


async def write_together(storage: Storage, puts: dict[str, bytes], deletes: Sequence[str] = ()) -> None:
    """Apply `puts` and `deletes` (no key in both) in one atomic write where `storage` offers one: one
    commit, one fsync. Elsewhere they are applied one by one, puts first, in the order given: callers
    order them as an interrupted sequence would best be left."""
    kind = type(storage)
    transactional = _TRANSACTIONAL.get(kind)
    if transactional is None:
        # A runtime Protocol check walks the protocol's members on every call: once per class is enough.
        transactional = _TRANSACTIONAL[kind] = isinstance(storage, TransactionalStorage)
    if transactional:
        await cast(TransactionalStorage, storage).transaction(puts, list(deletes))
        return
    for key, value in puts.items():
        await storage.put(key, value)
    for key in deletes:
        await storage.delete(key)


async def get_json(storage: Storage, key: str) -> Any:
    """The JSON value stored at `key`, or None."""
    raw = await storage.get(key)
    return None if raw is None else orjson.loads(raw)


async def put_json(storage: Storage, key: str, value: Any) -> None:
    """Store `value` as JSON at `key`."""
    await storage.put(key, orjson.dumps(value))


def list_children(keys: list[str] | set[str] | Any, prefix: str) -> list[str]:
    """Vault's list semantics over a flat key set: immediate children of `prefix`, folders with "/"."""
    children: set[str] = set()
    for key in keys:
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if not rest:
            continue
        head, sep, _ = rest.partition("/")
        children.add(head + sep)
    return sorted(children)


class InmemStorage:
    """A Storage held in a dict: the in-memory twin for backend unit tests."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def get(self, key: str) -> bytes | None:
        return self.data.get(key)

    async def put(self, key: str, value: bytes) -> None:
        self.data[key] = value

    async def delete(self, key: str) -> None:
        self.data.pop(key, None)

    async def list(self, prefix: str) -> list[str]:
        return list_children(self.data.keys(), prefix)
