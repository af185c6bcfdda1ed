"""What the entity and group paths share: reading optional fields, and Vault's lookup query rules.

Layer: core; imports errors and framework only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from strongroom.errors import InvalidRequestError
from strongroom.framework import FieldData


def given(data: FieldData, name: str) -> Any:
    """The field's value if the request supplied it, else None (the write then leaves it as it is)."""
    value, supplied = data.get_ok(name)
    return value if supplied else None


class _Alias(Protocol):
    @property
    def canonical_id(self) -> str: ...


R = TypeVar("R")
A = TypeVar("A", bound=_Alias)


def lookup_record(
    data: FieldData,
    by_name: Callable[[str], R | None],
    by_id: Callable[[str], R | None],
    alias: Callable[[str], A | None],
    alias_by_factors: Callable[[str, str], A | None],
) -> R | None:
    """The record lookup/entity or lookup/group names: by name, by ID, by alias ID, or by alias name and
    mount accessor; exactly one of these, with Vault's wording for each wrong query."""
    query = {k: v for k in ("name", "id", "alias_id", "alias_name", "alias_mount_accessor")
             if (v := data.get(k))}  # fmt: skip
    if not query:
        raise InvalidRequestError("query parameter not supplied")
    alias_pair = {"alias_name", "alias_mount_accessor"}
    if len(query) > 1 and set(query) != alias_pair:
        raise InvalidRequestError("query parameter conflict; please supply distinct set of query parameters")
    if "name" in query:
        return by_name(query["name"])
    if "id" in query:
        return by_id(query["id"])
    if "alias_id" in query:
        found = alias(query["alias_id"])
    elif set(query) == alias_pair:
        found = alias_by_factors(query["alias_mount_accessor"], query["alias_name"])
    else:
        raise InvalidRequestError("both 'alias_name' and 'alias_mount_accessor' need to be set")
    return None if found is None else by_id(found.canonical_id)
