"""What the token store keeps about a token, and what a caller asks it to create.

Layer: tokens (a service). Imports logical and util only.

Invariant: a TokenEntry never holds a token ID, only its salted hash (`id_hash`); the accessor stays out of
reprs because it can revoke the token.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from strongroom.logical import Caller

# The num_uses of a token whose last use is the request in flight: it is revoked once that request ends.
REVOCATION_PENDING = -1


class TokenType(StrEnum):
    """Vault's two token kinds."""

    SERVICE = "service"
    BATCH = "batch"


@dataclass(frozen=True, slots=True)
class TokenParams:
    """A token to create, with its TTLs already decided (seconds; ttl 0 means it never expires)."""

    policies: tuple[str, ...]
    parent_hash: str = ""
    meta: Mapping[str, str] | None = None
    display_name: str = "token"
    num_uses: int = 0
    ttl: int = 0
    explicit_max_ttl: int = 0
    # The login's maximum TTL (its role's and mount's), which renewals may not pass; 0: the system's.
    max_ttl: int = 0
    period: int = 0
    renewable: bool = True
    type: TokenType = TokenType.SERVICE
    path: str = "auth/token/create"
    role: str = ""
    entity_id: str = ""
    bound_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TokenEntry:
    """A stored token. Times are seconds since the epoch; `ttl` is the current lease TTL."""

    id_hash: str
    accessor: str = field(repr=False)
    policies: tuple[str, ...]
    parent_hash: str
    meta: Mapping[str, str] | None
    display_name: str
    num_uses: int
    creation_time: float
    creation_ttl: int
    ttl: int
    expire_time: float | None
    explicit_max_ttl: int
    period: int
    renewable: bool
    type: TokenType
    path: str
    role: str
    entity_id: str
    last_renewal_time: float | None = None
    # CIDR blocks the token may be used from (from a login's token_bound_cidrs); empty means anywhere.
    bound_cidrs: tuple[str, ...] = ()
    # The issuing login's maximum TTL, which renewals may not pass; 0 for the system's.
    max_ttl: int = 0

    @property
    def orphan(self) -> bool:
        """True when no parent's revocation reaches this token."""
        return self.parent_hash == ""

    @property
    def revocation_pending(self) -> bool:
        """True once the last allowed use has been taken."""
        return self.num_uses == REVOCATION_PENDING

    @property
    def is_root(self) -> bool:
        """True for tokens carrying the root policy."""
        return "root" in self.policies

    def expired(self, now: float) -> bool:
        """Whether the token is past its expiry or its explicit max TTL."""
        if self.expire_time is not None and now >= self.expire_time:
            return True
        return self.explicit_max_ttl > 0 and now >= self.creation_time + self.explicit_max_ttl

    def remaining_ttl(self, now: float) -> int:
        """Whole seconds left before expiry (0 for a token that never expires)."""
        if self.expire_time is None:
            return 0
        return max(0, int(self.expire_time - now))

    def usable_from(self, address: str) -> bool:
        """Whether a request from `address` may use the token (its bound CIDRs, if any, must hold it)."""
        if not self.bound_cidrs:
            return True
        try:
            client = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(client in ipaddress.ip_network(block, strict=False) for block in self.bound_cidrs)

    def caller(self) -> Caller:
        """The Caller a request authenticated by this token carries."""
        return Caller(
            accessor=self.accessor,
            policies=self.policies,
            display_name=self.display_name,
            entity_id=self.entity_id,
            metadata=dict(self.meta or {}),
            token_type=str(self.type),
            token_hash=self.id_hash,
            is_root=self.is_root,
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "id_hash": self.id_hash,
            "accessor": self.accessor,
            "policies": list(self.policies),
            "parent_hash": self.parent_hash,
            "meta": None if self.meta is None else dict(self.meta),
            "display_name": self.display_name,
            "num_uses": self.num_uses,
            "creation_time": self.creation_time,
            "creation_ttl": self.creation_ttl,
            "ttl": self.ttl,
            "expire_time": self.expire_time,
            "explicit_max_ttl": self.explicit_max_ttl,
            "period": self.period,
            "renewable": self.renewable,
            "type": str(self.type),
            "path": self.path,
            "role": self.role,
            "entity_id": self.entity_id,
            "last_renewal_time": self.last_renewal_time,
            "bound_cidrs": list(self.bound_cidrs),
            "max_ttl": self.max_ttl,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TokenEntry:
        """Read the stored form back."""
        meta = raw.get("meta")
        return cls(
            id_hash=raw["id_hash"],
            accessor=raw["accessor"],
            policies=tuple(raw["policies"]),
            parent_hash=raw["parent_hash"],
            meta=None if meta is None else dict(meta),
            display_name=raw["display_name"],
            num_uses=int(raw["num_uses"]),
            creation_time=float(raw["creation_time"]),
            creation_ttl=int(raw["creation_ttl"]),
            ttl=int(raw["ttl"]),
            expire_time=raw.get("expire_time"),
            explicit_max_ttl=int(raw["explicit_max_ttl"]),
            period=int(raw["period"]),
            renewable=bool(raw["renewable"]),
            type=TokenType(raw["type"]),
            path=raw["path"],
            role=raw["role"],
            entity_id=raw["entity_id"],
            last_renewal_time=raw.get("last_renewal_time"),
            bound_cidrs=tuple(raw.get("bound_cidrs", ())),
            max_ttl=int(raw.get("max_ttl", 0)),
        )
