"""What the identity store keeps: entities and the aliases that tie each to a login at one auth mount.

Layer: identity (a sibling service of tokens and policy); stdlib only.
Invariant: an entity is stored as one record holding its aliases, so an entity never exists without its
aliases and no alias outlives (or points past) its entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Alias:
    """One name an entity is known by at one auth mount (name + mount accessor is unique)."""

    id: str
    canonical_id: str
    name: str
    mount_accessor: str
    mount_type: str
    mount_path: str
    metadata: Mapping[str, str] = field(default_factory=dict)
    custom_metadata: Mapping[str, str] = field(default_factory=dict)
    creation_time: float = 0.0
    last_update_time: float = 0.0
    # The entities this alias belonged to before merges moved it here.
    merged_from_canonical_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Alias:
        return cls(**{**raw, "merged_from_canonical_ids": tuple(raw.get("merged_from_canonical_ids", ()))})


@dataclass(frozen=True, slots=True)
class Entity:
    """A client known to the server, whatever auth method it logs in with."""

    id: str
    name: str
    policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    disabled: bool = False
    aliases: tuple[Alias, ...] = ()
    creation_time: float = 0.0
    last_update_time: float = 0.0
    # The entities merged into this one.
    merged_entity_ids: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Entity:
        return cls(
            **{
                **raw,
                "policies": tuple(raw["policies"]),
                "aliases": tuple(Alias.from_json(alias) for alias in raw["aliases"]),
                "merged_entity_ids": tuple(raw.get("merged_entity_ids", ())),
            }
        )


@dataclass(frozen=True, slots=True)
class GroupAlias:
    """The name an external group has at one auth mount (what the auth method reports at login)."""

    id: str
    canonical_id: str
    name: str
    mount_accessor: str
    mount_type: str
    mount_path: str
    creation_time: float = 0.0
    last_update_time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Group:
    """A set of entities (and, for internal groups, of other groups) that shares policies."""

    id: str
    name: str
    type: str = "internal"
    policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    member_entity_ids: tuple[str, ...] = ()
    member_group_ids: tuple[str, ...] = ()
    alias: GroupAlias | None = None
    creation_time: float = 0.0
    last_update_time: float = 0.0
    modify_index: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Group:
        alias = raw["alias"]
        return cls(
            **{
                **raw,
                "policies": tuple(raw["policies"]),
                "member_entity_ids": tuple(raw["member_entity_ids"]),
                "member_group_ids": tuple(raw["member_group_ids"]),
                "alias": None if alias is None else GroupAlias(**alias),
            }
        )
