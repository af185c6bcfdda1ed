"""How identity records read in responses (Vault's field names, times in RFC 3339). Layer: core."""

from __future__ import annotations

from typing import Any

from strongroom.identity import Alias, Entity, Group, GroupAlias, GroupStore
from strongroom.util.clock import rfc3339


def _map(values: Any) -> dict[str, str] | None:
    """A metadata map as Vault prints it: null when empty."""
    return dict(values) if values else None


def alias_view(alias: Alias) -> dict[str, Any]:
    """An entity alias as entity-alias/id/<id> reads it."""
    return {
        "canonical_id": alias.canonical_id,
        "creation_time": rfc3339(alias.creation_time),
        "custom_metadata": dict(alias.custom_metadata),
        "id": alias.id,
        "last_update_time": rfc3339(alias.last_update_time),
        "local": False,
        "merged_from_canonical_ids": list(alias.merged_from_canonical_ids) or None,
        "metadata": _map(alias.metadata),
        "mount_accessor": alias.mount_accessor,
        "mount_path": alias.mount_path,
        "mount_type": alias.mount_type,
        "name": alias.name,
    }


def alias_key_info(alias: Alias) -> dict[str, Any]:
    """An alias in the key_info of LIST entity-alias/id."""
    return {
        "canonical_id": alias.canonical_id,
        "custom_metadata": dict(alias.custom_metadata),
        "local": False,
        "metadata": _map(alias.metadata),
        "mount_accessor": alias.mount_accessor,
        "mount_path": alias.mount_path,
        "mount_type": alias.mount_type,
        "name": alias.name,
    }


def entity_view(entity: Entity, direct: tuple[str, ...], inherited: tuple[str, ...]) -> dict[str, Any]:
    """An entity as entity/id/<id> reads it, with the groups it is in directly and through others."""
    return {
        "aliases": [alias_view(a) for a in entity.aliases],
        "creation_time": rfc3339(entity.creation_time),
        "direct_group_ids": list(direct),
        "disabled": entity.disabled,
        "group_ids": [*direct, *inherited],
        "id": entity.id,
        "inherited_group_ids": list(inherited),
        "last_update_time": rfc3339(entity.last_update_time),
        "merged_entity_ids": list(entity.merged_entity_ids) or None,
        "metadata": _map(entity.metadata),
        "name": entity.name,
        "namespace_id": "root",
        "policies": list(entity.policies),
    }


def entity_key_info(entity: Entity) -> dict[str, Any]:
    """An entity in the key_info of LIST entity/id."""
    return {"aliases": [_alias_short(a) for a in entity.aliases], "name": entity.name}


def _alias_short(alias: Alias | GroupAlias) -> dict[str, Any]:
    """An entity's or group's alias as key_info lists it."""
    return {
        "id": alias.id,
        "mount_accessor": alias.mount_accessor,
        "mount_path": alias.mount_path,
        "mount_type": alias.mount_type,
        "name": alias.name,
    }


def group_alias_view(alias: GroupAlias) -> dict[str, Any]:
    """A group alias as group-alias/id/<id> (and its group) reads it."""
    return {
        "canonical_id": alias.canonical_id,
        "creation_time": rfc3339(alias.creation_time),
        "id": alias.id,
        "last_update_time": rfc3339(alias.last_update_time),
        "merged_from_canonical_ids": None,
        "metadata": None,
        "mount_accessor": alias.mount_accessor,
        "mount_path": alias.mount_path,
        "mount_type": alias.mount_type,
        "name": alias.name,
    }


def group_alias_key_info(alias: GroupAlias) -> dict[str, Any]:
    """A group alias in the key_info of LIST group-alias/id."""
    return {
        "canonical_id": alias.canonical_id,
        "custom_metadata": None,
        "local": False,
        "metadata": None,
        "mount_accessor": alias.mount_accessor,
        "mount_path": alias.mount_path,
        "mount_type": alias.mount_type,
        "name": alias.name,
    }


def group_view(group: Group, groups: GroupStore) -> dict[str, Any]:
    """A group as group/id/<id> reads it (members that no longer exist left out)."""
    return {
        "alias": {} if group.alias is None else group_alias_view(group.alias),
        "creation_time": rfc3339(group.creation_time),
        "id": group.id,
        "last_update_time": rfc3339(group.last_update_time),
        # null until members were named, as Vault shows it; then the live ones (perhaps none left).
        "member_entity_ids": list(groups.member_entities(group)) if group.member_entity_ids else None,
        "member_group_ids": list(groups.member_groups(group)) if group.member_group_ids else None,
        "metadata": _map(group.metadata),
        "modify_index": group.modify_index,
        "name": group.name,
        "namespace_id": "root",
        "parent_group_ids": list(groups.parents(group.id)) or None,
        "policies": list(group.policies) or None,
        "type": group.type,
    }


def group_key_info(group: Group, groups: GroupStore) -> dict[str, Any]:
    """A group in the key_info of LIST group/id."""
    info: dict[str, Any] = {
        "name": group.name,
        "num_member_entities": len(groups.member_entities(group)),
        "num_parent_groups": len(groups.parents(group.id)),
    }
    if group.alias is not None:
        info["alias"] = _alias_short(group.alias)
    return info
