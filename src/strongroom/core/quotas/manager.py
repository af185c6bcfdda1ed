"""The quota manager: the rules sys/quotas keeps, and the verdict on each request (Vault's quotas.Manager).

Layer: core. Owns the "sys/quotas/" storage view; reads the router only through the Route a request
carries. Rate limits are per client address and per server (not shared between HA nodes, as Vault's).

Invariant: with no rule and no recent failed login the check is one attribute test per request.
Invariant: a refused login attempt spends no credential check: the failed-login guard refuses before the
auth method sees the request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from strongroom.core.quotas.limiter import ALLOWED, ClientBuckets, Verdict
from strongroom.core.quotas.model import (
    LeaseCountQuota,
    QuotaConfig,
    QuotaType,
    RateLimitQuota,
    Scope,
    most_specific,
)
from strongroom.errors import RateLimitedError
from strongroom.logical import Operation, Request, RoleResolver, Storage, get_json, put_json
from strongroom.router import MountEntry, Route
from strongroom.util.clock import Clock

CONFIG_KEY = "config"
# The operations that can answer with a lease (a secret read, a login, a token created).
_MAY_LEASE = frozenset({Operation.READ, Operation.CREATE, Operation.UPDATE})
# Vault's toggle: set once the operator has written the config, so the default exempt paths stop applying.
EXEMPT_TOGGLE_KEY = "default_rate_limit_exempt_paths_toggle"
# The strongroom default of failed logins per second per client address (README: "Login rate limit").
DEFAULT_FAILED_LOGIN_LIMIT = 20


@dataclass(slots=True)
class _Limit:
    quota: RateLimitQuota
    buckets: ClientBuckets


class QuotaManager:
    """Rate limit and lease count rules, their config, and the failed-login guard."""

    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        storage_for: Callable[[MountEntry], Storage],
        leases_under: Callable[[str], int],
        failed_login_limit: int = DEFAULT_FAILED_LOGIN_LIMIT,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._storage_for = storage_for
        self.leases_under = leases_under
        self.config = QuotaConfig()
        self._limits: dict[Scope, _Limit] = {}
        self._limit_names: dict[str, Scope] = {}
        # Mounts with a "prefix*" rule, and with a role rule: only their requests look for one.
        self._glob_mounts: set[str] = set()
        self._role_mounts: set[str] = set()
        self._lease_counts: dict[Scope, LeaseCountQuota] = {}
        self._failures = ClientBuckets(failed_login_limit, 1.0) if failed_login_limit > 0 else None
        # Whether any failed login was seen since the start: until one is, logins skip the guard.
        self._failures_seen = False

    @property
    def active(self) -> bool:
        """Whether every request needs a look (the pipeline's fast path): some rule exists."""
        return bool(self._limits) or bool(self._lease_counts)

    @property
    def guarding(self) -> bool:
        """Whether logins need a look: a failed login was seen since the start."""
        return self._failures_seen

    async def load(self) -> None:
        """Read the config and every rule from storage (at unseal)."""
        raw = await get_json(self._storage, CONFIG_KEY)
        config = QuotaConfig.load(raw) if raw is not None else QuotaConfig()
        if not await get_json(self._storage, EXEMPT_TOGGLE_KEY):
            config = QuotaConfig(
                config.enable_rate_limit_audit_logging, config.enable_rate_limit_response_headers
            )
        self.config = config
        for name in await self._storage.list(f"{QuotaType.RATE_LIMIT}/"):
            stored = await get_json(self._storage, f"{QuotaType.RATE_LIMIT}/{name}")
            if stored is not None:
                self._install(RateLimitQuota.load(stored))
        for name in await self._storage.list(f"{QuotaType.LEASE_COUNT}/"):
            stored = await get_json(self._storage, f"{QuotaType.LEASE_COUNT}/{name}")
            if stored is not None:
                quota = LeaseCountQuota.load(stored)
                self._lease_counts[quota.scope] = quota

    async def set_config(self, config: QuotaConfig) -> None:
        await put_json(self._storage, CONFIG_KEY, config.describe())
        await put_json(self._storage, EXEMPT_TOGGLE_KEY, True)
        self.config = config

    def rate_limit(self, name: str) -> RateLimitQuota | None:
        scope = self._limit_names.get(name)
        return None if scope is None else self._limits[scope].quota

    def rate_limit_names(self) -> list[str]:
        return sorted(self._limit_names)

    def rate_limit_at(self, scope: Scope) -> RateLimitQuota | None:
        """The rule with exactly this scope (Vault refuses a second rule with the same factors)."""
        found = self._limits.get(scope)
        return None if found is None else found.quota

    async def put_rate_limit(self, quota: RateLimitQuota) -> None:
        """Store and apply `quota` (replacing the rule of that name: its clients start afresh)."""
        await put_json(self._storage, f"{QuotaType.RATE_LIMIT}/{quota.name}", quota.stored())
        self._drop(quota.name)
        self._install(quota)

    async def delete_rate_limit(self, name: str) -> None:
        await self._storage.delete(f"{QuotaType.RATE_LIMIT}/{name}")
        self._drop(name)

    def lease_count(self, name: str) -> LeaseCountQuota | None:
        return next((quota for quota in self._lease_counts.values() if quota.name == name), None)

    def lease_count_names(self) -> list[str]:
        return sorted(quota.name for quota in self._lease_counts.values())

    def lease_count_at(self, scope: Scope) -> LeaseCountQuota | None:
        return self._lease_counts.get(scope)

    async def put_lease_count(self, quota: LeaseCountQuota) -> None:
        await put_json(self._storage, f"{QuotaType.LEASE_COUNT}/{quota.name}", quota.stored())
        await self.delete_lease_count(quota.name, keep_stored=True)
        self._lease_counts[quota.scope] = quota

    async def delete_lease_count(self, name: str, *, keep_stored: bool = False) -> None:
        if not keep_stored:
            await self._storage.delete(f"{QuotaType.LEASE_COUNT}/{name}")
        for scope, quota in list(self._lease_counts.items()):
            if quota.name == name:
                del self._lease_counts[scope]

    def counted(self, quota: LeaseCountQuota) -> int:
        """The live leases created under `quota`'s scope."""
        scope = quota.scope
        if scope.suffix.endswith("*"):
            return self.leases_under(scope.mount + scope.suffix[:-1])
        return self.leases_under(scope.path + "/" if scope.suffix else scope.mount)

    async def mount_disabled(self, mount: str) -> None:
        """Delete the rules scoped to a mount that was just disabled, as Vault prunes them."""
        for name in [limit.quota.name for scope, limit in self._limits.items() if scope.mount == mount]:
            await self.delete_rate_limit(name)
        for name in [quota.name for scope, quota in self._lease_counts.items() if scope.mount == mount]:
            await self.delete_lease_count(name)

    def _install(self, quota: RateLimitQuota) -> None:
        buckets = ClientBuckets(quota.tokens, float(quota.interval), float(quota.block_interval))
        self._limits[quota.scope] = _Limit(quota, buckets)
        self._limit_names[quota.name] = quota.scope
        self._index()

    def _drop(self, name: str) -> None:
        scope = self._limit_names.pop(name, None)
        if scope is not None:
            del self._limits[scope]
            self._index()

    def _index(self) -> None:
        self._glob_mounts = {scope.mount for scope in self._limits if scope.suffix.endswith("*")}
        self._role_mounts = {scope.mount for scope in self._limits if scope.role}

    async def admit(self, request: Request, route: Route | None, login: bool) -> dict[str, str] | None:
        """Refuse `request` with RateLimitedError when its rate limit (or, for a `login`, the failed-login
        guard) is spent; otherwise the headers its answer carries (None when there are none to send)."""
        now = self._clock.now()
        address = request.connection.remote_address
        config = self.config
        if login and self._failures is not None and self._failures.exhausted(address, now):
            headers = {"Retry-After": "1"} if config.enable_rate_limit_response_headers else {}
            raise RateLimitedError(
                f'request path "{request.path}": rate limit quota exceeded',
                headers=headers,
                audit=config.enable_rate_limit_audit_logging,
            )
        if self._lease_counts and route is not None and request.operation in _MAY_LEASE:
            self._check_lease_count(request, route)
        if not self._limits or config.exempt(request.path):
            return None
        verdict = await self._verdict(request, route, address, now, config.enable_rate_limit_response_headers)
        headers = verdict.headers if config.enable_rate_limit_response_headers else {}
        if not verdict.allowed:
            raise RateLimitedError(
                f'request path "{request.path}": rate limit quota exceeded',
                headers=headers,
                audit=config.enable_rate_limit_audit_logging,
            )
        return headers or None

    async def _verdict(
        self, request: Request, route: Route | None, address: str, now: float, headers: bool
    ) -> Verdict:
        mount = route.entry.api_path if route is not None else ""
        suffix = route.relative_path if route is not None else ""
        role = ""
        if route is not None and mount in self._role_mounts and isinstance(route.backend, RoleResolver):
            bound = request.evolve(path=route.relative_path, storage=self._storage_for(route.entry))
            role = await route.backend.resolve_role(bound)
        limit = most_specific(self._limits, mount, suffix, role, mount in self._glob_mounts)
        if limit is None:
            return ALLOWED
        return limit.buckets.take(address, now, headers)

    def _check_lease_count(self, request: Request, route: Route) -> None:
        """Refuse a request that may create a lease once its lease count quota is full (Vault checks before
        the backend runs, so nothing is created that would then have to be revoked)."""
        if route.entry.type == "system":
            return  # sys/ creates no leases, and revoking them must stay possible
        quota = most_specific(self._lease_counts, route.entry.api_path, route.relative_path, "", True)
        if quota is not None and self.counted(quota) >= quota.max_leases:
            raise RateLimitedError(
                f'request path "{request.path}": lease count quota exceeded', headers={}, audit=True
            )

    def login_failed(self, request: Request) -> None:
        """Count a refused login from the request's client address against the failed-login guard."""
        if self._failures is not None:
            self._failures_seen = True
            self._failures.take(request.connection.remote_address, self._clock.now())
