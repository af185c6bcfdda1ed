"""What a quota rule is, as stored and as sys/quotas answers it (Vault's resource quotas).

Layer: core (pure values: no storage, no clock). A rule's scope is the mount it names (empty: global), an
optional path suffix under that mount (a trailing "*" makes it a prefix), or an optional login role on an
auth mount; the most specific rule that matches a request is the one applied.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

# Vault's default rate_limit_exempt_paths: what load balancers and key holders call, sealed or not.
DEFAULT_EXEMPT_PATHS = (
    "sys/generate-recovery-token/attempt",
    "sys/generate-recovery-token/update",
    "sys/generate-root/attempt",
    "sys/generate-root/update",
    "sys/health",
    "sys/seal-status",
    "sys/unseal",
)


Q = TypeVar("Q")


class QuotaType(StrEnum):
    """The kinds of quota rule (the second segment of sys/quotas/<type>/<name>)."""

    RATE_LIMIT = "rate-limit"
    LEASE_COUNT = "lease-count"


@dataclass(frozen=True, slots=True)
class Scope:
    """Where a rule applies: a mount's API path ("secret/", "" for all), a path under it, a login role."""

    mount: str = ""
    suffix: str = ""
    role: str = ""

    @property
    def path(self) -> str:
        """The path as sys/quotas shows it: the mount and the suffix joined."""
        return self.mount + self.suffix


@dataclass(frozen=True, slots=True)
class RateLimitQuota:
    """At most `rate` requests per `interval` seconds from each client address; a client over it is
    refused for `block_interval` seconds when that is set."""

    name: str
    scope: Scope
    rate: float
    interval: int = 1
    block_interval: int = 0
    inheritable: bool = False

    @property
    def tokens(self) -> int:
        """Requests allowed per interval: `rate` rounded half away from zero, as Go's math.Round."""
        return int(self.rate + 0.5)

    def describe(self) -> dict[str, Any]:
        """The sys/quotas/rate-limit/<name> answer."""
        return {
            "type": QuotaType.RATE_LIMIT.value,
            "name": self.name,
            "path": self.scope.path,
            "role": self.scope.role,
            "rate": int(self.rate) if self.rate.is_integer() else self.rate,
            "interval": self.interval,
            "block_interval": self.block_interval,
            "inheritable": self.inheritable,
        }

    def stored(self) -> dict[str, Any]:
        return {**self.describe(), "mount_path": self.scope.mount, "path_suffix": self.scope.suffix}

    @classmethod
    def load(cls, raw: dict[str, Any]) -> RateLimitQuota:
        return cls(
            name=raw["name"],
            scope=Scope(raw["mount_path"], raw["path_suffix"], raw["role"]),
            rate=float(raw["rate"]),
            interval=int(raw["interval"]),
            block_interval=int(raw["block_interval"]),
            inheritable=bool(raw["inheritable"]),
        )


@dataclass(frozen=True, slots=True)
class LeaseCountQuota:
    """At most `max_leases` live leases (secret leases and service tokens) created under the scope."""

    name: str
    scope: Scope
    max_leases: int
    inheritable: bool = False

    def describe(self, counter: int) -> dict[str, Any]:
        """The sys/quotas/lease-count/<name> answer, with the leases counted now."""
        return {
            "type": QuotaType.LEASE_COUNT.value,
            "name": self.name,
            "path": self.scope.path,
            "role": self.scope.role,
            "max_leases": self.max_leases,
            "counter": counter,
            "inheritable": self.inheritable,
        }

    def stored(self) -> dict[str, Any]:
        return {**self.describe(0), "mount_path": self.scope.mount, "path_suffix": self.scope.suffix}

    @classmethod
    def load(cls, raw: dict[str, Any]) -> LeaseCountQuota:
        return cls(
            name=raw["name"],
            scope=Scope(raw["mount_path"], raw["path_suffix"], raw["role"]),
            max_leases=int(raw["max_leases"]),
            inheritable=bool(raw["inheritable"]),
        )


@dataclass(frozen=True, slots=True)
class QuotaConfig:
    """sys/quotas/config: the operator's switches for every rate limit quota."""

    enable_rate_limit_audit_logging: bool = False
    enable_rate_limit_response_headers: bool = False
    rate_limit_exempt_paths: tuple[str, ...] = DEFAULT_EXEMPT_PATHS

    def describe(self) -> dict[str, Any]:
        return {
            "enable_rate_limit_audit_logging": self.enable_rate_limit_audit_logging,
            "enable_rate_limit_response_headers": self.enable_rate_limit_response_headers,
            "rate_limit_exempt_paths": list(self.rate_limit_exempt_paths),
        }

    def exempt(self, path: str) -> bool:
        """Whether `path` starts with an exempt path (Vault's path manager matches by prefix)."""
        return path.startswith(self.rate_limit_exempt_paths)

    @classmethod
    def load(cls, raw: dict[str, Any]) -> QuotaConfig:
        return cls(
            enable_rate_limit_audit_logging=bool(raw.get("enable_rate_limit_audit_logging")),
            enable_rate_limit_response_headers=bool(raw.get("enable_rate_limit_response_headers")),
            rate_limit_exempt_paths=tuple(raw.get("rate_limit_exempt_paths") or ()),
        )


def most_specific(rules: dict[Scope, Q], mount: str, suffix: str, role: str, globs: bool) -> Q | None:
    """The rule Vault applies to a request on `mount` at `suffix` (mount-relative) by login `role`: the
    role's rule, then the exact path's, then the longest matching "prefix*" (only looked for when `globs`),
    then the mount's, then the global one."""
    if role:
        found = rules.get(Scope(mount, "", role))
        if found is not None:
            return found
    suffix = suffix.rstrip("/")
    if suffix:
        found = rules.get(Scope(mount, suffix))
        if found is not None:
            return found
    if globs:
        for end in range(len(suffix), -1, -1):
            found = rules.get(Scope(mount, suffix[:end] + "*"))
            if found is not None:
                return found
    return rules.get(Scope(mount)) or rules.get(Scope())
