"""What the database engine stores: connection configs and roles. Layer: builtin (pure values; stdlib only).

Storage layout (inside the mount's view), as Vault lays it out:
    config/<name>       DatabaseConfig: the plugin, its connection details (with the root password),
                        allowed roles
    role/<name>         Role: which connection, the SQL statements, the lease TTLs
    static-role/<name>  StaticRole: an existing user whose password the engine rotates, and its schedule
    static-wal/<name>   the password a static role's rotation is setting, written before the database is
                        touched (Vault's write-ahead log entry) and deleted once the role records it
    root-wal/<name>     the root password a rotate-root is setting, written likewise before the database
                        is touched, and deleted once config/<name> records it (or the old one is kept)

Invariant: the root password lives only in `DatabaseConfig.password`; `read_data()` never shows it, nor a
static role's password (only static-creds does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

CONFIG_PREFIX = "config/"
ROLE_PREFIX = "role/"
STATIC_ROLE_PREFIX = "static-role/"
STATIC_WAL_PREFIX = "static-wal/"
ROOT_WAL_PREFIX = "root-wal/"
POSTGRESQL_PLUGIN = "postgresql-database-plugin"

# Vault's framework.GenericNameRegex: what a config or role name may be.
NAME = re.compile(r"\w(([\w.-]+)?\w)?")

# Connection details that are settings of ours, not of the connection string; never echoed back.
# (Vault shows tls_certificate_key back; a private key is kept back here like the password.)
HIDDEN_DETAILS = frozenset({"password", "private_key", "tls_certificate_key"})


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
    # credential_config's password_policy: the role's own, ahead of its connection's.
    password_policy: str = ""

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
            **credential_config(self.password_policy),
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
            password_policy=raw.get("password_policy", ""),
        )


def credential_config(password_policy: str) -> dict[str, Any]:
    """A role's credential_config as Vault shows it: only when it holds something."""
    return {"credential_config": {"password_policy": password_policy}} if password_policy else {}


@dataclass(frozen=True, slots=True)
class StaticRole:
    """A static role (`static-role/<name>`): a database user the engine keeps, rotating its password every
    `rotation_period` seconds or on the cron `rotation_schedule`. Times are epoch seconds (0: never)."""

    name: str
    db_name: str
    username: str
    rotation_period: int = 0
    rotation_schedule: str = ""
    rotation_window: int = 0
    rotation_statements: tuple[str, ...] = ()
    credential_type: str = "password"
    password_policy: str = ""
    password: str = field(default="", repr=False)
    last_vault_rotation: float = 0.0
    # When the next scheduled rotation is due (a failed one leaves it in the past: it is retried).
    next_vault_rotation: float = 0.0
    # Why the last rotation failed ("" after a success): the old password is still the one in use.
    last_rotation_error: str = ""

    def evolve(self, **changes: Any) -> StaticRole:
        return replace(self, **changes)

    def schedule_data(self) -> dict[str, Any]:
        """rotation_period, or rotation_schedule (and rotation_window when set), as Vault shows them."""
        if self.rotation_schedule:
            data: dict[str, Any] = {"rotation_schedule": self.rotation_schedule}
            if self.rotation_window:
                data["rotation_window"] = self.rotation_window
            return data
        return {"rotation_period": self.rotation_period}

    def read_data(self) -> dict[str, Any]:
        """The role as a read of static-roles/<name> shows it: no password."""
        data: dict[str, Any] = {
            "credential_type": self.credential_type,
            "db_name": self.db_name,
            "rotation_statements": list(self.rotation_statements),
            "username": self.username,
            **self.schedule_data(),
            **credential_config(self.password_policy),
        }
        if self.last_vault_rotation:
            data["last_vault_rotation"] = rfc3339_nano(self.last_vault_rotation)
        if self.last_rotation_error:
            data["last_rotation_error"] = self.last_rotation_error
        return data

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> StaticRole:
        return cls(
            name=raw["name"],
            db_name=raw["db_name"],
            username=raw["username"],
            rotation_period=int(raw.get("rotation_period", 0)),
            rotation_schedule=raw.get("rotation_schedule", ""),
            rotation_window=int(raw.get("rotation_window", 0)),
            rotation_statements=tuple(raw.get("rotation_statements", ())),
            credential_type=raw.get("credential_type", "password"),
            password_policy=raw.get("password_policy", ""),
            password=raw.get("password", ""),
            last_vault_rotation=float(raw.get("last_vault_rotation", 0.0)),
            next_vault_rotation=float(raw.get("next_vault_rotation", 0.0)),
            last_rotation_error=raw.get("last_rotation_error", ""),
        )


def rfc3339_nano(when: float) -> str:
    """`when` as Go marshals a time.Time in UTC (RFC 3339 with the fraction's trailing zeros dropped)."""
    moment = datetime.fromtimestamp(when, UTC)
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


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
