"""How identity records read in responses (Vault's field names, times in RFC 3339). Layer: core."""

from __future__ import annotations

from typing import Any

from strongroom.identity import Alias, Entity
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
        "merged_from_canonical_ids": None,
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


def entity_view(entity: Entity) -> dict[str, Any]:
    """An entity as entity/id/<id> reads it."""
    return {
        "aliases": [alias_view(a) for a in entity.aliases],
        "creation_time": rfc3339(entity.creation_time),
        "direct_group_ids": [],
        "disabled": entity.disabled,
        "group_ids": [],
        "id": entity.id,
        "inherited_group_ids": [],
        "last_update_time": rfc3339(entity.last_update_time),
        "merged_entity_ids": None,
        "metadata": _map(entity.metadata),
        "name": entity.name,
        "namespace_id": "root",
        "policies": list(entity.policies),
    }


def entity_key_info(entity: Entity) -> dict[str, Any]:
    """An entity in the key_info of LIST entity/id."""
    aliases = [
        {
            "id": a.id,
            "mount_accessor": a.mount_accessor,
            "mount_path": a.mount_path,
            "mount_type": a.mount_type,
            "name": a.name,
        }
        for a in entity.aliases
    ]
    return {"aliases": aliases, "name": entity.name}
