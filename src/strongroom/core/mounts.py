"""The mount manager: enables, disables and tunes mounts, persists the tables, and keeps the router.

Layer: core. Backend factories come in from the composition root; the core never imports builtin/.
Invariant: each mount's backend gets a BarrierView of its own prefix, never the whole barrier.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from strongroom.barrier import BarrierView
from strongroom.errors import InvalidRequestError
from strongroom.events import EventBus, PluginInfo
from strongroom.logical import Backend, BackendConfig, BackendFactory, Storage, UserLockoutConfig
from strongroom.policy.password import PasswordPolicyError, PasswordPolicyStore
from strongroom.router import MountConfig, MountEntry, MountTable, Router
from strongroom.util.clock import Clock
from strongroom.util.ids import mount_accessor, new_uuid


@dataclass(frozen=True, slots=True)
class SystemTTLs:
    """Server-wide lease TTLs in seconds (config default_lease_ttl, max_lease_ttl): 768h by default."""

    default: int = 32 * 24 * 3600
    max: int = 32 * 24 * 3600


# Mount paths that belong to the system (Vault's protectedMounts / singletonMounts).
_PROTECTED = ("sys/", "auth/", "cubbyhole/", "identity/", "audit/")
_SINGLETONS = {"system", "cubbyhole", "token", "identity"}
# Types the user names that resolve to another type with options (Vault's "kv-v1" and "kv-v2").
_ALIASES = {"kv-v1": ("kv", {"version": "1"}), "kv-v2": ("kv", {"version": "2"})}
# Types whose version an option may choose; any other refuses one (as Vault: "generic" is KV v1 only).
_VERSIONED = frozenset({"kv"})
_DESCRIPTIONS = {
    "system": "system endpoints used for control, policy and debugging",
    "cubbyhole": "per-token private secret storage",
    "token": "token based credentials",
    "identity": "identity store",
}

InternalFactory = Callable[[MountEntry, BackendConfig], Backend]


class MountSystemView:
    """TTL defaults for one mount: the mount's tuned values, else the system's."""

    def __init__(
        self, router: Router, api_path: str, ttls: SystemTTLs, passwords: PasswordPolicyStore | None = None
    ) -> None:
        self._router = router
        self._api_path = api_path
        self._ttls = ttls
        self._passwords = passwords

    def _config(self) -> MountConfig:
        found = self._router.route(self._api_path)
        return found.entry.config if found else MountConfig()

    def default_lease_ttl(self) -> int:
        return self._config().default_lease_ttl or self._ttls.default

    def max_lease_ttl(self) -> int:
        return self._config().max_lease_ttl or self._ttls.max

    def user_lockout(self) -> UserLockoutConfig:
        config, default = self._config(), UserLockoutConfig()
        return UserLockoutConfig(
            threshold=config.user_lockout_threshold or default.threshold,
            duration=config.user_lockout_duration or default.duration,
            counter_reset=config.user_lockout_counter_reset or default.counter_reset,
            disabled=config.user_lockout_disable,
        )

    async def generate_password_from_policy(self, policy_name: str) -> str:
        if not policy_name:
            raise InvalidRequestError("missing password policy name")
        if self._passwords is None:
            raise InvalidRequestError("no password policy found")
        try:
            return await self._passwords.generate(policy_name)
        except PasswordPolicyError as exc:
            raise InvalidRequestError(str(exc)) from None


class MountEvents:
    """One mount's EventSender: its events carry the mount's plugin info."""

    def __init__(self, bus: EventBus, entry: MountEntry) -> None:
        self._bus = bus
        self._info = PluginInfo(
            mount_class="secret" if entry.table == "mounts" else "auth",
            mount_accessor=entry.accessor,
            mount_path=entry.api_path,
            plugin=entry.type,
        )

    def send_event(self, event_type: str, metadata: Mapping[str, str], read_path: str) -> None:
        self._bus.emit(event_type, metadata, self._info, read_path)


class MountManager:
    """The mounts of both tables ("mounts" for secrets engines, "auth" for auth methods).

    `factories` maps each table to its mount types' factories (builtin/registry.py's BACKENDS).
    """

    def __init__(
        self,
        barrier: Storage,
        factories: Mapping[str, Mapping[str, BackendFactory]],
        internal: Mapping[str, InternalFactory],
        clock: Clock,
        ttls: SystemTTLs,
        *,
        events: EventBus | None = None,
        password_policies: PasswordPolicyStore | None = None,
    ) -> None:
        self.ttls = ttls
        self.events = events
        # sys/policies/password keeps them; every mount's system view generates from them.
        self.password_policies = password_policies
        self._barrier = barrier
        self._factories = factories
        self._internal = internal
        self._clock = clock
        self._tables = {
            "mounts": MountTable(barrier, "core/mounts"),
            "auth": MountTable(barrier, "core/auth"),
        }
        self.router = Router()
        # Each mount's view, by storage prefix: a view is only its prefix over the barrier, and every
        # request to the mount asks for it.
        self._views: dict[str, BarrierView] = {}

    async def load(self) -> None:
        """Mount every stored entry; on first use, create the default mounts."""
        defaults = {
            "mounts": [
                ("cubbyhole/", "cubbyhole", True),
                ("sys/", "system", False),
                ("identity/", "identity", False),
            ],
            "auth": [("token/", "token", False)],
        }
        for table, store in self._tables.items():
            entries = list(await store.load() or [])
            # A new table gets every default mount; one written before a default existed (identity/)
            # gains it, as Vault's mount table upgrade does.
            missing = [d for d in defaults[table] if d[1] not in {e.type for e in entries}]
            if missing:
                entries += [
                    _required_settings(self._new_entry(table, path, kind, local=local))
                    for path, kind, local in missing
                ]
                await store.save(entries)
            for entry in entries:
                await self._start(entry)

    async def cleanup(self) -> None:
        """Stop every backend (on seal)."""
        for entry in self.router.entries():
            found = self.router.unmount(entry.api_path)
            if found:
                await found[1].cleanup()

    def entries(self, table: str) -> list[MountEntry]:
        """The mounted entries of `table`, by path."""
        return [e for e in self.router.entries() if e.table == table]

    def get(self, table: str, path: str) -> MountEntry | None:
        """The entry mounted exactly at `path` in `table`."""
        path = _normalize(path)
        return next((e for e in self.entries(table) if e.path == path), None)

    def system_view(self, entry: MountEntry) -> MountSystemView:
        """TTL defaults for `entry`: its tuned values, else the system's."""
        return MountSystemView(self.router, entry.api_path, self.ttls, self.password_policies)

    def storage_for(self, entry: MountEntry) -> BarrierView:
        """The storage view of a mount's own prefix."""
        view = self._views.get(entry.storage_prefix)
        if view is None:
            view = self._views[entry.storage_prefix] = BarrierView(self._barrier, entry.storage_prefix)
        return view

    async def enable(
        self,
        table: str,
        path: str,
        kind: str,
        *,
        description: str = "",
        config: MountConfig | None = None,
        options: Mapping[str, str] | None = None,
        local: bool = False,
        seal_wrap: bool = False,
    ) -> MountEntry:
        """Mount a new backend at `path`; refuses reserved and overlapping paths."""
        path = _normalize(path)
        prefix = "" if table == "mounts" else "auth/"
        if table == "mounts" and any(path.startswith(p) for p in _PROTECTED):
            raise InvalidRequestError(f'cannot mount "{path}"')
        if kind in _SINGLETONS:
            raise InvalidRequestError(f'mount type of "{kind}" is not mountable')
        kind, options = _resolve_type(table, kind, options)
        if kind not in self._factories.get(table, {}):
            raise InvalidRequestError(f"plugin not found in the catalog: {kind}")
        conflict = self.router.conflict(prefix + path)
        if conflict is not None:
            raise InvalidRequestError(f"path is already in use at {conflict[len(prefix) :]}")
        entry = replace(
            self._new_entry(table, path, kind, local=local, description=description, options=options),
            config=config or MountConfig(),
            seal_wrap=seal_wrap,
        )
        await self._start(entry)
        await self._save(table)
        return entry

    async def disable(self, table: str, path: str) -> None:
        """Unmount `path` and delete everything it stored. A path that is not mounted is not an error."""
        path = _normalize(path)
        entry = self.get(table, path)
        if entry is None:
            return
        if entry.type in _SINGLETONS:
            raise InvalidRequestError(f'cannot unmount "{path}"')
        found = self.router.unmount(entry.api_path)
        await self._save(table)
        if found:
            await found[1].cleanup()
        await self.storage_for(entry).clear()
        self._views.pop(entry.storage_prefix, None)

    async def tune(self, table: str, path: str, **changes: Any) -> MountEntry:
        """Change a mount's config (and description or options, if given)."""
        entry = self.get(table, path)
        if entry is None:
            raise InvalidRequestError(f'tune of path "{_normalize(path)}" failed: no mount entry found')
        top = {k: changes.pop(k) for k in ("description", "options") if k in changes}
        old_options = entry.options
        entry = replace(entry.tuned(**changes), **top)
        if "options" in top and dict(top["options"] or {}) != dict(old_options or {}):
            # A backend reads its options once, when it starts (a KV upgrade runs then): start a new one,
            # which replaces the old in the router only once it is ready.
            found = self.router.route(entry.api_path)
            await self._start(entry)
            if found:
                await found.backend.cleanup()
        else:
            self.router.replace_entry(entry)
        await self._save(table)
        return entry

    async def _save(self, table: str) -> None:
        await self._tables[table].save(self.entries(table))

    async def _start(self, entry: MountEntry) -> None:
        config = BackendConfig(
            storage=self.storage_for(entry),
            mount_type=entry.type,
            mount_path=entry.api_path,
            options=dict(entry.options or {}),
            system=self.system_view(entry),
            clock=self._clock,
            **({"events": MountEvents(self.events, entry)} if self.events is not None else {}),
        )
        internal = self._internal.get(entry.type)
        backend = (
            internal(entry, config) if internal else await self._factories[entry.table][entry.type](config)
        )
        await backend.initialize()
        self.router.mount(entry, backend)

    def _new_entry(
        self,
        table: str,
        path: str,
        kind: str,
        *,
        local: bool = False,
        description: str = "",
        options: Mapping[str, str] | None = None,
    ) -> MountEntry:
        accessor_kind = f"auth_{kind}" if table == "auth" else kind
        return MountEntry(
            path=path,
            type=kind,
            uuid=new_uuid(),
            accessor=mount_accessor(accessor_kind),
            description=description or _DESCRIPTIONS.get(kind, ""),
            options=options,
            local=local,
            table=table,
        )


def _required_settings(entry: MountEntry) -> MountEntry:
    """Vault's fixed settings of a default mount: sys/ is seal-wrapped and lets clients pass Accept;
    identity/ lets them pass Authorization (for its OIDC endpoints)."""
    if entry.type == "identity":
        return replace(entry, config=MountConfig(passthrough_request_headers=("Authorization",)))
    if entry.type != "system":
        return entry
    return replace(entry, seal_wrap=True, config=MountConfig(passthrough_request_headers=("Accept",)))


def _normalize(path: str) -> str:
    path = path.strip("/")
    if not path:
        raise InvalidRequestError("path cannot be blank")
    return path + "/"


def _resolve_type(
    table: str, kind: str, options: Mapping[str, str] | None
) -> tuple[str, Mapping[str, str] | None]:
    alias = _ALIASES.get(kind) if table == "mounts" else None
    if alias is None:
        if table == "mounts" and kind not in _VERSIONED and (options or {}).get("version"):
            raise InvalidRequestError(f'secrets engine "{kind}" does not allow setting a version')
        return kind, options
    real, forced = alias
    return real, {**(options or {}), **forced}
