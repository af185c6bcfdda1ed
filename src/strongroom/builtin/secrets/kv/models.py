"""What KV v2 stores: the mount's config, each key's metadata record, and its version records.

Layer: builtin (pure values; stdlib only). Times are float seconds since the epoch; None means unset.
Storage layout (inside the mount's view); a write stores the version and the metadata in one transaction:
    config                               KVConfig
    metadata/<path>                      KeyMetadata, with every live version's VersionMeta
    versions/<sha256(path)>/<number>     {"data": {...}}: the secret itself
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

CONFIG_KEY = "config"
METADATA_PREFIX = "metadata/"
VERSIONS_PREFIX = "versions/"

# Go stores max_versions as uint32: a negative input wraps around, as OpenBao shows it.
UINT32_MASK = 0xFFFFFFFF


def metadata_key(path: str) -> str:
    """The storage key of `path`'s metadata; listing METADATA_PREFIX + folder lists secrets."""
    return METADATA_PREFIX + path


def version_key(path: str, version: int) -> str:
    """The storage key of one version; hashed so that no secret path can collide with another's versions."""
    return f"{VERSIONS_PREFIX}{hashlib.sha256(path.encode()).hexdigest()}/{version}"


@dataclass(frozen=True, slots=True)
class KVConfig:
    """The mount-wide settings (`<mount>/config`)."""

    max_versions: int = 0
    cas_required: bool = False
    # Seconds; 0 is unset, negative disables delete_version_after for every key.
    delete_version_after: int = 0
    metadata_cas_required: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "max_versions": self.max_versions,
            "cas_required": self.cas_required,
            "delete_version_after": self.delete_version_after,
            "metadata_cas_required": self.metadata_cas_required,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KVConfig:
        return cls(
            max_versions=int(raw.get("max_versions", 0)),
            cas_required=bool(raw.get("cas_required", False)),
            delete_version_after=int(raw.get("delete_version_after", 0)),
            metadata_cas_required=bool(raw.get("metadata_cas_required", False)),
        )


@dataclass(frozen=True, slots=True)
class VersionMeta:
    """What the metadata record knows of one version."""

    created_time: float
    deletion_time: float | None = None
    destroyed: bool = False

    def is_deleted(self, now: float) -> bool:
        """True once a deletion time is set and has passed (delete_version_after sets future ones)."""
        return self.deletion_time is not None and self.deletion_time <= now

    def to_json(self) -> dict[str, Any]:
        return {
            "created_time": self.created_time,
            "deletion_time": self.deletion_time,
            "destroyed": self.destroyed,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> VersionMeta:
        return cls(raw["created_time"], raw.get("deletion_time"), bool(raw.get("destroyed", False)))


@dataclass(frozen=True, slots=True)
class KeyMetadata:
    """One secret's metadata record."""

    created_time: float
    updated_time: float
    versions: Mapping[int, VersionMeta] = field(default_factory=dict)
    current_version: int = 0
    oldest_version: int = 0
    max_versions: int = 0
    cas_required: bool = False
    delete_version_after: int = 0
    # None until set, because OpenBao shows `"custom_metadata": null` for keys that never had any.
    custom_metadata: Mapping[str, str] | None = None
    current_metadata_version: int = 0
    metadata_cas_required: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "created_time": self.created_time,
            "updated_time": self.updated_time,
            "versions": {str(n): v.to_json() for n, v in self.versions.items()},
            "current_version": self.current_version,
            "oldest_version": self.oldest_version,
            "max_versions": self.max_versions,
            "cas_required": self.cas_required,
            "delete_version_after": self.delete_version_after,
            "custom_metadata": None if self.custom_metadata is None else dict(self.custom_metadata),
            "current_metadata_version": self.current_metadata_version,
            "metadata_cas_required": self.metadata_cas_required,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KeyMetadata:
        return cls(
            created_time=raw["created_time"],
            updated_time=raw["updated_time"],
            versions={int(n): VersionMeta.from_json(v) for n, v in raw.get("versions", {}).items()},
            current_version=int(raw.get("current_version", 0)),
            oldest_version=int(raw.get("oldest_version", 0)),
            max_versions=int(raw.get("max_versions", 0)),
            cas_required=bool(raw.get("cas_required", False)),
            delete_version_after=int(raw.get("delete_version_after", 0)),
            custom_metadata=raw.get("custom_metadata"),
            current_metadata_version=int(raw.get("current_metadata_version", 0)),
            metadata_cas_required=bool(raw.get("metadata_cas_required", False)),
        )
