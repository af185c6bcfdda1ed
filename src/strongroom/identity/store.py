"""The identity store: entities and their aliases, kept behind the barrier and indexed in memory.

Layer: identity (a sibling of tokens and policy); imports logical (Storage), errors and util. The core
hands it a storage view and an AuthMounts that names the auth mount behind an accessor.
Invariant: every write is one storage put or delete of one entity record (its aliases inside), so no
crash leaves an entity without its aliases or an alias pointing at a deleted entity. The one change that
touches two records, an alias moving to another entity, writes the new owner first; a crash between the
two writes leaves the alias twice, and loading keeps the newer copy.
Invariant: entity names are unique regardless of case, as are alias (mount accessor, name) pairs (Vault's
default: names keep their case but compare without it).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.identity.common import AuthMounts, clean_policies
from strongroom.identity.groups import GroupStore
from strongroom.identity.model import Alias, Entity
from strongroom.identity.records import Records
from strongroom.logical import Storage
from strongroom.util.clock import Clock
from strongroom.util.ids import new_uuid

_ENTITIES = "entity/"
# Login grants remembered (by alias, so bounded: the oldest go first).
LOGIN_GRANTS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class Grant:
    """What a token's entity adds at each request: its policies, the values of policy templates, and
    whether the entity is disabled (its tokens then serve nothing)."""

    policies: tuple[str, ...] = ()
    template: Mapping[str, str] = field(default_factory=dict)
    disabled: bool = False


NO_GRANT = Grant()


@dataclass(frozen=True, slots=True)
class MergeClash:
    """A merge refused because both sides hold an alias of one mount: Vault answers this as data."""

    error: str
    clashes: tuple[Mapping[str, str], ...]


class IdentityStore:
    """Entities and aliases: the records in storage and the indexes built from them."""

    def __init__(self, storage: Storage, clock: Clock, mounts: AuthMounts) -> None:
        self._clock = clock
        self._mounts = mounts
        self._lock = asyncio.Lock()
        self._records: Records[Entity, Alias] = Records(
            storage, _ENTITIES, Entity.from_json, lambda entity: entity.aliases
        )
        # Grants by entity, kept while neither entities nor groups change: every request asks for one.
        self._grants: dict[str, Grant] = {}
        # And by login (mount accessor, alias name, reported group names), kept as long: every login asks.
        self._login_grants: dict[tuple[str, str, frozenset[str]], Grant] = {}
        self._grants_at = (0, 0)
        self.groups = GroupStore(storage, clock, mounts, lambda entity_id: entity_id in self._records)

    async def load(self) -> None:
        """Read every entity and group and build the indexes (on unseal)."""
        entities = await self._records.read()
        newest: dict[str, Alias] = {}
        for entity in entities.values():
            for alias in entity.aliases:
                kept = newest.get(alias.id)
                if kept is None or alias.last_update_time > kept.last_update_time:
                    newest[alias.id] = alias
        for entity_id, entity in list(entities.items()):
            owned = tuple(a for a in entity.aliases if newest[a.id].canonical_id == entity_id)
            if owned != entity.aliases:
                entities[entity_id] = replace(entity, aliases=owned)
        self._records.reset(entities)
        await self.groups.load()

    def entity(self, entity_id: str) -> Entity | None:
        return self._records.get(entity_id)

    def entity_by_name(self, name: str) -> Entity | None:
        return self._records.by_name(name)

    def entities(self) -> list[Entity]:
        """Every entity, by ID."""
        return self._records.all()

    def alias(self, alias_id: str) -> Alias | None:
        return self._records.alias(alias_id)

    def alias_by_factors(self, mount_accessor: str, name: str) -> Alias | None:
        return self._records.alias_by_factors(mount_accessor, name)

    def aliases(self) -> list[Alias]:
        """Every entity alias, by ID."""
        return self._records.aliases()

    def memberships(self, entity_id: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(the groups `entity_id` is a direct member of, the groups above those), by ID."""
        direct = self.groups.direct_groups(entity_id)
        return direct, self.groups.ancestors(direct)

    def grant(self, entity_id: str) -> Grant:
        """What the entity `entity_id` grants its tokens now: its policies and those of every group it is
        in, directly or through nested groups (nothing for an unknown or deleted entity). "root" never
        passes, whatever storage holds."""
        entity = self._records.get(entity_id) if entity_id else None
        if entity is None:
            return NO_GRANT
        self._drop_stale_grants()
        grant = self._grants.get(entity_id)
        if grant is None:
            grant = self._grants[entity_id] = self._grant(entity, self.groups.direct_groups(entity_id))
        return grant

    def login_grant(self, mount_accessor: str, alias_name: str, group_names: Iterable[str]) -> Grant:
        """What a login's entity will grant once the login is done: the entity its alias names (none yet
        for a new alias), in the external groups of this mount whose aliases `group_names` lists."""
        names = frozenset(name.lower() for name in group_names)
        key = (mount_accessor, alias_name, names)
        self._drop_stale_grants()
        grant = self._login_grants.get(key)
        if grant is None:
            if len(self._login_grants) >= LOGIN_GRANTS_KEPT:
                del self._login_grants[next(iter(self._login_grants))]  # the oldest first
            grant = self._login_grants[key] = self._new_login_grant(mount_accessor, alias_name, names)
        return grant

    def _drop_stale_grants(self) -> None:
        """Forget the grants worked out before the last change of an entity or a group."""
        now_at = (self._records.generation, self.groups.generation)
        if self._grants_at != now_at:
            self._grants, self._grants_at = {}, now_at
            self._login_grants.clear()

    def _new_login_grant(self, mount_accessor: str, alias_name: str, names: frozenset[str]) -> Grant:
        found = self._records.alias_by_factors(mount_accessor, alias_name)
        entity = self._records[found.canonical_id] if found else None
        entity_id = entity.id if entity else ""
        direct = []
        for group in self.groups.groups():
            alias = group.alias
            reported = (
                group.type == "external" and alias is not None and alias.mount_accessor == mount_accessor
            )
            # This mount's external groups follow what the login reports; every other group stays.
            if (
                (alias is not None and alias.name.lower() in names)
                if reported
                else entity_id in group.member_entity_ids
            ):
                direct.append(group.id)
        return self._grant(entity or Entity(id="", name=""), tuple(direct))

    def _grant(self, entity: Entity, direct: tuple[str, ...]) -> Grant:
        inherited = self.groups.ancestors(direct)
        groups = [g for g in map(self.groups.group, (*direct, *inherited)) if g is not None]
        policies = {*entity.policies, *(p for g in groups for p in g.policies)}
        template = _template(entity)
        for group in groups:
            template[f"identity.groups.ids.{group.id}.name"] = group.name
            template[f"identity.groups.names.{group.name}.id"] = group.id
        return Grant(
            policies=tuple(sorted(p for p in policies if p.strip().lower() != "root")),
            template=template,
            disabled=entity.disabled,
        )

    async def write_entity(
        self,
        *,
        entity_id: str = "",
        name: str | None = None,
        policies: Iterable[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        disabled: bool | None = None,
    ) -> tuple[Entity, bool]:
        """Create an entity, or update the one `entity_id` names; (entity, created)."""
        async with self._lock:
            now = self._clock.now()
            if entity_id:
                current = self._records.get(entity_id)
                if current is None:
                    raise InvalidRequestError("entity not found from id")
            else:
                current = Entity(id=new_uuid(), name="", creation_time=now)
            changes: dict[str, Any] = {"last_update_time": now}
            if name:
                holder = self._records.name_holder(name)
                if holder is not None and holder != current.id:
                    raise InvalidRequestError("entity name is already in use")
                changes["name"] = name
            elif not current.name:
                changes["name"] = _generated_name()
            if policies is not None:
                changes["policies"] = clean_policies(policies)
            if metadata is not None:
                changes["metadata"] = dict(metadata)
            if disabled is not None:
                changes["disabled"] = disabled
            entity = replace(current, **changes)
            await self._records.put(entity)
            return entity, not entity_id

    async def delete_entity(self, entity_id: str) -> None:
        """Delete an entity with its aliases (one record); a missing one is not an error."""
        async with self._lock:
            if entity_id in self._records:
                await self._records.delete(entity_id)

    async def write_alias(
        self,
        *,
        alias_id: str = "",
        name: str = "",
        mount_accessor: str = "",
        canonical_id: str = "",
        custom_metadata: Mapping[str, str] | None = None,
    ) -> tuple[Alias, bool]:
        """Create an alias, or update the one `alias_id` (or its name and mount accessor) names; without a
        canonical ID a new alias gets a new entity of its own. (alias, whether its entity is new to it)."""
        async with self._lock:
            current = self._records.alias(alias_id) if alias_id else None
            if alias_id and current is None:
                raise InvalidRequestError("invalid alias ID provided")
            if current is None:
                if not (mount_accessor and name):
                    raise InvalidRequestError("'id' or 'mount_accessor' and 'name' must be provided")
                current = self._records.alias_by_factors(mount_accessor, name)
            accessor = mount_accessor or (current.mount_accessor if current else "")
            mount = self._mounts.auth_mount(accessor)
            if mount is None:
                raise InvalidRequestError(f'invalid mount accessor "{accessor}"')
            if canonical_id and canonical_id not in self._records:
                raise InvalidRequestError("invalid canonical ID")
            name = name or (current.name if current else "")
            holder = self._records.alias_holder(accessor, name)
            if holder is not None and (current is None or holder != current.id):
                raise InvalidRequestError("alias with combination of mount accessor and name already exists")
            now = self._clock.now()
            owner_id = canonical_id or (current.canonical_id if current else "")
            if owner_id:
                owner = self._records[owner_id]
                _refuse_second_alias(owner, accessor, current)
            else:
                owner = Entity(id=new_uuid(), name=self._free_name(), creation_time=now, last_update_time=now)
            alias = Alias(
                id=current.id if current else new_uuid(),
                canonical_id=owner.id,
                name=name,
                mount_accessor=accessor,
                mount_type=mount[0],
                mount_path=mount[1],
                metadata=current.metadata if current else {},
                custom_metadata=(
                    dict(custom_metadata)
                    if custom_metadata is not None
                    else (current.custom_metadata if current else {})
                ),
                creation_time=current.creation_time if current else now,
                last_update_time=now,
            )
            await self._records.put(_with_alias(owner, alias))
            moved = current is not None and current.canonical_id != owner.id
            if moved and current is not None:
                previous = self._records[current.canonical_id]
                await self._records.put(replace(previous, aliases=_without(previous.aliases, alias.id)))
            return alias, current is None or moved

    async def delete_alias(self, alias_id: str) -> None:
        """Delete an alias (its entity stays); a missing one is not an error."""
        async with self._lock:
            alias = self._records.alias(alias_id)
            if alias is not None:
                owner = self._records[alias.canonical_id]
                await self._records.put(replace(owner, aliases=_without(owner.aliases, alias_id)))

    async def merge(self, to_id: str, from_ids: Iterable[str], keep: Iterable[str] = ()) -> MergeClash | None:
        """Merge the `from_ids` entities into `to_id` (Vault's entity/merge): their aliases move over (where
        both hold an alias of one mount, `keep` names the alias that stays), their group memberships too,
        and they are deleted; their policies are not merged. The merged entity is written first, so a crash
        leaves at worst the old entities alongside, their aliases already counted as the merged one's."""
        async with self._lock:
            keep = tuple(keep)
            target = self._records.get(to_id)
            if target is None:
                raise InvalidRequestError("entity id to merge to is invalid")
            sources = list(dict.fromkeys(from_ids))
            if len(sources) > 1 and len(keep) > 1:
                raise InvalidRequestError(
                    "aliases conflicts cannot be resolved with multiple from entity ids - merge one entity "
                    "at a time"
                )
            merged = []
            for source_id in sources:
                if source_id == to_id:
                    raise InvalidRequestError("to_entity_id should not be present in from_entity_ids")
                source = self._records.get(source_id)
                if source is None:
                    raise InvalidRequestError("entity id to merge from is invalid")
                merged.append(source)
            if not keep:
                clash = self._clashes(target, merged)
                if clash is not None:
                    return clash
            now = self._clock.now()
            aliases = list(target.aliases)
            for source in merged:
                for moving in source.aliases:
                    clashing = [a for a in aliases if a.mount_accessor == moving.mount_accessor]
                    if any(a.id in keep for a in clashing):
                        continue
                    for other in clashing:
                        if moving.id not in keep:
                            raise InvalidRequestError(
                                "conflicting mount accessors in following alias IDs and neither were present "
                                f"in conflicting_alias_ids_to_keep: {moving.id}, {other.id}"
                            )
                        aliases.remove(other)
                    aliases.append(
                        replace(
                            moving,
                            canonical_id=to_id,
                            merged_from_canonical_ids=(*moving.merged_from_canonical_ids, source.id),
                            last_update_time=now,
                        )
                    )
            merged_ids = [i for source in merged for i in (*source.merged_entity_ids, source.id)]
            await self._records.put(
                replace(
                    target,
                    aliases=tuple(aliases),
                    merged_entity_ids=(*target.merged_entity_ids, *merged_ids),
                    last_update_time=now,
                )
            )
            for source in merged:
                await self.groups.replace_member(source.id, to_id)
                await self._records.delete(source.id)
            return None

    def _clashes(self, target: Entity, sources: list[Entity]) -> MergeClash | None:
        """Vault's report of aliases of one mount on both sides of a merge, or None."""
        lines: list[str] = []
        clashes: list[Mapping[str, str]] = []
        owners: dict[str, str] = {}
        for source in sources:
            for theirs in source.aliases:
                owner = owners.setdefault(theirs.mount_accessor, source.id)
                if owner != source.id and target.aliases:
                    raise InvalidRequestError(
                        f"mount accessor {theirs.mount_accessor} found in multiple fromEntities, merge "
                        "should be done with one fromEntity at a time"
                    )
                for ours in target.aliases:
                    if ours.mount_accessor != theirs.mount_accessor:
                        continue
                    lines.append(
                        f"mountAccessor: {ours.mount_accessor}, toEntity ID: {target.id}, fromEntity ID: "
                        f"{source.id}, conflicting toEntity alias ID: {ours.id}, conflicting fromEntity "
                        f"alias ID: {theirs.id}"
                    )
                    clashes += [_clash(target, ours), _clash(source, theirs)]
        if not lines:
            return None
        head = (
            "toEntity and at least one fromEntity have aliases with the same mount accessor, repeat the "
            "merge request specifying exactly one fromEntity, clashes: "
        )
        items = [head, *lines]
        error = f"{len(items)} errors occurred:\n" + "".join(f"\t* {item}\n" for item in items) + "\n"
        return MergeClash(error=error, clashes=tuple(clashes))

    async def login_entity(
        self,
        mount_accessor: str,
        mount_type: str,
        mount_path: str,
        alias_name: str,
        metadata: Mapping[str, str],
    ) -> Entity:
        """The entity behind a login's alias: found by (mount accessor, name), else created together with its
        alias in one record (Vault's CreateOrFetchEntity). The alias's metadata follows the auth method's."""
        async with self._lock:
            found = self._records.alias_by_factors(mount_accessor, alias_name)
            now = self._clock.now()
            if found is not None:
                owner = self._records[found.canonical_id]
                if dict(found.metadata) != dict(metadata):
                    owner = _with_alias(owner, replace(found, metadata=dict(metadata), last_update_time=now))
                    await self._records.put(owner)
                return owner
            entity_id = new_uuid()
            alias = Alias(
                id=new_uuid(),
                canonical_id=entity_id,
                name=alias_name,
                mount_accessor=mount_accessor,
                mount_type=mount_type,
                mount_path=mount_path,
                metadata=dict(metadata),
                creation_time=now,
                last_update_time=now,
            )
            entity = Entity(
                id=entity_id,
                name=self._free_name(),
                aliases=(alias,),
                creation_time=now,
                last_update_time=now,
            )
            await self._records.put(entity)
            return entity

    def _free_name(self) -> str:
        while True:
            name = _generated_name()
            if self._records.name_holder(name) is None:
                return name


def _template(entity: Entity) -> dict[str, str]:
    """The values Vault's policy templates name (`identity.entity.id`, ...), for one entity."""
    values = {"identity.entity.id": entity.id, "identity.entity.name": entity.name}
    values |= {f"identity.entity.metadata.{k}": v for k, v in entity.metadata.items()}
    for alias in entity.aliases:
        prefix = f"identity.entity.aliases.{alias.mount_accessor}."
        values |= {prefix + "id": alias.id, prefix + "name": alias.name}
        values |= {f"{prefix}metadata.{k}": v for k, v in alias.metadata.items()}
        values |= {f"{prefix}custom_metadata.{k}": v for k, v in alias.custom_metadata.items()}
    return values


def _generated_name() -> str:
    """The name of an entity created without one (Vault's "entity_" and eight hex digits)."""
    return f"entity_{secrets.token_hex(4)}"


def _clash(entity: Entity, alias: Alias) -> dict[str, str]:
    return {
        "alias": alias.name,
        "entity": entity.name,
        "entity_id": entity.id,
        "mount": alias.mount_type,
        "mount_path": alias.mount_path,
    }


def _refuse_second_alias(owner: Entity, accessor: str, current: Alias | None) -> None:
    """An entity has at most one alias per auth mount (Vault's fix for CVE-2021-41802: otherwise whoever may
    write an alias could attach it to another entity and take that entity's policies at the next login)."""
    if any(a.mount_accessor == accessor and (current is None or a.id != current.id) for a in owner.aliases):
        if current is None:
            raise InvalidRequestError("Alias already exists for requested entity and mount accessor")
        raise InvalidRequestError(
            "Alias cannot be updated as the given entity already has an alias for this mount "
        )


def _with_alias(entity: Entity, alias: Alias) -> Entity:
    others = _without(entity.aliases, alias.id)
    return replace(entity, aliases=(*others, alias))


def _without(aliases: tuple[Alias, ...], alias_id: str) -> tuple[Alias, ...]:
    return tuple(a for a in aliases if a.id != alias_id)
