"""What the database engine stores: connection configs and roles. Layer: builtin (pure values; stdlib only).

Storage layout (inside the mount's view), as Vault lays it out:
    config/<name>   DatabaseConfig: the plugin, its connection details (with the root password), allowed roles
    role/<name>     Role: which connection, the SQL statements, the lease TTLs

Invariant: the root password lives only in `DatabaseConfig.password`; `read_data()` never shows it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

CONFIG_PREFIX = "config/"
ROLE_PREFIX = "role/"
POSTGRESQL_PLUGIN = "postgresql-database-plugin"

# Vault's framework.GenericNameRegex: what a config or role name may be.
NAME = re.compile(r"\w(([\w.-]+)?\w)?")

# Connection details that are settings of ours, not of the connection string; never echoed back.
HIDDEN_DETAILS = frozenset({"password", "private_key"})


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    """One connection (`config/<name>`). `details` holds what the read shows under connection_details."""

    name: str
    plugin_name: str
    connection_url: str
    username: str = ""
    password: str = field(default="", repr=False)
    allowed_roles: tuple[str, ...] = ()
    root_rotation_statements: tuple[str, ...] = ()
    password_policy: str = ""
    plugin_version: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    def evolve(self, **changes: Any) -> DatabaseConfig:
        return replace(self, **changes)

    def allows(self, role: str) -> bool:
        """Whether `role` may draw credentials from this connection (Vault's globs: "*" matches any run)."""
        return any(pattern == "*" or glob_match(pattern, role) for pattern in self.allowed_roles)

    def read_data(self) -> dict[str, Any]:
        """The config as a read shows it: no password."""
        details = {k: v for k, v in self.details.items() if k not in HIDDEN_DETAILS}
        details["connection_url"] = self.connection_url
        if self.username:
            details["username"] = self.username
        return {
            "allowed_roles": list(self.allowed_roles),
            "connection_details": dict(sorted(details.items())),
            "password_policy": self.password_policy,
            "plugin_name": self.plugin_name,
            "plugin_version": self.plugin_version,
            "root_credentials_rotate_statements": list(self.root_rotation_statements),
        }

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["details"] = dict(self.details)
        return record

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> DatabaseConfig:
        return cls(
            name=raw["name"],
            plugin_name=raw["plugin_name"],
            connection_url=raw["connection_url"],
            username=raw.get("username", ""),
            password=raw.get("password", ""),
            allowed_roles=tuple(raw.get("allowed_roles", ())),
            root_rotation_statements=tuple(raw.get("root_rotation_statements", ())),
            password_policy=raw.get("password_policy", ""),
            plugin_version=raw.get("plugin_version", ""),
            details=dict(raw.get("details", {})),
        )


@dataclass(frozen=True, slots=True)
class Role:
    """A dynamic role (`role/<name>`): what `creds/<name>` runs, and the TTLs of its leases (seconds)."""

    name: str
    db_name: str
    creation_statements: tuple[str, ...] = ()
    revocation_statements: tuple[str, ...] = ()
    renew_statements: tuple[str, ...] = ()
    rollback_statements: tuple[str, ...] = ()
    default_ttl: int = 0
    max_ttl: int = 0
    credential_type: str = "password"

    def evolve(self, **changes: Any) -> Role:
        return replace(self, **changes)

    def read_data(self) -> dict[str, Any]:
        return {
            "creation_statements": list(self.creation_statements),
            "credential_type": self.credential_type,
            "db_name": self.db_name,
            "default_ttl": self.default_ttl,
            "max_ttl": self.max_ttl,
            "renew_statements": list(self.renew_statements),
            "revocation_statements": list(self.revocation_statements),
            "rollback_statements": list(self.rollback_statements),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Role:
        statements = (
            "creation_statements",
            "revocation_statements",
            "renew_statements",
            "rollback_statements",
        )
        return cls(
            name=raw["name"],
            db_name=raw["db_name"],
            **{key: tuple(raw.get(key, ())) for key in statements},
            default_ttl=int(raw.get("default_ttl", 0)),
            max_ttl=int(raw.get("max_ttl", 0)),
            credential_type=raw.get("credential_type", "password"),
        )


def glob_match(pattern: str, value: str) -> bool:
    """go-glob's rule, which Vault uses for allowed_roles: "*" matches any run of characters, nothing else
    is special."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == value
    if not value.startswith(parts[0]) or not value.endswith(parts[-1]):
        return False
    position = len(parts[0])
    end = len(value) - len(parts[-1])
    for middle in parts[1:-1]:
        found = value.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return position <= end
