"""KeyStore: named key policies in the mount's storage view, one lock per name for read-modify-write.

Layer: builtin. Imports logical (Storage), util (Clock) and the transit domain modules; not the framework.
Auto-rotation happens when a key is loaded and its latest version is older than auto_rotate_period
(strongroom has no periodic hook for backends; the key a client uses is always rotated before use).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson

from strongroom.builtin.secrets.transit import keygen
from strongroom.builtin.secrets.transit.models import POLICY_PREFIX, KeyPolicy, TransitError
from strongroom.logical import Storage
from strongroom.util.clock import Clock


class KeyStore:
    """The transit keys of one mount."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    @asynccontextmanager
    async def locked(self, name: str) -> AsyncIterator[None]:
        """Hold `name`'s lock: writers of one key run one at a time."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            yield

    async def get(self, storage: Storage, name: str) -> KeyPolicy | None:
        """The key `name` (auto-rotated first when due), or None."""
        raw = await storage.get(POLICY_PREFIX + name)
        if raw is None:
            return None
        policy = KeyPolicy.from_json(orjson.loads(raw))
        if self._rotation_due(policy):
            async with self.locked(name):
                fresh = await storage.get(POLICY_PREFIX + name)
                if fresh is None:
                    return None
                policy = KeyPolicy.from_json(orjson.loads(fresh))
                if self._rotation_due(policy):
                    policy = self.rotated(policy)
                    await self.put(storage, policy)
        return policy

    def _rotation_due(self, policy: KeyPolicy) -> bool:
        if policy.auto_rotate_period <= 0 or (policy.imported and not policy.allow_imported_key_rotation):
            return False
        latest = policy.versions.get(policy.latest_version)
        return latest is not None and self.clock.now() - latest.creation_time >= policy.auto_rotate_period

    async def put(self, storage: Storage, policy: KeyPolicy) -> None:
        await storage.put(POLICY_PREFIX + policy.name, orjson.dumps(policy.to_json()))

    async def delete(self, storage: Storage, name: str) -> None:
        await storage.delete(POLICY_PREFIX + name)

    async def names(self, storage: Storage) -> list[str]:
        return await storage.list(POLICY_PREFIX)

    def rotated(self, policy: KeyPolicy) -> KeyPolicy:
        """`policy` with one more version, now the latest (and no longer an imported key)."""
        if policy.imported and not policy.allow_imported_key_rotation:
            raise TransitError(f"imported key {policy.name} does not allow rotation within Vault")
        number = policy.latest_version + 1
        version = keygen.generate(
            policy.type, self.clock.now(), derived=policy.derived, key_size=policy.key_size
        )
        return policy.evolve(
            versions={**policy.versions, number: version}, latest_version=number, imported=False
        )
