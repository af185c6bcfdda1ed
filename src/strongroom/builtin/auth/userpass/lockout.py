"""User lockout, Vault's rules: failed logins counted per user, a lock after `threshold` of them.

Layer: builtin. Imports logical only (storage helpers and the lockout settings); time is passed in.

Vault's rules, kept exactly: a failure more than `counter_reset` seconds after the previous one starts the
count again at 1; a user whose count has reached `threshold` is refused for `duration` seconds after the last
failure (the failure that reaches the threshold is still answered as a plain failure; the next attempt is
refused); a successful login or an unlock clears the count. Only users that exist are counted, as in
OpenBao (whose lockout keys on the alias an existing user resolves to).
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.logical import Storage, UserLockoutConfig, get_json, put_json

PREFIX = "lockout/"


@dataclass(frozen=True, slots=True)
class FailedLogins:
    """How many logins failed in a row, and when the last one did (epoch seconds)."""

    count: int
    last_failure: float

    def locked(self, config: UserLockoutConfig, now: float) -> bool:
        """Whether the user is refused at `now`."""
        return self.count >= config.threshold and now - self.last_failure < config.duration

    def after_failure(self, config: UserLockoutConfig, now: float) -> FailedLogins:
        """The record once one more login has failed at `now`."""
        if now > self.last_failure + config.counter_reset:
            return FailedLogins(1, now)
        return FailedLogins(self.count + 1, now)


class Lockouts:
    """The failed-login records of one mount, in its storage under "lockout/"."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, name: str) -> FailedLogins | None:
        record = await get_json(self._storage, PREFIX + name)
        return None if record is None else FailedLogins(int(record["count"]), float(record["last_failure"]))

    async def is_locked(self, name: str, config: UserLockoutConfig, now: float) -> bool:
        """Whether `name` is locked out at `now` (never when lockout is disabled)."""
        if config.disabled:
            return False
        record = await self.get(name)
        return record is not None and record.locked(config, now)

    async def record_failure(self, name: str, config: UserLockoutConfig, now: float) -> None:
        """Count one failed login of `name` (nothing when lockout is disabled)."""
        if config.disabled:
            return
        record = await self.get(name)
        updated = FailedLogins(1, now) if record is None else record.after_failure(config, now)
        await put_json(
            self._storage, PREFIX + name, {"count": updated.count, "last_failure": updated.last_failure}
        )

    async def clear(self, name: str) -> None:
        """Forget `name`'s failures (after a successful login, an unlock, or the user's deletion)."""
        await self._storage.delete(PREFIX + name)

    async def locked_names(self, config: UserLockoutConfig, now: float) -> list[str]:
        """The users locked out at `now`, sorted."""
        if config.disabled:
            return []
        names = [key for key in await self._storage.list(PREFIX) if not key.endswith("/")]
        locked = []
        for name in names:
            record = await self.get(name)
            if record is not None and record.locked(config, now):
                locked.append(name)
        return locked
