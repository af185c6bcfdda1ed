"""An in-memory physical backend: the twin every fast test runs on, and the dev server's storage.

Layer: physical (imports physical.keys, errors and sortedcontainers only).
"""

from __future__ import annotations

import builtins

from sortedcontainers import SortedList  # type: ignore[import-untyped]

from strongroom.physical.keys import check_key, check_prefix, child_of, folder_end


class InmemBackend:
    """PhysicalBackend and Transactional over a dict, with a sorted key index for prefix listing."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}
        # Kept sorted so that listing a prefix touches only the keys under it, as SQLite's index does. A
        # SortedList, not a list: a dev server's tokens and leases grow it by three keys per login, and a
        # list's insertion moves every later key (tens of µs per key at a few hundred thousand keys).
        self._sorted = SortedList()

    async def get(self, key: str) -> bytes | None:
        return self._data.get(check_key(key))

    async def put(self, key: str, value: bytes) -> None:
        self._put(check_key(key), bytes(value))

    async def delete(self, key: str) -> None:
        self._delete(check_key(key))

    async def list(self, prefix: str) -> builtins.list[str]:
        return self._children(check_prefix(prefix), "", 0)

    async def list_page(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        return self._children(check_prefix(prefix), after, limit)

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        # Validate everything first: a refused key must leave the store untouched.
        for key in (*puts, *deletes):
            check_key(key)
        for key in deletes:
            self._delete(key)
        for key, value in puts.items():
            self._put(key, bytes(value))

    async def snapshot_entries(self) -> builtins.list[tuple[str, bytes]]:
        return [(key, self._data[key]) for key in self._sorted]

    async def replace_all(self, entries: builtins.list[tuple[str, bytes]]) -> None:
        for key, _ in entries:
            check_key(key)
        self._data = dict(entries)
        self._sorted = SortedList(self._data)

    async def close(self) -> None:
        return None

    def _put(self, key: str, value: bytes) -> None:
        if key not in self._data:
            self._sorted.add(key)
        self._data[key] = value

    def _delete(self, key: str) -> None:
        if self._data.pop(key, None) is not None:
            self._sorted.remove(key)

    def _children(self, prefix: str, after: str, limit: int) -> builtins.list[str]:
        children: builtins.list[str] = []
        index = self._sorted.bisect_left(prefix + after)
        while index < len(self._sorted) and (limit <= 0 or len(children) < limit):
            key = self._sorted[index]
            child = child_of(key, prefix)
            if child is None:
                if not key.startswith(prefix):
                    break
                index += 1
                continue
            if child > after:
                children.append(child)
            if child.endswith("/"):
                # A folder is reported once: jump past every key inside it.
                index = max(index + 1, self._sorted.bisect_left(folder_end(prefix, child)))
            else:
                index += 1
        return children
