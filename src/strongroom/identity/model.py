"""What the identity store keeps: entities and the aliases that tie each to a login at one auth mount.

Layer: identity (a sibling service of tokens and policy); stdlib only.
Invariant: an entity is stored as one record holding its aliases, so an entity never exists without its
aliases and no alias outlives (or points past) its entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
        return {
            "id": self.id,
            "canonical_id": self.canonical_id,
            "name": self.name,
            "mount_accessor": self.mount_accessor,
            "mount_type": self.mount_type,
            "mount_path": self.mount_path,
            "metadata": dict(self.metadata),
            "custom_metadata": dict(self.custom_metadata),
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "merged_from_canonical_ids": list(self.merged_from_canonical_ids),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Alias:
        return cls(
            **{
                **raw,
                "metadata": dict(raw["metadata"]),
                "custom_metadata": dict(raw["custom_metadata"]),
                "merged_from_canonical_ids": tuple(raw.get("merged_from_canonical_ids", ())),
            }
        )


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
        return {
            "id": self.id,
            "name": self.name,
            "policies": list(self.policies),
            "metadata": dict(self.metadata),
            "disabled": self.disabled,
            "aliases": [alias.to_json() for alias in self.aliases],
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "merged_entity_ids": list(self.merged_entity_ids),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Entity:
        return cls(
            id=raw["id"],
            name=raw["name"],
            policies=tuple(raw["policies"]),
            metadata=dict(raw["metadata"]),
            disabled=raw["disabled"],
            aliases=tuple(Alias.from_json(a) for a in raw["aliases"]),
            creation_time=raw["creation_time"],
            last_update_time=raw["last_update_time"],
            merged_entity_ids=tuple(raw.get("merged_entity_ids", ())),
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
        return {
            "id": self.id,
            "canonical_id": self.canonical_id,
            "name": self.name,
            "mount_accessor": self.mount_accessor,
            "mount_type": self.mount_type,
            "mount_path": self.mount_path,
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
        }


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
        return {
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "policies": list(self.policies),
            "metadata": dict(self.metadata),
            "member_entity_ids": list(self.member_entity_ids),
            "member_group_ids": list(self.member_group_ids),
            "alias": None if self.alias is None else self.alias.to_json(),
            "creation_time": self.creation_time,
            "last_update_time": self.last_update_time,
            "modify_index": self.modify_index,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Group:
        alias = raw["alias"]
        return cls(
            id=raw["id"],
            name=raw["name"],
            type=raw["type"],
            policies=tuple(raw["policies"]),
            metadata=dict(raw["metadata"]),
            member_entity_ids=tuple(raw["member_entity_ids"]),
            member_group_ids=tuple(raw["member_group_ids"]),
            alias=None if alias is None else GroupAlias(**alias),
            creation_time=raw["creation_time"],
            last_update_time=raw["last_update_time"],
            modify_index=raw["modify_index"],
        )
