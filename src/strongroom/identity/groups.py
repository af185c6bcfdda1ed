"""Identity groups: internal groups (members named by hand, other groups nested) and external groups (one
group alias each, membership from the auth method). Kept behind the barrier, indexed in memory.

Layer: identity; imports logical (Storage), errors, util and the package's model.
Invariant: a group is one storage record holding its alias, so no group alias outlives its group.
Invariant: no group is its own ancestor (a write that would close a cycle is refused), so walking the
parents of a group always ends.
Invariant: a member entity or group that no longer exists is no member: membership is always read
against the live entities and groups, so deleting an entity needs no second write.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.identity.common import AuthMounts, clean_policies
from strongroom.identity.model import Group, GroupAlias
from strongroom.identity.records import Records
from strongroom.logical import Storage
from strongroom.util.clock import Clock
from strongroom.util.ids import new_uuid

_GROUPS = "group/"
_TYPES = ("internal", "external")


class GroupStore:
    """Groups and group aliases: the records in storage and the indexes built from them."""

    def __init__(
        self, storage: Storage, clock: Clock, mounts: AuthMounts, entity_exists: Callable[[str], bool]
    ) -> None:
        self._clock = clock
        self._mounts = mounts
        self._entity_exists = entity_exists
        self._lock = asyncio.Lock()
        self._records: Records[Group, GroupAlias] = Records(
            storage, _GROUPS, Group.from_json, lambda group: () if group.alias is None else (group.alias,)
        )
        self._member_of: dict[str, tuple[str, ...]] = {}
        self._parents_of: dict[str, tuple[str, ...]] = {}

    @property
    def generation(self) -> int:
        """Counts changes, so callers can cache what they derive from the groups."""
        return self._records.generation

    async def load(self) -> None:
        """Read every group and build the indexes (on unseal)."""
        self._records.reset(await self._records.read())
        self._index_members()

    def _index_members(self) -> None:
        member_of: dict[str, list[str]] = {}
        parents_of: dict[str, list[str]] = {}
        for group in self.groups():
            for entity_id in group.member_entity_ids:
                member_of.setdefault(entity_id, []).append(group.id)
            for child in group.member_group_ids:
                parents_of.setdefault(child, []).append(group.id)
        self._member_of = {k: tuple(v) for k, v in member_of.items()}
        self._parents_of = {k: tuple(v) for k, v in parents_of.items()}

    async def _put(self, group: Group) -> None:
        await self._records.put(group)
        self._index_members()

    def group(self, group_id: str) -> Group | None:
        return self._records.get(group_id)

    def group_by_name(self, name: str) -> Group | None:
        return self._records.by_name(name)

    def groups(self) -> list[Group]:
        """Every group, by ID."""
        return self._records.all()

    def alias(self, alias_id: str) -> GroupAlias | None:
        return self._records.alias(alias_id)

    def alias_by_factors(self, mount_accessor: str, name: str) -> GroupAlias | None:
        return self._records.alias_by_factors(mount_accessor, name)

    def aliases(self) -> list[GroupAlias]:
        """Every group alias, by ID."""
        return self._records.aliases()

    def member_entities(self, group: Group) -> tuple[str, ...]:
        """The group's member entities that still exist."""
        return tuple(e for e in group.member_entity_ids if self._entity_exists(e))

    def member_groups(self, group: Group) -> tuple[str, ...]:
        """The group's member groups that still exist."""
        return tuple(g for g in group.member_group_ids if g in self._records)

    def parents(self, group_id: str) -> tuple[str, ...]:
        """The groups that name `group_id` as a member, by ID."""
        return self._parents_of.get(group_id, ())

    def direct_groups(self, entity_id: str) -> tuple[str, ...]:
        """The groups `entity_id` is a member of itself, by ID."""
        return self._member_of.get(entity_id, ())

    def ancestors(self, group_ids: Iterable[str]) -> tuple[str, ...]:
        """Every group above `group_ids` (parents, their parents, ...), not counting those given."""
        start = set(group_ids)
        seen: set[str] = set()
        pending = list(start)
        while pending:
            for parent in self.parents(pending.pop()):
                if parent not in seen:
                    seen.add(parent)
                    pending.append(parent)
        return tuple(sorted(seen - start))

    async def write_group(
        self,
        *,
        group_id: str = "",
        name: str = "",
        kind: str | None = None,
        policies: Iterable[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        member_entity_ids: Iterable[str] | None = None,
        member_group_ids: Iterable[str] | None = None,
    ) -> tuple[Group, bool]:
        """Create a group, or update the one `group_id` (or, without it, `name`) names; (group, created)."""
        async with self._lock:
            now = self._clock.now()
            if group_id:
                current = self._records.get(group_id)
                if current is None:
                    raise InvalidRequestError("invalid group ID")
            else:
                current = self.group_by_name(name) if name else None
            created = current is None
            group = current or Group(id=new_uuid(), name="", type="", creation_time=now)
            changes: dict[str, Any] = {}
            if policies is not None:
                changes["policies"] = clean_policies(policies)
            if kind:
                if group.type and kind != group.type:
                    raise InvalidRequestError("group type cannot be changed")
                changes["type"] = kind
            final_type = str(changes.get("type") or group.type or "internal")
            if final_type not in _TYPES:
                raise InvalidRequestError(f'invalid group type "{final_type}"')
            changes["type"] = final_type
            if name:
                holder = self._records.name_holder(name)
                if holder is not None and holder != group.id:
                    raise InvalidRequestError("group name is already in use")
                changes["name"] = name
            elif not group.name:
                changes["name"] = self._free_name()
            if metadata is not None:
                changes["metadata"] = dict(metadata)
            if member_entity_ids is not None:
                if final_type == "external":
                    raise InvalidRequestError("member entities can't be set manually for external groups")
                changes["member_entity_ids"] = self._checked_entities(member_entity_ids)
            if member_group_ids is not None:
                if final_type == "external":
                    raise InvalidRequestError("member groups can't be set for external groups")
                changes["member_group_ids"] = self._checked_groups(group.id, member_group_ids)
            updated = _changed(group, now, **changes)
            await self._put(updated)
            return updated, created

    def _checked_entities(self, ids: Iterable[str]) -> tuple[str, ...]:
        wanted = tuple(dict.fromkeys(i for i in ids if i))
        for entity_id in wanted:
            if not self._entity_exists(entity_id):
                raise InvalidRequestError(f'invalid entity ID "{entity_id}"')
        return wanted

    def _checked_groups(self, group_id: str, ids: Iterable[str]) -> tuple[str, ...]:
        """Member group IDs that exist and close no cycle (Vault's wording for each refusal)."""
        wanted = tuple(dict.fromkeys(i for i in ids if i))
        for member in wanted:
            if member not in self._records:
                raise InvalidRequestError(f'invalid member group ID "{member}"')
            if member == group_id:
                raise InvalidRequestError(f'member group ID "{group_id}" is same as the ID of the group')
            if group_id in self._records and group_id in self._descendants(member):
                raise InvalidRequestError(f'cyclic relationship detected for member group ID "{member}"')
        return wanted

    def _descendants(self, group_id: str) -> set[str]:
        seen: set[str] = set()
        pending = [group_id]
        while pending:
            group = self._records.get(pending.pop())
            for member in group.member_group_ids if group else ():
                if member not in seen:
                    seen.add(member)
                    pending.append(member)
        return seen

    async def refresh_external(self, entity_id: str, mount_accessor: str, names: Iterable[str]) -> None:
        """Make `entity_id` a member of exactly those external groups of the mount whose alias `names`
        lists (what the auth method reported at login); other groups are left as they are."""
        wanted = {name.lower() for name in names}
        # Most logins change no membership: only then is the lock taken (and the groups read again under it).
        if not self._membership_changes(entity_id, mount_accessor, wanted):
            return
        async with self._lock:
            now = self._clock.now()
            for group, belongs in self._membership_changes(entity_id, mount_accessor, wanted):
                others = tuple(e for e in group.member_entity_ids if e != entity_id)
                members = (*others, entity_id) if belongs else others
                await self._put(_changed(group, now, member_entity_ids=members))

    def _membership_changes(
        self, entity_id: str, mount_accessor: str, wanted: set[str]
    ) -> list[tuple[Group, bool]]:
        """The mount's external groups whose membership of `entity_id` differs from what the alias names
        `wanted` say, each with whether the entity belongs."""
        changes: list[tuple[Group, bool]] = []
        for group in self.groups():
            alias = group.alias
            if group.type != "external" or alias is None or alias.mount_accessor != mount_accessor:
                continue
            member, belongs = entity_id in group.member_entity_ids, alias.name.lower() in wanted
            if member != belongs:
                changes.append((group, belongs))
        return changes

    async def replace_member(self, old_entity_id: str, new_entity_id: str) -> None:
        """Every group that has `old_entity_id` as a member gets `new_entity_id` in its place (a merge)."""
        async with self._lock:
            now = self._clock.now()
            for group in self.groups():
                if old_entity_id not in group.member_entity_ids:
                    continue
                members = tuple(
                    dict.fromkeys(new_entity_id if e == old_entity_id else e for e in group.member_entity_ids)
                )
                await self._put(_changed(group, now, member_entity_ids=members))

    async def delete_group(self, group_id: str) -> None:
        """Delete a group with its alias; a missing one is not an error."""
        async with self._lock:
            if group_id in self._records:
                await self._records.delete(group_id)
                self._index_members()

    async def write_alias(
        self, *, alias_id: str = "", name: str = "", mount_accessor: str = "", canonical_id: str = ""
    ) -> GroupAlias:
        """Create or update a group alias (named by ID, or by its name and mount accessor); without a
        canonical ID a new external group is made for it. An external group has one alias: a new one
        replaces the old."""
        async with self._lock:
            current = self._records.alias(alias_id) if alias_id else None
            if alias_id and current is None:
                raise InvalidRequestError("invalid group alias ID")
            if current is None and name and mount_accessor:
                current = self._records.alias_by_factors(mount_accessor, name)
            name = name or (current.name if current else "")
            accessor = mount_accessor or (current.mount_accessor if current else "")
            if not name:
                raise InvalidRequestError("missing alias name")
            if not accessor:
                raise InvalidRequestError("missing mount_accessor")
            mount = self._mounts.auth_mount(accessor)
            if mount is None:
                raise InvalidRequestError("invalid mount accessor")
            holder = self._records.alias_holder(accessor, name)
            if holder is not None and (current is None or holder != current.id):
                raise InvalidRequestError("combination of mount and group alias name is already in use")
            now = self._clock.now()
            owner_id = canonical_id or (current.canonical_id if current else "")
            if owner_id:
                owner = self._records.get(owner_id)
                if owner is None:
                    raise InvalidRequestError("invalid group ID given in 'canonical_id'")
                if owner.type != "external":
                    raise InvalidRequestError("alias can't be set on an internal group")
            else:
                owner = Group(id=new_uuid(), name=self._free_name(), type="external", creation_time=now)
            alias = GroupAlias(
                id=current.id if current else new_uuid(),
                canonical_id=owner.id,
                name=name,
                mount_accessor=accessor,
                mount_type=mount[0],
                mount_path=mount[1],
                creation_time=current.creation_time if current else now,
                last_update_time=now,
            )
            if current is not None and current.canonical_id != owner.id:
                previous = self._records[current.canonical_id]
                await self._put(replace(previous, alias=None))
            await self._put(_changed(owner, now, alias=alias))
            return alias

    async def delete_alias(self, alias_id: str) -> None:
        """Delete a group alias (its group stays); a missing one is not an error."""
        async with self._lock:
            alias = self._records.alias(alias_id)
            if alias is not None:
                await self._put(replace(self._records[alias.canonical_id], alias=None))

    def _free_name(self) -> str:
        while True:
            name = f"group_{secrets.token_hex(4)}"
            if self._records.name_holder(name) is None:
                return name


def _changed(group: Group, now: float, **changes: Any) -> Group:
    """`group` with `changes`, stamped as a new version (Vault counts every change in modify_index)."""
    return replace(group, last_update_time=now, modify_index=group.modify_index + 1, **changes)
