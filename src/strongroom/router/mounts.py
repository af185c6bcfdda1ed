"""Mount entries and the persisted mount table.

A mount table is a list of entries stored as one JSON record through the barrier (so it is encrypted like
everything else). Secrets engines live in the "mounts" table, auth methods in the "auth" table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from strongroom.logical import Storage, get_json, put_json


@dataclass(frozen=True, slots=True)
class MountConfig:
    """A mount's tunables, as `sys/mounts/<path>/tune` shows them. TTLs in seconds; 0 means "system"."""

    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    force_no_cache: bool = False
    listing_visibility: str = ""
    audit_non_hmac_request_keys: tuple[str, ...] = ()
    audit_non_hmac_response_keys: tuple[str, ...] = ()
    passthrough_request_headers: tuple[str, ...] = ()
    allowed_response_headers: tuple[str, ...] = ()
    # Auth methods only: the type of token logins get ("default-service", "default-batch", "service",
    # "batch"); "" means "default-service".
    token_type: str = ""
    # Vault's user_lockout_config (auth methods only): 0 means "the default"; shown once ever tuned.
    user_lockout_tuned: bool = False
    user_lockout_threshold: int = 0
    user_lockout_duration: int = 0
    user_lockout_counter_reset: int = 0
    user_lockout_disable: bool = False


@dataclass(frozen=True, slots=True)
class MountEntry:
    """One mounted backend. `path` ends in "/" and is relative to the table ("secret/", "token/")."""

    path: str
    type: str
    uuid: str
    accessor: str
    description: str = ""
    config: MountConfig = field(default_factory=MountConfig)
    options: Mapping[str, str] | None = None
    local: bool = False
    seal_wrap: bool = False
    table: str = "mounts"

    @property
    def api_path(self) -> str:
        """Where the mount answers under /v1/: "secret/" or "auth/token/"."""
        return self.path if self.table == "mounts" else "auth/" + self.path

    @property
    def storage_prefix(self) -> str:
        """The barrier prefix that holds this mount's data."""
        if self.type == "system":
            return "sys/"
        return ("logical/" if self.table == "mounts" else "auth/") + self.uuid + "/"

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        record = asdict(self)
        record["options"] = None if self.options is None else dict(self.options)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> MountEntry:
        """Read the stored form back."""
        config: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in record["config"].items()
        }
        return cls(**{**record, "config": MountConfig(**config)})

    def tuned(self, **changes: Any) -> MountEntry:
        """A copy with its config changed."""
        return replace(self, config=replace(self.config, **changes))


class MountTable:
    """The persisted list of mounts of one table ("mounts" or "auth")."""

    def __init__(self, storage: Storage, key: str) -> None:
        self._storage = storage
        self._key = key

    async def load(self) -> list[MountEntry] | None:
        """The stored entries, or None when the table was never written."""
        records = await get_json(self._storage, self._key)
        if records is None:
            return None
        return [MountEntry.from_json(r) for r in records]

    async def save(self, entries: Iterable[MountEntry]) -> None:
        """Replace the stored entries."""
        await put_json(self._storage, self._key, [e.to_json() for e in entries])
