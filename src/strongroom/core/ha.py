"""High availability: the election that makes an unsealed server the active one or a standby.

Layer: core (imports physical.base for the HALock contract, errors and util only). It holds no service: the
core hands it two transitions, `become_active` (load the mounts, restore the leases, serve) and
`become_standby` (stop all that, keep the barrier unsealed), and this module decides when each runs.

A standby tries the lock every `retry_interval` seconds; the active server renews it every
`lock.renew_interval` seconds and stands down as soon as a renewal says it is no longer the holder, or when
renewals have failed (or gone unanswered for a renew interval each) for so long that another server may
hold the lock already.
Invariant: this server runs the active-only services only while it holds the lock, and it stops them
before it releases the lock.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from strongroom.errors import StorageError
from strongroom.physical.base import HALock
from strongroom.util.clock import Clock, SystemClock

log = logging.getLogger("strongroom.core.ha")

Transition = Callable[[], Awaitable[None]]

# Vault's timings: a standby retries the lock every second; a server that stepped down waits 10 s before
# it competes again, so the lock goes to another server.
RETRY_INTERVAL = 1.0
STEP_DOWN_PAUSE = 10.0


class SingleNode:
    """Leadership without HA: the one server is always active, and stepping down changes nothing."""

    async def step_down(self) -> None:
        return None


class LeaderElection:
    """Runs while the barrier is unsealed on an HA backend."""

    def __init__(
        self,
        lock: HALock,
        *,
        become_active: Transition,
        become_standby: Transition,
        clock: Clock | None = None,
        retry_interval: float = RETRY_INTERVAL,
        step_down_pause: float = STEP_DOWN_PAUSE,
    ) -> None:
        self._lock = lock
        self._become_active = become_active
        self._become_standby = become_standby
        self._clock = clock or SystemClock()
        self._retry = retry_interval
        self._pause = step_down_pause
        self._wake = asyncio.Event()
        self._stopping = False
        self._step_down = False
        self._task: asyncio.Task[None] | None = None
        self.active_since: float | None = None

    @property
    def active(self) -> bool:
        """True while this server holds the lock and serves."""
        return self.active_since is not None

    def start(self) -> None:
        """Begin competing for the lock."""
        self._task = asyncio.create_task(self._run(), name="ha-election")

    async def stop(self) -> None:
        """Stand down (if active), give the lock up and stop competing; for seal and shutdown."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        await self._lock.close()

    async def step_down(self) -> None:
        """Ask the active server to give the lock up (sys/step-down); it happens just after this returns,
        so the request asking for it can finish first."""
        if self.active:
            self._step_down = True
            self._wake.set()

    async def leader_address(self) -> str | None:
        """The api_addr of the active server, or None when none holds the lock or storage cannot say."""
        try:
            return await asyncio.wait_for(self._lock.holder(), self._lock.renew_interval)
        except TimeoutError:
            log.warning("cannot read the HA lock: no answer from storage")
            return None
        except StorageError as exc:
            log.warning("cannot read the HA lock: %s", exc)
            return None

    async def _run(self) -> None:
        renewed_at = 0.0
        while not self._stopping:
            if not self.active:
                if await self._attempt():
                    renewed_at = time.monotonic()
                    await self._take_over()
                if not self.active:
                    await self._sleep(self._retry)
                continue
            if not await self._sleep(self._lock.renew_interval):
                break
            if self._step_down:
                log.info("stepping down: giving up the HA lock")
                await self._stand_down(release=True)
                await self._sleep(self._pause)
                continue
            held = await self._attempt()
            if held:
                renewed_at = time.monotonic()
            elif held is False or time.monotonic() - renewed_at >= self._lock.ttl - self._lock.renew_interval:
                # Another server holds it, or may by now: renewals failed for nearly a whole TTL.
                log.warning("lost the HA lock: serving as a standby")
                await self._stand_down(release=False)
        if self.active:
            await self._stand_down(release=True)

    async def _attempt(self) -> bool | None:
        """Whether this server holds the lock now; None when storage could not say."""
        try:
            # A database that stopped answering (a silent partition) must not hang the election: the
            # active server would never notice it may no longer hold the lock.
            return await asyncio.wait_for(self._lock.acquire(), self._lock.renew_interval)
        except TimeoutError:
            log.warning("HA lock: no answer from storage within %.0f s", self._lock.renew_interval)
            return None
        except StorageError as exc:
            log.warning("HA lock: %s", exc)
            return None

    async def _take_over(self) -> None:
        log.info("acquired the HA lock: becoming the active server")
        try:
            await self._become_active()
        except Exception as exc:  # a server that cannot serve must not keep the lock
            log.error("could not become active (%s): giving the HA lock up", type(exc).__name__)
            await self._become_standby()
            await self._release()
            return
        self.active_since = self._clock.now()

    async def _stand_down(self, *, release: bool) -> None:
        self.active_since = None
        self._step_down = False
        await self._become_standby()
        if release:
            await self._release()

    async def _release(self) -> None:
        try:
            await self._lock.release()
        except StorageError as exc:
            log.warning("HA lock not released (it expires on its own): %s", exc)

    async def _sleep(self, seconds: float) -> bool:
        """Wait `seconds`, or less when stop or step-down wakes the loop; False once stopping."""
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            return not self._stopping
        if not self._stopping:
            self._wake.clear()
        return not self._stopping
