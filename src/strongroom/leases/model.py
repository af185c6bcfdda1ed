"""What the lease manager keeps about a lease, and what a backend's renewal hands back.

Layer: leases (a service). Imports errors and the stdlib only.

Invariant: a lease record never holds a token ID: a token lease names its token by the salted hash that keys
it in the token store (Vault puts the same hash in the lease ID), a secret lease names the token it was
issued to the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class LeaseKind(StrEnum):
    """What a lease stands for: a token (revoked through the token store) or a secret (through its mount)."""

    TOKEN = "token"
    SECRET = "secret"


def token_lease_id(token_path: str, id_hash: str) -> str:
    """Vault's lease ID of a token: the path that created it and its salted hash."""
    return f"{token_path.strip('/')}/{id_hash}"


@dataclass(frozen=True, slots=True)
class LeaseEntry:
    """One lease. Times are seconds since the epoch; `expire_time` None means it never expires."""

    lease_id: str
    # The API path of the request that created it ("database/creds/ro", "auth/token/create").
    path: str
    kind: LeaseKind
    issue_time: float
    expire_time: float | None
    # The TTL granted at issue or at the last renewal, in seconds.
    ttl: int
    renewable: bool
    last_renewal: float | None = None
    # TOKEN: the token's own salted hash. SECRET: the salted hash of the token the secret was issued to.
    token_hash: str = ""
    # SECRET: the accessor of the mount whose backend renews and revokes it.
    mount_accessor: str = ""
    # SECRET: the backend's Secret.internal, kept server-side for its revoke and renew handlers.
    internal: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, repr=False)

    def expired(self, now: float) -> bool:
        """Whether the lease is past its expiry."""
        return self.expire_time is not None and now >= self.expire_time

    def remaining_ttl(self, now: float) -> int:
        """Whole seconds left (0 for a lease that never expires or has expired)."""
        if self.expire_time is None:
            return 0
        return max(0, int(self.expire_time - now))

    def renewal_refusal(self, now: float) -> str:
        """Vault's reason this lease cannot be renewed now, or "" when it can (token leases aside)."""
        if self.expire_time is None:
            return "lease is not renewable"
        if self.expired(now):
            return "lease expired"
        if not self.renewable:
            return "lease is not renewable"
        return ""

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "lease_id": self.lease_id,
            "path": self.path,
            "kind": str(self.kind),
            "issue_time": self.issue_time,
            "expire_time": self.expire_time,
            "ttl": self.ttl,
            "renewable": self.renewable,
            "last_renewal": self.last_renewal,
            "token_hash": self.token_hash,
            "mount_accessor": self.mount_accessor,
            "internal": dict(self.internal),
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> LeaseEntry:
        """Read the stored form back."""
        expire = raw.get("expire_time")
        renewal = raw.get("last_renewal")
        return cls(
            lease_id=raw["lease_id"],
            path=raw["path"],
            kind=LeaseKind(raw["kind"]),
            issue_time=float(raw["issue_time"]),
            expire_time=None if expire is None else float(expire),
            ttl=int(raw["ttl"]),
            renewable=bool(raw["renewable"]),
            last_renewal=None if renewal is None else float(renewal),
            token_hash=raw.get("token_hash", ""),
            mount_accessor=raw.get("mount_accessor", ""),
            internal=dict(raw.get("internal") or {}),
        )


@dataclass(frozen=True, slots=True)
class SecretRenewal:
    """What renewing a secret through its backend yields: the TTL granted (already clamped by the mount and
    the system), whether it stays renewable, the backend's data, and Vault's capping warnings."""

    ttl: int
    renewable: bool
    data: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()


def token_lease(
    *,
    lease_id: str,
    path: str,
    id_hash: str,
    issue_time: float,
    expire_time: float | None,
    ttl: int,
    renewable: bool,
    last_renewal: float | None = None,
) -> LeaseEntry:
    """The lease that mirrors a token."""
    return LeaseEntry(
        lease_id=lease_id,
        path=path.strip("/"),
        kind=LeaseKind.TOKEN,
        issue_time=issue_time,
        expire_time=expire_time,
        ttl=ttl,
        renewable=renewable,
        last_renewal=last_renewal,
        token_hash=id_hash,
    )
