"""Static role rotation: setting a new password on the database user, on schedule and on demand.

Layer: builtin (domain logic, no framework). Imports logical (EventSender), util and the engine's store,
models and schedule.

A rotation writes ahead: the new password is stored behind the barrier (the role's pending password)
before the database is touched, the rotation statements run in one transaction, and only then does the
role record the password and the pending entry go. A rotation that fails leaves the role's password (the
old one, still valid in the database) and records the error on the role; the next try sets the same
pending password, so a statement that did commit before the failure was seen is simply repeated. At start
(unseal, or this server becoming active) every role with a pending password or an overdue rotation is
due at once, after the root rotations left pending are settled.

Invariant: the database and the role never disagree once a rotation has been confirmed: the role takes
the new password only after the database has accepted it, and a pending password is never dropped until
the role records it (or the role is deleted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from strongroom.builtin.secrets.database.models import StaticRole
from strongroom.builtin.secrets.database.schedule import next_rotation
from strongroom.builtin.secrets.database.store import DatabaseStore
from strongroom.errors import InvalidRequestError
from strongroom.logical import EventSender
from strongroom.util.clock import Clock

log = logging.getLogger(__name__)

# How often the scheduler looks for due rotations (Vault's queue ticks every 5 s; a shorter tick keeps
# rotations within a second of when they are due).
TICK = 1.0
# Retries after a failed rotation wait 2, 4, 8 ... seconds, at most this long.
RETRY_FIRST = 2.0
RETRY_MAX = 60.0
ROTATE_EVENT = "database/rotate"
ROTATE_FAIL_EVENT = "database/rotate-fail"


class Rotator:
    """The rotations of one mount's static roles: a schedule kept in memory (rebuilt from storage at
    start), a task that runs what is due, and `rotate` for creation and rotate-role."""

    def __init__(self, store: DatabaseStore, clock: Clock, events: EventSender, mount_path: str) -> None:
        self._store = store
        self._clock = clock
        self._events = events
        self._mount_path = mount_path
        self._due: dict[str, float] = {}
        self._failures: dict[str, int] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None

    def lock(self, name: str) -> asyncio.Lock:
        """The lock that serializes everything done to static role `name`."""
        return self._locks.setdefault(name, asyncio.Lock())

    async def start(self) -> None:
        """Load the schedule from storage and start the scheduler."""
        pending = set(await self._store.pending_names())
        for name in await self._store.static_role_names():
            role = await self._store.static_role(name)
            if role is not None:
                self._due[name] = self._clock.now() if name in pending else role.next_vault_rotation
        for orphan in pending - set(self._due):
            await self._store.delete_pending(orphan)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="database-rotation")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def schedule(self, role: StaticRole) -> None:
        """Rotate `role` when its stored schedule says (after a write of the role)."""
        self._due[role.name] = role.next_vault_rotation
        self._failures.pop(role.name, None)

    def forget(self, name: str) -> None:
        self._due.pop(name, None)
        self._failures.pop(name, None)

    async def _run(self) -> None:
        await self._store.settle_roots()
        while True:
            await asyncio.sleep(TICK)
            now = self._clock.now()
            for name in [n for n, when in self._due.items() if when <= now]:
                try:
                    async with self.lock(name):
                        role = await self._store.static_role(name)
                        if role is None:
                            self.forget(name)
                            continue
                        await self.rotate(role)
                except InvalidRequestError:
                    continue  # recorded on the role; retried after the backoff
                except Exception as exc:  # storage trouble, say: the scheduler must outlive it; next tick
                    log.warning("static role rotation of %s failed: %s", name, type(exc).__name__)

    async def rotate(self, role: StaticRole) -> StaticRole:
        """Set a new password for `role` (the caller holds its lock) and return the role as recorded.

        On failure the role records the error, the rotation is retried after a backoff, and the
        InvalidRequestError (no secret in it) is raised again."""
        try:
            config = await self._store.required_config(role.db_name)
            if not config.allows(role.name):
                raise InvalidRequestError(f'"{role.name}" is not an allowed role')
            password = await self._store.pending_password(role.name)
            if password is None:
                password = await self._store.new_password(config, role.password_policy)
                await self._store.put_pending(role.name, password, self._clock.now())
            connection = self._store.connection(config)
            await connection.set_password(role.rotation_statements, role.username, password)
        except InvalidRequestError as exc:
            await self._failed(role, str(exc))
            raise
        now = self._clock.now()
        rotated = role.evolve(
            password=password,
            last_vault_rotation=now,
            next_vault_rotation=next_rotation(role.rotation_period, role.rotation_schedule, now),
            last_rotation_error="",
        )
        await self._store.save_static_role(rotated)
        await self._store.delete_pending(role.name)
        self.schedule(rotated)
        self._publish(ROTATE_EVENT, role.name)
        return rotated

    async def _failed(self, role: StaticRole, error: str) -> None:
        failures = self._failures.get(role.name, 0) + 1
        now = self._clock.now()
        retry = retry_at(role, failures, now)
        stored = await self._store.static_role(role.name)
        if stored is None:
            return  # a role being created: the create fails, and nothing is retried
        await self._store.save_static_role(stored.evolve(last_rotation_error=error))
        self._failures[role.name] = failures
        self._due[role.name] = retry
        log.warning("static role %s: rotation failed; retrying in %.0fs", role.name, retry - now)
        self._publish(ROTATE_FAIL_EVENT, role.name)

    def _publish(self, event_type: str, name: str) -> None:
        path = f"{self._mount_path}static-creds/{name}"
        self._events.send_event(event_type, {"name": name, "path": path}, path)


def retry_at(role: StaticRole, failures: int, now: float) -> float:
    """When to try again after `failures` failed rotations in a row: 2, 4, 8 ... seconds later (at most
    RETRY_MAX); for a schedule with a rotation_window, a retry that would fall past the window waits for
    the schedule's next time instead (Vault's rotation_window)."""
    retry: float = now + min(RETRY_FIRST * 2.0 ** (failures - 1), RETRY_MAX)
    windowed = role.rotation_schedule and role.rotation_window and role.last_vault_rotation
    if windowed and retry > role.next_vault_rotation + role.rotation_window:
        return next_rotation(0, role.rotation_schedule, now)
    return retry
