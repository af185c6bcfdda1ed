"""One kind of identity record (entities or groups) in storage, with the in-memory indexes both stores use:
by ID, by name, and the records' aliases by ID and by (mount accessor, name).

Layer: identity; imports logical (Storage) only.
Invariant: every change updates the indexes with the record (its old entries out, its new ones in), so they
never disagree with the records; a change costs the record's own aliases, not the whole store. Names and
alias names compare without case (Vault's default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Generic, Protocol, TypeVar

from strongroom.logical import Storage, get_json, put_json


class _Record(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


class _Alias(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def mount_accessor(self) -> str: ...


R = TypeVar("R", bound=_Record)
A = TypeVar("A", bound=_Alias)


class Records(Generic[R, A]):
    """The records kept under `prefix`, read with `from_json`; `aliases_of` names a record's aliases."""

    def __init__(
        self,
        storage: Storage,
        prefix: str,
        from_json: Callable[[Mapping[str, Any]], R],
        aliases_of: Callable[[R], Iterable[A]],
    ) -> None:
        self._storage = storage
        self._prefix = prefix
        self._from_json = from_json
        self._aliases_of = aliases_of
        self._records: dict[str, R] = {}
        self._names: dict[str, str] = {}
        self._aliases: dict[str, A] = {}
        self._owners: dict[str, str] = {}  # alias ID -> the ID of the record holding it
        self._factors: dict[tuple[str, str], str] = {}
        # Counts changes, so callers can cache what they derive from the records.
        self.generation = 0

    async def read(self) -> dict[str, R]:
        """Every record in storage, by ID (the indexes are left as they are until `reset`)."""
        records = {}
        for key in await self._storage.list(self._prefix):
            raw = await get_json(self._storage, self._prefix + key)
            if raw is not None:
                records[key] = self._from_json(raw)
        return records

    def reset(self, records: dict[str, R]) -> None:
        """Hold `records` (what `read` returned, perhaps repaired) and index them."""
        self._records = records
        self._reindex()

    def _reindex(self) -> None:
        self._names, self._aliases, self._owners, self._factors = {}, {}, {}, {}
        for record in self._records.values():
            self._index(record)
        self.generation += 1

    async def put(self, record: R) -> None:
        await put_json(self._storage, self._prefix + record.id, record.to_json())
        self._unindex(self._records.get(record.id))
        self._records[record.id] = record
        self._index(record)
        self.generation += 1

    async def delete(self, record_id: str) -> None:
        await self._storage.delete(self._prefix + record_id)
        self._unindex(self._records.pop(record_id, None))
        self.generation += 1

    def _index(self, record: R) -> None:
        self._names[record.name.lower()] = record.id
        for alias in self._aliases_of(record):
            self._aliases[alias.id] = alias
            self._owners[alias.id] = record.id
            self._factors[(alias.mount_accessor, alias.name.lower())] = alias.id

    def _unindex(self, record: R | None) -> None:
        """Drop what `record` put in the indexes, leaving what another record has since taken (a name it
        was renamed to, an alias a merge moved to it)."""
        if record is None:
            return
        if self._names.get(record.name.lower()) == record.id:
            del self._names[record.name.lower()]
        for alias in self._aliases_of(record):
            if self._owners.get(alias.id) != record.id:
                continue
            del self._aliases[alias.id], self._owners[alias.id]
            factors = (alias.mount_accessor, alias.name.lower())
            if self._factors.get(factors) == alias.id:
                del self._factors[factors]

    def __contains__(self, record_id: str) -> bool:
        return record_id in self._records

    def __getitem__(self, record_id: str) -> R:
        return self._records[record_id]

    def get(self, record_id: str) -> R | None:
        return self._records.get(record_id)

    def name_holder(self, name: str) -> str | None:
        """The ID of the record called `name`, or None."""
        return self._names.get(name.lower())

    def by_name(self, name: str) -> R | None:
        record_id = self.name_holder(name)
        return None if record_id is None else self._records[record_id]

    def all(self) -> list[R]:
        """Every record, by ID."""
        return [self._records[k] for k in sorted(self._records)]

    def alias(self, alias_id: str) -> A | None:
        return self._aliases.get(alias_id)

    def alias_holder(self, mount_accessor: str, name: str) -> str | None:
        """The ID of the alias called `name` at the mount with `mount_accessor`, or None."""
        return self._factors.get((mount_accessor, name.lower()))

    def alias_by_factors(self, mount_accessor: str, name: str) -> A | None:
        alias_id = self.alias_holder(mount_accessor, name)
        return None if alias_id is None else self._aliases[alias_id]

    def aliases(self) -> list[A]:
        """Every alias, by ID."""
        return [self._aliases[k] for k in sorted(self._aliases)]
