"""What AppRole stores: roles and secret IDs, and where. Layer: builtin (imports framework.tokenutil only).

Storage layout (inside the mount's view; every hash is HMAC-SHA256 keyed by the mount's salt):
    salt                                        32 random bytes, created once
    role/<lower-case name>                      Role
    role_id/<hash(role_id)>                     {"name": ...}: the login index
    secret_id/<hash(role name)>/<hash(secret)>  SecretIDEntry
    accessor/<hash(accessor)>                   {"secret_id_hmac": ..., "role_hmac": ...}

Invariant: a secret ID is never stored; only its salted hash is, as a storage key and inside its entry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from strongroom.framework.tokenutil import TokenSettings
from strongroom.util.clock import ZERO_TIME, rfc3339

SALT_KEY = "salt"
ROLE_PREFIX = "role/"
ROLE_ID_PREFIX = "role_id/"
SECRET_ID_PREFIX = "secret_id/"
ACCESSOR_PREFIX = "accessor/"

# Vault's framework.GenericNameRegex: word characters, with dots and dashes inside.
ROLE_NAME = re.compile(r"[0-9A-Za-z_](?:[0-9A-Za-z_.-]*[0-9A-Za-z_])?")
# Vault HMACs role names and secret IDs and refuses longer inputs.
MAX_HMAC_INPUT = 4096


@dataclass(frozen=True, slots=True)
class Role:
    """One AppRole role. `policies` and `period` are the legacy fields, kept only while a client sets them."""

    name: str
    role_id: str
    bind_secret_id: bool = True
    # None until set (Vault shows null), a tuple once set.
    secret_id_bound_cidrs: tuple[str, ...] | None = None
    secret_id_num_uses: int = 0
    secret_id_ttl: int = 0
    local_secret_ids: bool = False
    token: TokenSettings = field(default_factory=TokenSettings)
    token_strictly_bind_ip: bool = False
    policies: tuple[str, ...] = ()
    period: int = 0

    def evolve(self, **changes: Any) -> Role:
        """A copy with `changes` applied."""
        return replace(self, **changes)

    def has_constraint(self) -> bool:
        """Vault's rule: a role must demand a secret ID or bind logins or tokens to CIDR blocks."""
        return self.bind_secret_id or bool(self.secret_id_bound_cidrs) or bool(self.token.bound_cidrs)

    def response_data(self) -> dict[str, Any]:
        """The body of a role read."""
        data: dict[str, Any] = {
            "bind_secret_id": self.bind_secret_id,
            "local_secret_ids": self.local_secret_ids,
            "secret_id_bound_cidrs": _optional_list(self.secret_id_bound_cidrs),
            "secret_id_num_uses": self.secret_id_num_uses,
            "secret_id_ttl": self.secret_id_ttl,
            **self.token.response_fields(),
            "token_strictly_bind_ip": self.token_strictly_bind_ip,
        }
        if self.period:
            data["period"] = self.period
        if self.policies:
            data["policies"] = list(self.policies)
        return data

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role_id": self.role_id,
            "bind_secret_id": self.bind_secret_id,
            "secret_id_bound_cidrs": _optional_list(self.secret_id_bound_cidrs),
            "secret_id_num_uses": self.secret_id_num_uses,
            "secret_id_ttl": self.secret_id_ttl,
            "local_secret_ids": self.local_secret_ids,
            "token": self.token.to_json(),
            "token_strictly_bind_ip": self.token_strictly_bind_ip,
            "policies": list(self.policies),
            "period": self.period,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Role:
        bound = raw.get("secret_id_bound_cidrs")
        return cls(
            name=raw["name"],
            role_id=raw["role_id"],
            bind_secret_id=bool(raw.get("bind_secret_id", True)),
            secret_id_bound_cidrs=None if bound is None else tuple(bound),
            secret_id_num_uses=int(raw.get("secret_id_num_uses", 0)),
            secret_id_ttl=int(raw.get("secret_id_ttl", 0)),
            local_secret_ids=bool(raw.get("local_secret_ids", False)),
            token=TokenSettings.from_json(raw.get("token", {})),
            token_strictly_bind_ip=bool(raw.get("token_strictly_bind_ip", False)),
            policies=tuple(raw.get("policies", ())),
            period=int(raw.get("period", 0)),
        )


@dataclass(frozen=True, slots=True)
class SecretIDEntry:
    """What is known of one secret ID. Times are float seconds; `expiration_time` None means never."""

    secret_id_hmac: str
    accessor: str
    num_uses: int
    ttl: int
    creation_time: float
    last_updated_time: float
    expiration_time: float | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    cidr_list: tuple[str, ...] = ()
    token_bound_cidrs: tuple[str, ...] = ()

    def expired(self, now: float) -> bool:
        """True once its expiration time has passed."""
        return self.expiration_time is not None and self.expiration_time <= now

    def response_data(self) -> dict[str, Any]:
        """The body of a secret ID lookup (never the secret ID itself)."""
        return {
            "cidr_list": list(self.cidr_list),
            "creation_time": rfc3339(self.creation_time),
            "expiration_time": ZERO_TIME if self.expiration_time is None else rfc3339(self.expiration_time),
            "last_updated_time": rfc3339(self.last_updated_time),
            "metadata": dict(self.metadata),
            "secret_id_accessor": self.accessor,
            "secret_id_num_uses": self.num_uses,
            "secret_id_ttl": self.ttl,
            "token_bound_cidrs": list(self.token_bound_cidrs),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "secret_id_hmac": self.secret_id_hmac,
            "accessor": self.accessor,
            "num_uses": self.num_uses,
            "ttl": self.ttl,
            "creation_time": self.creation_time,
            "last_updated_time": self.last_updated_time,
            "expiration_time": self.expiration_time,
            "metadata": dict(self.metadata),
            "cidr_list": list(self.cidr_list),
            "token_bound_cidrs": list(self.token_bound_cidrs),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SecretIDEntry:
        return cls(
            secret_id_hmac=raw["secret_id_hmac"],
            accessor=raw["accessor"],
            num_uses=int(raw["num_uses"]),
            ttl=int(raw["ttl"]),
            creation_time=float(raw["creation_time"]),
            last_updated_time=float(raw["last_updated_time"]),
            expiration_time=raw.get("expiration_time"),
            metadata=dict(raw.get("metadata", {})),
            cidr_list=tuple(raw.get("cidr_list", ())),
            token_bound_cidrs=tuple(raw.get("token_bound_cidrs", ())),
        )


def _optional_list(values: tuple[str, ...] | None) -> list[str] | None:
    return None if values is None else list(values)
