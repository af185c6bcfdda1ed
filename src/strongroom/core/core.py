"""The core: lifecycle (uninitialized -> sealed -> unsealed -> standby) and the one entry point, Core.handle.

Layer: core. Builds the services on unseal and drops them on seal; it holds no service's logic itself. On an
HA backend an unsealed server is a standby (barrier unsealed, no services) until core.ha's election makes
it the active server; the HTTP layer forwards a standby's requests to the active one.
Invariant: while sealed, no request reaches the pipeline and no decrypted key or service stays in memory.
Invariant: on an HA backend, the services (mounts, lease expiry, ...) run only while the HA lock is held.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from strongroom.audit import AuditBroker, AuditInput, DeviceSpec
from strongroom.barrier import AESGCMBarrier, BarrierView
from strongroom.core.event_gate import TokenGate
from strongroom.core.ha import LeaderElection, SingleNode
from strongroom.core.identity import identity_backend
from strongroom.core.keyholders import GenerateRoot, Rekey
from strongroom.core.leasing import MountSecrets, lease_revoker, register_token_lease
from strongroom.core.login_renewal import MountLogins
from strongroom.core.mounts import MountManager, SystemTTLs
from strongroom.core.pipeline import Pipeline, audit_auth
from strongroom.core.quotas import DEFAULT_FAILED_LOGIN_LIMIT, QuotaManager
from strongroom.core.services import Services
from strongroom.core.snapshots import check_snapshot, snapshot_audit, snapshottable, take_snapshot
from strongroom.core.system import system_backend
from strongroom.core.token_backend import token_backend
from strongroom.core.wrapping import CubbyholeOf, Wrapping
from strongroom.errors import PermissionDeniedError, RequestError, ServiceUnavailableError, StorageError
from strongroom.events import EventBus, EventFeed
from strongroom.identity import NO_GRANT, Grant, IdentityStore
from strongroom.leases import LeaseManager
from strongroom.logical import (
    Backend,
    BackendConfig,
    BackendFactory,
    Operation,
    Request,
    Response,
    Storage,
    get_json,
    put_json,
)
from strongroom.physical.base import HALock, PhysicalBackend, ReadCache
from strongroom.policy import PolicyStore
from strongroom.policy.password import PasswordPolicyStore
from strongroom.router import MountEntry
from strongroom.seal import SealManager
from strongroom.seal.static import StaticKeys
from strongroom.telemetry import MountOf, Sources, Telemetry
from strongroom.tokens import TokenEntry, TokenParams, TokenStore
from strongroom.util.clock import ZERO_TIME, Clock, SystemClock, rfc3339
from strongroom.util.ids import base62, new_uuid

# How long a standing-down server waits for requests in flight: at most 10 s.
_DRAIN_STEP, _DRAIN_STEPS = 0.01, 1000


@dataclass(frozen=True, slots=True)
class InitResult:
    """What initialization hands the operator once: the key shares and the root token.

    With a static seal the shares are recovery shares (`recovery` is True): they authorize generate-root
    but do not unseal.
    """

    keys: tuple[bytes, ...]
    root_token: str
    recovery: bool = False


_NO_CLUSTER: Mapping[str, str] = {}


class Core:
    """A strongroom server's state machine and request entry point."""

    def __init__(
        self,
        physical: PhysicalBackend,
        factories: Mapping[str, Mapping[str, BackendFactory]],
        *,
        clock: Clock | None = None,
        storage_type: str = "inmem",
        ttls: SystemTTLs | None = None,
        static_seal: StaticKeys | None = None,
        allow_api_audit_creation: bool = False,
        allow_audit_log_prefixing: bool = False,
        audit_protected_paths: Sequence[str] = (),
        audit_devices: Sequence[DeviceSpec] = (),
        telemetry: Telemetry | None = None,
        ha_lock: HALock | None = None,
        api_addr: str = "",
        failed_login_limit: int = DEFAULT_FAILED_LOGIN_LIMIT,
    ) -> None:
        self.telemetry = telemetry or Telemetry()
        self._ha_lock = ha_lock
        self._api_addr = api_addr
        self._failed_login_limit = failed_login_limit
        self._election: LeaderElection | None = None
        self._in_flight = 0
        self._allow_api_audit = allow_api_audit_creation
        self._allow_audit_prefix = allow_audit_log_prefixing
        self._audit_protected = tuple(audit_protected_paths)
        self._audit_devices = tuple(audit_devices)
        self._clock = clock or SystemClock()
        self._ttls = ttls or SystemTTLs()
        self._factories = factories
        self._physical = physical
        # An HA server keeps plaintexts only while active (another server may write while it stands by).
        self._barrier = AESGCMBarrier(physical, clock=self._clock, caching=ha_lock is None)
        self._seal = SealManager(physical, self._barrier, storage_type=storage_type, static=static_seal)
        self._storage_type = storage_type
        self._services: Services | None = None
        self._pipeline: Pipeline | None = None
        self._cluster: dict[str, str] = {}
        self.rekey = Rekey(self._seal)
        self.generate_root = GenerateRoot(self._seal, self._new_root_token)
        self._lock = asyncio.Lock()

    @property
    def services(self) -> Services:
        """The running services; ServiceUnavailableError while sealed."""
        if self._services is None:
            raise ServiceUnavailableError("Vault is sealed")
        return self._services

    async def handle(self, request: Request) -> Response | None:
        """Serve one request through the pipeline."""
        pipeline = self._pipeline
        if pipeline is None:
            raise ServiceUnavailableError("Vault is sealed" if self._barrier.sealed else "node is not active")
        self._in_flight += 1
        try:
            return await pipeline.run(request)
        finally:
            self._in_flight -= 1

    @property
    def standby(self) -> bool:
        """True on an HA backend while unsealed but not (yet) the active server."""
        return self._election is not None and self._pipeline is None and not self._barrier.sealed

    async def active_address(self) -> str | None:
        """Where a standby forwards requests: the active server's api_addr; None while no other server is
        known to be active (this one may be taking over)."""
        election = self._election
        address = None if election is None else await election.leader_address()
        return None if address == self._api_addr else address

    async def leader_status(self) -> dict[str, Any]:
        """Vault's sys/leader body."""
        if self._ha_lock is None:
            return {"ha_enabled": False}
        election = self._election
        if election is None:
            raise ServiceUnavailableError("Vault is sealed")
        since = election.active_since
        return {
            "ha_enabled": True,
            "is_self": since is not None,
            "active_time": ZERO_TIME if since is None else rfc3339(since),
            "leader_address": await election.leader_address() or "",
            "leader_cluster_address": "",
            "performance_standby": False,
            "performance_standby_last_remote_wal": 0,
        }

    async def health_status(self) -> tuple[bool, bool, Mapping[str, str]]:
        """What sys/health reads, without building the whole seal status (every load balancer probe pays
        for it): initialized, sealed, and the cluster's name and id while unsealed (else empty)."""
        sealed = self._barrier.sealed
        return await self._seal.initialized(), sealed, _NO_CLUSTER if sealed else self._cluster

    async def seal_status(self) -> dict[str, Any]:
        """Vault's sys/seal-status body."""
        status = await self._seal.status()
        body: dict[str, Any] = {
            "type": status.type,
            "initialized": status.initialized,
            "sealed": status.sealed,
            "t": status.t,
            "n": status.n,
            "progress": status.progress,
            "nonce": status.nonce,
            "version": status.version,
            "commit_date": status.build_date,
            "migration": status.migration,
            "recovery_seal": status.recovery_seal,
            "storage_type": status.storage_type,
        }
        if not status.sealed and self._cluster:
            body["cluster_name"] = self._cluster["name"]
            body["cluster_id"] = self._cluster["id"]
        return body

    async def initialize(self, shares: int, threshold: int, root_token_id: str | None = None) -> InitResult:
        """Create the keys and the root token; the server is left sealed, as Vault leaves it, unless a
        static seal unseals it."""
        keys = await self._seal.initialize(shares, threshold)
        if not self._seal.auto_unseal:
            for key in keys[:threshold]:
                await self._seal.unseal(key)
        await self._start()
        # A chosen root token ID is the dev server's: Vault creates that one through auth/token/create.
        origin = ("token", "auth/token/create") if root_token_id else ("root", "auth/token/root")
        root_token, root = await self.services.tokens.create(
            TokenParams(policies=("root",), display_name=origin[0], renewable=False, path=origin[1]),
            token_id=root_token_id,
        )
        if root_token_id:
            # Made through auth/token/create in Vault, so it has a lease there (one that never expires).
            await register_token_lease(self.services.leases, root)
        if self._seal.auto_unseal:
            if self._ha_lock is not None:
                # Initialization ran the services without the lock: from now on the election decides.
                await self._stand_by()
                await self._serve_unsealed()
            return InitResult(keys=tuple(keys), root_token=root_token, recovery=True)
        await self.seal()
        return InitResult(keys=tuple(keys), root_token=root_token)

    @property
    def auto_unseal(self) -> bool:
        """True when a static seal unseals the server."""
        return self._seal.auto_unseal

    async def unseal_static(self) -> None:
        """With a static seal, unseal now (a no-op before initialization or without one)."""
        await self._seal.unseal_static()
        await self._serve_unsealed()

    async def unseal(self, key: bytes) -> dict[str, Any]:
        """Give one unseal key share; once enough are in, start the services."""
        await self._seal.unseal(key)
        await self._serve_unsealed()
        return await self.seal_status()

    def reset_unseal(self) -> None:
        """Forget the unseal key shares given so far."""
        self._seal.reset_unseal()

    async def require_sudo(self, token: str, path: str) -> None:
        """PermissionDeniedError unless `token` may update `path` with sudo (sealed: ServiceUnavailable)."""
        tokens, policies = self._token_authority()
        entry = await tokens.lookup(token) if token else None
        if entry is None:
            raise PermissionDeniedError()
        # The entity's policies count as in the pipeline (a standby runs no identity store: its own only).
        grant = self._services.identity.grant(entry.entity_id) if self._services is not None else NO_GRANT
        if grant.disabled:
            raise PermissionDeniedError()
        acl = await policies.acl((*entry.policies, *grant.policies), identity=grant.template)
        verdict = acl.authorize(Operation.UPDATE, path, {})
        if not (verdict.allowed and verdict.sudo):
            raise PermissionDeniedError()

    async def subscribe_events(self, token: str, pattern: str) -> EventFeed:
        """A feed of the events `pattern` selects that `token` may read; PermissionDeniedError unless the
        token may subscribe to `pattern` (sealed: ServiceUnavailable)."""
        services = self.services
        gate = TokenGate(services.tokens, services.policies, services.identity.grant)
        if not await gate.may_subscribe(token, pattern):
            raise PermissionDeniedError()
        return EventFeed(services.events.subscribe(pattern), gate, token)

    async def seal_with_token(self, token: str) -> None:
        """Seal on behalf of a token, which needs update and sudo on sys/seal (Vault's rule)."""
        if self._services is None and not self.standby:
            return
        await self.require_sudo(token, "sys/seal")
        await self.seal()

    async def save_snapshot(self, token: str, path: str, remote: tuple[str, int] = ("", 0)) -> bytes:
        """A snapshot of the whole storage, for a token with sudo on `path`; audited."""
        await self.require_sudo(token, path)
        audit = await self._snapshot_audit(token, path, Operation.READ, remote)
        await self.services.audit.log_request(audit)
        data = await take_snapshot(self._physical, self._storage_type, self._cluster, self._clock)
        await self.services.audit.log_response(audit)
        return data

    async def _snapshot_audit(
        self, token: str, path: str, operation: Operation, remote: tuple[str, int]
    ) -> AuditInput:
        services = self.services
        auth = audit_auth(await services.tokens.lookup(token))
        return snapshot_audit(services, path, operation, token=token, auth=auth, remote=remote)

    async def restore_snapshot(
        self, token: str, path: str, data: bytes, *, force: bool, remote: tuple[str, int] = ("", 0)
    ) -> None:
        """Replace the whole storage with the snapshot in `data`, for a token with sudo on `path`.

        Everything is checked first; then the services stop and the storage is swapped in one
        transaction. A snapshot of this cluster is served at once (keyring reloaded, services restarted,
        as Vault does); a forced one from another cluster, or any restore on an HA backend (the other
        servers hold keys of the old storage), leaves this server sealed, to be unsealed with the keys of
        the snapshot's cluster. A swap that fails leaves the storage as it was, and the server serving it.
        """
        await self.require_sudo(token, path)
        audit = await self._snapshot_audit(token, path, Operation.UPDATE, remote)
        await self.services.audit.log_request(audit)
        try:
            physical = snapshottable(self._physical, self._storage_type)
            snapshot, same = await check_snapshot(data, self._barrier, force=force)
        except RequestError as refusal:
            await self.services.audit.log_response(replace(audit, error="; ".join(refusal.errors)))
            raise
        entries = list(snapshot.entries)
        if self._ha_lock is not None or not same:
            # Sealed afterwards, this server has no audit device left to record the outcome in.
            await self.services.audit.log_response(audit)
            await self.seal()
            await physical.replace_all(entries)
            return
        self.rekey.cancel()
        try:
            async with self._lock:
                await self._stop_services()
                try:
                    await physical.replace_all(entries)
                finally:
                    # Swapped or not (then the storage is as it was), nothing decrypted may outlive it.
                    self._barrier.start_caching()
                    await self._barrier.reload_keyring()
        finally:
            await self._start()
        # Into the restored storage's audit devices: the request entry went to those of the old one.
        await self.services.audit.log_response(audit)

    def reopen_audit_devices(self) -> None:
        """Reopen the audit devices' files and sockets (SIGHUP after log rotation); nothing while sealed."""
        if self._services is not None:
            self._services.audit.reopen()

    async def _new_root_token(self) -> str:
        token, _ = await self.services.tokens.create(
            TokenParams(policies=("root",), display_name="root", renewable=False, path="auth/token/root")
        )
        return token

    def _token_authority(self) -> tuple[TokenStore, PolicyStore]:
        """The token store and policies that judge a token: the running ones, or on a standby (which runs
        none) fresh ones reading the storage the active server writes."""
        if self._services is not None:
            return self._services.tokens, self._services.policies
        if not self.standby:
            raise ServiceUnavailableError("Vault is sealed")
        return (
            TokenStore(BarrierView(self._barrier, "sys/token/"), self._clock),
            PolicyStore(BarrierView(self._barrier, "sys/policy/"), clock=self._clock),
        )

    async def seal(self) -> None:
        """Stop the services (giving the HA lock up) and drop every key from memory, and any rekey with
        them: new shares awaiting verification are discarded, the current ones stay valid (as in Vault)."""
        self.rekey.cancel()
        election, self._election = self._election, None
        if election is not None:
            await election.stop()
        async with self._lock:
            await self._stop_services()
            self._seal.seal()

    async def _stop_services(self) -> None:
        """Drop the services; the caller holds self._lock."""
        services, self._services, self._pipeline = self._services, None, None
        self.telemetry.detach()
        if services is not None:
            await services.leases.stop()
            services.audit.close()
            services.events.close()
            await services.mounts.cleanup()

    async def _serve_unsealed(self) -> None:
        """Once the barrier is unsealed: serve at once, or on an HA backend compete for the lock first."""
        if self._ha_lock is None:
            await self._start()
            return
        async with self._lock:
            if self._barrier.sealed or self._election is not None:
                return
            self._cluster = await self._cluster_identity()
            self._election = LeaderElection(
                self._ha_lock, become_active=self._take_over, become_standby=self._stand_by, clock=self._clock
            )
            self._election.start()

    async def _take_over(self) -> None:
        """Become the active server: the previous one may have written (and rotated the barrier key)
        meanwhile, so the storage cache starts empty."""
        if isinstance(self._physical, ReadCache):
            self._physical.start_caching()
        self._barrier.start_caching()
        await self._barrier.reload_keyring()
        await self._start()

    async def _stand_by(self) -> None:
        """Stop serving but stay unsealed; requests already in the pipeline finish first."""
        self._pipeline = None
        for _ in range(_DRAIN_STEPS):
            if self._in_flight == 0:
                break
            await asyncio.sleep(_DRAIN_STEP)
        async with self._lock:
            await self._stop_services()
        if isinstance(self._physical, ReadCache):
            self._physical.stop_caching()
        self._barrier.stop_caching()

    async def _start(self) -> None:
        async with self._lock:
            if self._barrier.sealed or self._services is not None:
                return
            self._cluster = await self._cluster_identity()
            tokens = TokenStore(BarrierView(self._barrier, "sys/token/"), self._clock)
            await tokens.initialize()
            policies = PolicyStore(BarrierView(self._barrier, "sys/policy/"), clock=self._clock)
            await policies.ensure_default()
            holder: list[Services] = []

            def system(_entry: MountEntry, _config: BackendConfig) -> Backend:
                return system_backend(holder[0])

            def token(_entry: MountEntry, config: BackendConfig) -> Backend:
                return token_backend(
                    tokens,
                    system=config.system,
                    clock=self._clock,
                    sudo_check=_sudo(policies, holder[0].identity.grant),
                    policy_exists=_exists(policies),
                    logins=MountLogins(lambda: holder[0].mounts),
                    identity_policies=lambda entity_id: holder[0].identity.grant(entity_id).policies,
                    entity_of_alias=_entity_of_alias(holder),
                )

            audit = AuditBroker(
                BarrierView(self._barrier, "audit/"),
                clock=self._clock,
                allow_api_creation=self._allow_api_audit,
                allow_prefixing=self._allow_audit_prefix,
                protected=self._audit_protected,
                declared=self._audit_devices,
            )
            await audit.load()

            def identity(_entry: MountEntry, _config: BackendConfig) -> Backend:
                return identity_backend(
                    holder[0].identity,
                    api_addr=self._api_addr,
                    clock=self._clock,
                    token_created=_token_created(tokens),
                )

            internal = {"system": system, "token": token, "identity": identity}
            events = EventBus(clock=self._clock)
            mounts = MountManager(
                self._barrier,
                self._factories,
                internal,
                self._clock,
                self._ttls,
                events=events,
                password_policies=PasswordPolicyStore(BarrierView(self._barrier, "sys/password_policy/")),
            )
            identity_store = IdentityStore(
                BarrierView(self._barrier, "sys/identity/"), self._clock, _AuthMountsOf(mounts)
            )
            await identity_store.load()
            wrapping = Wrapping(tokens, _cubbyhole_of(mounts))
            expire_view = BarrierView(self._barrier, "sys/expire/")
            leases = LeaseManager(expire_view, self._clock, tokens, MountSecrets(mounts, self._clock))
            quota_view = BarrierView(self._barrier, "sys/quotas/")
            quotas = QuotaManager(
                quota_view, self._clock, mounts.storage_for, leases.count_under, self._failed_login_limit
            )
            services = Services(
                mounts=mounts,
                policies=policies,
                tokens=tokens,
                keyring=self._barrier,
                audit=audit,
                wrapping=wrapping,
                leases=leases,
                telemetry=self.telemetry,
                events=events,
                leadership=self._election or SingleNode(),
                rekey=self.rekey,
                generate_root=self.generate_root,
                identity=identity_store,
                quotas=quotas,
            )
            holder.append(services)
            tokens.add_revocation_hook(_cubbyhole_cleaner(mounts))
            tokens.add_revocation_hook(lease_revoker(leases))
            await mounts.load()
            await quotas.load()
            await leases.start()
            self._services = services
            self._pipeline = Pipeline(services)
            self.telemetry.attach(
                Sources(
                    mount_of=_mount_of(mounts),
                    token_counts=tokens.count_by_type,
                    lease_count=leases.count,
                    audit_failures=lambda: {path: c.failures for path, c in audit.counters().items()},
                )
            )

    async def _cluster_identity(self) -> dict[str, str]:
        stored = await get_json(self._barrier, "core/cluster")
        if stored is None:
            stored = {"name": f"vault-cluster-{base62(8).lower()}", "id": new_uuid()}
            await put_json(self._barrier, "core/cluster", stored)
        return dict(stored)


def _token_created(tokens: TokenStore) -> Any:
    """When the token stored under a hash was created (None when there is none): identity's max_age."""

    async def created(token_hash: str) -> float | None:
        entry = await tokens.lookup_hash(token_hash)
        return None if entry is None else entry.creation_time

    return created


def _exists(policies: PolicyStore) -> Any:
    async def exists(name: str) -> bool:
        return await policies.get(name) is not None

    return exists


def _sudo(policies: PolicyStore, grant_of: Callable[[str], Grant]) -> Any:
    """Whether the caller's policies (its token's and its entity's, as the pipeline counts them) grant sudo
    on the request's full path."""

    async def has_sudo(request: Request) -> bool:
        caller = request.caller
        if caller is None:
            return False
        grant = grant_of(caller.entity_id)
        acl = await policies.acl((*caller.policies, *grant.policies), identity=grant.template)
        return acl.authorize(request.operation, request.mount_point + request.path, {}).sudo

    return has_sudo


def _entity_of_alias(holder: list[Services]) -> Any:
    """The token store's way to an entity: the alias named at the token mount, found or created."""

    async def entity_of_alias(mount_accessor: str, name: str) -> tuple[str, bool]:
        services = holder[0]
        entry = next(e for e in services.mounts.entries("auth") if e.accessor == mount_accessor)
        entity = await services.identity.login_entity(mount_accessor, entry.type, entry.api_path, name, {})
        return entity.id, entity.disabled

    return entity_of_alias


class _AuthMountsOf:
    """The identity store's view of the auth mounts: an alias names its mount by accessor."""

    def __init__(self, mounts: MountManager) -> None:
        self._mounts = mounts

    def auth_mount(self, accessor: str) -> tuple[str, str] | None:
        entry = next((e for e in self._mounts.entries("auth") if e.accessor == accessor), None)
        return None if entry is None else (entry.type, entry.api_path)


def _cubbyhole_of(mounts: MountManager) -> CubbyholeOf:
    """A token's view of the cubbyhole mount: where response wrapping keeps what it wraps."""

    def view(token_hash: str) -> Storage:
        for mount in mounts.entries("mounts"):
            if mount.type == "cubbyhole":
                return BarrierView(mounts.storage_for(mount), f"{token_hash}/")
        raise StorageError("the cubbyhole mount is missing")

    return view


def _mount_of(mounts: MountManager) -> MountOf:
    """The mount (path and type) serving an API path, for the request metrics' labels."""

    def mount_of(path: str) -> tuple[str, str] | None:
        route = mounts.router.route(path)
        return None if route is None else (route.entry.api_path, route.entry.type)

    return mount_of


def _cubbyhole_cleaner(mounts: MountManager) -> Any:
    """A token's cubbyhole dies with the token."""

    async def clean(entry: TokenEntry) -> None:
        for mount in mounts.entries("mounts"):
            if mount.type == "cubbyhole":
                await BarrierView(mounts.storage_for(mount), f"{entry.id_hash}/").clear()

    return clean
