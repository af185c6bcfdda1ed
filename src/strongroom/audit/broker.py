"""The audit broker: the enabled devices, their salts, and the fail-closed fan-out of every entry.

Layer: audit (a service). Imports logical (Storage), crypto, util and errors; the core wires it into the
pipeline and the sys/audit paths.

The table of API-enabled devices and every device's salt are kept in the storage the core gives (a barrier
view), so they are encrypted and come back on unseal. Devices declared in the server config are always
enabled; they are kept in the same table only so their salt survives restarts.

Enabling through the API needs the server's `unsafe_allow_api_audit_creation`, and a `prefix` option needs
`allow_audit_log_prefixing`, in dev mode too (OpenBao's answer to HCSEC-2025-14).

Invariant: while any device is enabled, an entry that no device recorded raises AuditFailedError, and the
caller must not serve the request; one device failing while another records is not a failure.
Invariant: a failure is logged with the device path and the error's kind only, never the entry.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from strongroom.audit.devices import Device, RefusedDevice, close_quietly, create_device, open_device
from strongroom.audit.entry import (
    AuditAuth,
    AuditInput,
    FormatOptions,
    RequestParts,
    auth_member,
    request_line,
    request_parts,
    response_line,
)
from strongroom.crypto.hmac import HMAC_PREFIX, SaltedHasher
from strongroom.errors import InvalidRequestError, StrongroomError
from strongroom.logical import Storage, get_json, put_json
from strongroom.util.clock import Clock, SystemClock
from strongroom.util.ids import new_uuid

log = logging.getLogger("strongroom.audit")

TABLE_KEY = "table"
API_CREATION_REFUSED = (
    "cannot enable audit device via API; use declarative, config-based audit device management instead"
)
DECLARED_DISABLE_REFUSED = "cannot disable configuration-managed audit device"
PREFIX_REFUSED = "audit log prefixing is not allowed"


class AuditFailedError(StrongroomError):
    """No enabled audit device recorded an entry: the request must not be served (500, as Vault)."""


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """An audit device as enabled: Vault's audit table entry."""

    path: str
    type: str
    description: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    local: bool = False
    uuid: str = ""
    declared: bool = False

    def describe(self) -> dict[str, Any]:
        """What sys/audit shows for the device."""
        return {
            "type": self.type,
            "description": self.description,
            "options": dict(self.options),
            "local": self.local,
            "path": self.path,
        }


@dataclass(frozen=True, slots=True)
class DeviceCounters:
    """Writes and failures of one device since unseal (for metrics and sys/audit-status)."""

    writes: int = 0
    failures: int = 0
    # Failures since the last successful write: 0 means the device is recording now.
    consecutive_failures: int = 0
    last_failure_time: float | None = None
    last_failure: str = ""


# HMACs remembered per device: the same token, accessor and secret values come back request after request.
# Bounded in entries and in value length, and dropped with the device (on seal).
HMAC_MEMO_SIZE = 4096
HMAC_MEMO_MAX_VALUE = 1024
# Request parts built for a request entry and kept, by request ID, for its response entry. A request whose
# response entry never comes (an internal error) is dropped once this many newer ones wait.
PARTS_MEMO_SIZE = 1024
# Encoded auth members by client token: a token's requests all show the same one.
AUTH_MEMO_SIZE = 1024
_NO_FAILURES = DeviceCounters()


@dataclass(frozen=True, slots=True)
class _Enabled:
    spec: DeviceSpec
    device: Device
    options: FormatOptions
    hasher: SaltedHasher = field(repr=False)
    _memo: dict[str, str] = field(default_factory=dict, repr=False)
    _parts: dict[str, tuple[AuditInput, RequestParts]] = field(default_factory=dict, repr=False)
    _auths: dict[str, tuple[AuditAuth, bytes]] = field(default_factory=dict, repr=False)

    def parts(self, audit: AuditInput, *, response: bool) -> RequestParts:
        """`audit`'s request parts: built for the request entry and kept until the response entry, which
        reuses them only when it carries the very same request and auth (frozen, so unchanged)."""
        kept = self._parts.pop(audit.request.id, None) if response else None
        if kept is not None and kept[0].request is audit.request and kept[0].auth is audit.auth:
            return kept[1]
        parts = request_parts(audit, self.options, self.hash, self._auth(audit))
        if not response:
            if len(self._parts) >= PARTS_MEMO_SIZE:
                del self._parts[next(iter(self._parts))]
            self._parts[audit.request.id] = (audit, parts)
        return parts

    def _auth(self, audit: AuditInput) -> bytes:
        """`audit`'s encoded auth member, kept per client token while the token's description is equal."""
        token, auth = audit.request.client_token, audit.auth
        kept = self._auths.get(token)
        if kept is not None and (kept[0] is auth or kept[0] == auth):
            return kept[1]
        member = auth_member(audit, self.options, self.hash)
        if kept is None and len(self._auths) >= AUTH_MEMO_SIZE:
            del self._auths[next(iter(self._auths))]  # the oldest first
        self._auths[token] = (auth, member)
        return member

    def hash(self, value: str) -> str:
        memo = self._memo
        hashed = memo.get(value)
        if hashed is None:
            hashed = HMAC_PREFIX + self.hasher.hex(value)
            if len(value) <= HMAC_MEMO_MAX_VALUE:
                if len(memo) >= HMAC_MEMO_SIZE:
                    del memo[next(iter(memo))]  # the oldest first: cheaper than an LRU on every hit
                memo[value] = hashed
        return hashed


def normalize_path(path: str) -> str:
    """A device path as stored: no leading slash, one trailing slash."""
    return path.strip("/") + "/"


class AuditBroker:
    """Enabled audit devices and the fan-out of entries to them."""

    def __init__(
        self,
        storage: Storage,
        *,
        clock: Clock | None = None,
        allow_api_creation: bool = False,
        allow_prefixing: bool = False,
        protected: Sequence[str] = (),
        declared: Sequence[DeviceSpec] = (),
    ) -> None:
        self._storage = storage
        self._clock = clock or SystemClock()
        self.allow_api_creation = allow_api_creation
        self._allow_prefixing = allow_prefixing
        # Config files and directories no file device may write in or over, beside the server's code.
        self._protected = tuple(protected)
        self._declared = tuple(replace(d, path=normalize_path(d.path), declared=True) for d in declared)
        self._enabled: tuple[_Enabled, ...] = ()
        # Failures by device path; successful writes are counted apart, in a plain int per device, so a
        # write that succeeds builds nothing.
        self._counters: dict[str, DeviceCounters] = {}
        self._writes: dict[str, int] = {}
        self._lock = asyncio.Lock()

    @property
    def active(self) -> bool:
        """True when at least one device is enabled (every request is then audited)."""
        return bool(self._enabled)

    async def load(self) -> None:
        """Restore the stored devices and add the declared ones (on unseal)."""
        async with self._lock:
            stored = [DeviceSpec(**record) for record in await get_json(self._storage, TABLE_KEY) or []]
            kept = self._with_declared(stored)
            for spec in stored:
                if spec.declared and spec.uuid not in {k.uuid for k in kept}:
                    await self._storage.delete(f"{spec.uuid}/salt")
            enabled = [await self._build(spec, strict=False) for spec in kept]
            await self._save([e.spec for e in enabled])
            self._enabled = tuple(enabled)

    def _with_declared(self, stored: Sequence[DeviceSpec]) -> list[DeviceSpec]:
        """The stored API devices and the declared ones; a declared device keeps its uuid (so its salt)
        while its type and options stay the same."""
        kept = [spec for spec in stored if not spec.declared]
        previous = {spec.path: spec for spec in stored if spec.declared}
        for spec in self._declared:
            clash = next((k for k in kept if _overlaps(k.path, spec.path)), None)
            if clash is not None:
                log.error("declared audit device %s clashes with device %s", spec.path, clash.path)
                continue
            before = previous.get(spec.path)
            same = before is not None and (before.type, dict(before.options)) == (spec.type, spec.options)
            kept.append(replace(spec, uuid=before.uuid if before is not None and same else new_uuid()))
        return kept

    def list(self) -> dict[str, dict[str, Any]]:
        """The enabled devices by path, as sys/audit shows them."""
        return {e.spec.path: e.spec.describe() for e in self._enabled}

    async def enable(self, spec: DeviceSpec) -> None:
        """Enable a device through the API; InvalidRequestError when refused or misconfigured."""
        if not self.allow_api_creation:
            raise InvalidRequestError(API_CREATION_REFUSED)
        if "prefix" in spec.options and not self._allow_prefixing:
            raise InvalidRequestError(PREFIX_REFUSED)
        path = normalize_path(spec.path)
        if path == "/":
            raise InvalidRequestError("backend path must be specified")
        async with self._lock:
            if any(_overlaps(e.spec.path, path) for e in self._enabled):
                raise InvalidRequestError("path already in use")
            fresh = replace(spec, path=path, uuid=new_uuid(), declared=False)
            enabled = await self._build(fresh, strict=True)
            await self._save([*(e.spec for e in self._enabled), enabled.spec])
            self._enabled = (*self._enabled, enabled)

    async def disable(self, path: str) -> None:
        """Disable a device (a missing one is not an error); its salt is destroyed with it."""
        path = normalize_path(path)
        async with self._lock:
            found = next((e for e in self._enabled if e.spec.path == path), None)
            if found is None:
                return
            if found.spec.declared:
                raise InvalidRequestError(DECLARED_DISABLE_REFUSED)
            remaining = tuple(e for e in self._enabled if e is not found)
            await self._save([e.spec for e in remaining])
            await self._storage.delete(f"{found.spec.uuid}/salt")
            self._enabled = remaining
            self._counters.pop(path, None)
            self._writes.pop(path, None)
            close_quietly(found.device)

    def hash(self, path: str, value: str) -> str:
        """The device's HMAC of `value` (sys/audit-hash)."""
        path = normalize_path(path)
        found = next((e for e in self._enabled if e.spec.path == path), None)
        if found is None:
            raise InvalidRequestError(f'unknown audit backend "{path}"')
        return value if found.options.log_raw else found.hash(value)

    async def log_request(self, audit: AuditInput) -> None:
        """Record the request entry; AuditFailedError when devices are enabled and none recorded it."""
        await self._broadcast(
            lambda e, now: request_line(audit, e.options, e.hash, now, e.parts(audit, response=False))
        )

    async def log_response(self, audit: AuditInput) -> None:
        """Record the response entry; AuditFailedError when devices are enabled and none recorded it."""
        await self._broadcast(
            lambda e, now: response_line(audit, e.options, e.hash, now, e.parts(audit, response=True))
        )

    def counters(self) -> dict[str, DeviceCounters]:
        """Writes and failures by device path since unseal (the metrics engineer's `audit.broker.*`)."""
        return {
            e.spec.path: replace(
                self._counters.get(e.spec.path, _NO_FAILURES), writes=self._writes.get(e.spec.path, 0)
            )
            for e in self._enabled
        }

    def reopen(self) -> None:
        """Reopen every device's file or socket (SIGHUP, after log rotation)."""
        for enabled in self._enabled:
            try:
                enabled.device.reopen()
            except OSError as exc:
                log.error("audit device %s could not be reopened: %s", enabled.spec.path, _kind(exc))

    def close(self) -> None:
        """Close every device (on seal)."""
        for enabled in self._enabled:
            close_quietly(enabled.device)
        self._enabled = ()

    async def _broadcast(self, build: Callable[[_Enabled, float], bytes]) -> None:
        targets = self._enabled
        if not targets:
            return
        now = self._clock.now()
        if len(targets) == 1:  # the common case needs no tasks to wait on
            only = targets[0]
            results = [await self._write(only, build(only, now))]
        else:
            writes = (self._write(e, build(e, now)) for e in targets)
            results = await asyncio.gather(*writes)
        if not any(results):
            raise AuditFailedError("no audit device recorded the entry")

    async def _write(self, enabled: _Enabled, line: bytes) -> bool:
        path = enabled.spec.path
        timeout = enabled.device.timeout
        try:
            if timeout:
                async with asyncio.timeout(timeout):
                    await enabled.device.write(line)
            else:
                await enabled.device.write(line)
        except Exception as exc:  # any failure of one device is counted; the broker decides what it means
            counters = self._counters.get(path, _NO_FAILURES)
            self._counters[path] = replace(
                counters,
                failures=counters.failures + 1,
                consecutive_failures=counters.consecutive_failures + 1,
                last_failure_time=self._clock.now(),
                last_failure=_kind(exc),
            )
            log.error("audit device %s failed to record an entry: %s", path, _kind(exc))
            return False
        self._writes[path] = self._writes.get(path, 0) + 1
        failing = self._counters.get(path)
        if failing is not None and failing.consecutive_failures:
            self._counters[path] = replace(failing, consecutive_failures=0)
        return True

    async def _build(self, spec: DeviceSpec, *, strict: bool) -> _Enabled:
        options = {k: str(v) for k, v in spec.options.items()}
        device: Device
        try:
            if "prefix" in options and not self._allow_prefixing:
                raise InvalidRequestError(PREFIX_REFUSED)
            device = create_device(spec.type, options, self._protected)
            format_options = FormatOptions.parse(options)
        except InvalidRequestError as exc:
            if strict:
                raise
            # A device stored by an older version with options refused now writes nothing and fails
            # closed, rather than planting what it was made to plant or keeping the server sealed.
            log.error("audit device %s is refused and records nothing: %s", spec.path, exc)
            device, format_options = RefusedDevice(str(exc)), FormatOptions()
        try:
            open_device(device)
        except InvalidRequestError as exc:
            if strict:
                raise
            # A declared or restored device that cannot open now keeps trying on each write (and fails
            # closed if it is the only one), rather than keeping the server from unsealing.
            log.error("audit device %s: %s", spec.path, exc)
        salt = await self._storage.get(f"{spec.uuid}/salt")
        if salt is None:
            salt = secrets.token_hex(32).encode()
            await self._storage.put(f"{spec.uuid}/salt", salt)
        return _Enabled(
            spec=replace(spec, options=options),
            device=device,
            options=format_options,
            hasher=SaltedHasher(salt),
        )

    async def _save(self, specs: Sequence[DeviceSpec]) -> None:
        records = [
            {
                "path": s.path,
                "type": s.type,
                "description": s.description,
                "options": dict(s.options),
                "local": s.local,
                "uuid": s.uuid,
                "declared": s.declared,
            }
            for s in specs
        ]
        await put_json(self._storage, TABLE_KEY, records)


def validate_spec(spec: DeviceSpec, *, allow_prefixing: bool = False, protected: Sequence[str] = ()) -> None:
    """InvalidRequestError when a declared device's type or options are wrong (checked on config load)."""
    options = {k: str(v) for k, v in spec.options.items()}
    if "prefix" in options and not allow_prefixing:
        raise InvalidRequestError(PREFIX_REFUSED)
    create_device(spec.type, options, protected)
    FormatOptions.parse(options)


def _overlaps(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


def _kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "write timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__
