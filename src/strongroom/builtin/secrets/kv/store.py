"""KV v2 records in a mount's storage view, and the per-key locks that serialise writers of one key.

Layer: builtin. Imports logical (Storage), util and the kv models; never the framework.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from strongroom.builtin.secrets.freeform import request_storage
from strongroom.builtin.secrets.kv.models import (
    CONFIG_KEY,
    METADATA_PREFIX,
    KeyMetadata,
    KVConfig,
    metadata_key,
    version_key,
)
from strongroom.builtin.secrets.kv.versions import version_view
from strongroom.errors import InvalidRequestError
from strongroom.logical.request import Request
from strongroom.logical.storage import Storage, get_json, put_json, write_together
from strongroom.util.clock import Clock

_LOCK_COUNT = 256
DECODED_METADATA = 4096


class KeyLocks:
    """A fixed set of asyncio locks striped by key, so concurrent writes to one key cannot lose an update."""

    def __init__(self) -> None:
        self._locks = tuple(asyncio.Lock() for _ in range(_LOCK_COUNT))

    def for_key(self, key: str) -> asyncio.Lock:
        # Python's string hash is keyed per process, so a client cannot choose keys that share one lock.
        return self._locks[hash(key) % _LOCK_COUNT]


def store_for(request: Request, engine: KVEngine | None = None) -> KVStore:
    """The KV records of the request's mount (the core always passes the mount's storage view), with the
    mount's decoded metadata when its engine is given."""
    return KVStore(request_storage(request), None if engine is None else engine.decoded)


class DecodedMetadata:
    """Metadata records already decoded, by storage key: a write reads its key's metadata twice (existence
    check, then the write) and a read once, and decoding a record with its versions costs more than the rest
    of the lookup. The stored bytes stay the truth; a record is reused only while they are unchanged."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[bytes, KeyMetadata]] = {}

    def get(self, key: str, raw: bytes) -> KeyMetadata:
        """The metadata `raw` (stored at `key`) decodes to."""
        known = self._entries.get(key)
        if known is not None and known[0] == raw:
            return known[1]
        meta = KeyMetadata.from_json(orjson.loads(raw))
        self.keep(key, raw, meta)
        return meta

    def keep(self, key: str, raw: bytes, meta: KeyMetadata) -> None:
        """Remember that `raw` (stored at `key`) decodes to `meta`: a write keeps what it just stored, so the
        next request on the key (a write's existence check, a read) decodes nothing."""
        entries = self._entries
        if key not in entries and len(entries) >= DECODED_METADATA:
            del entries[next(iter(entries))]  # the oldest first
        entries[key] = (raw, meta)


@dataclass(frozen=True, slots=True)
class VersionRead:
    """One version as a read finds it: `data` is None when the version is deleted or destroyed."""

    metadata: dict[str, Any]
    data: dict[str, Any] | None


class KVStore:
    """Typed access to one mount's KV v2 records."""

    def __init__(self, storage: Storage, decoded: DecodedMetadata | None = None) -> None:
        self.storage = storage
        self._decoded = decoded

    async def config(self) -> KVConfig:
        raw = await get_json(self.storage, CONFIG_KEY)
        return KVConfig() if raw is None else KVConfig.from_json(raw)

    async def put_config(self, config: KVConfig) -> None:
        await put_json(self.storage, CONFIG_KEY, config.to_json())

    async def metadata(self, path: str) -> KeyMetadata | None:
        key = metadata_key(path)
        raw = await self.storage.get(key)
        if raw is None:
            return None
        if self._decoded is None:
            return KeyMetadata.from_json(orjson.loads(raw))
        return self._decoded.get(key, raw)

    async def put_metadata(self, path: str, meta: KeyMetadata) -> None:
        await put_json(self.storage, metadata_key(path), meta.to_json())

    async def delete_metadata(self, path: str) -> None:
        await self.storage.delete(metadata_key(path))

    async def version_data(self, path: str, number: int) -> dict[str, Any] | None:
        raw = await get_json(self.storage, version_key(path, number))
        return None if raw is None else dict(raw["data"])

    async def add_version(
        self, path: str, data: dict[str, Any], meta: KeyMetadata, pruned: Sequence[int] = ()
    ) -> None:
        """Store `data` as `meta`'s current version together with `meta` and the deletion of the `pruned`
        versions: one atomic write (one commit, one fsync where storage offers transactions), so a failed
        write leaves the secret as it was. Without transactions the version goes first, then the metadata
        that names it, then the deletions: an interruption leaves at worst an unnamed version record."""
        key = metadata_key(path)
        raw = orjson.dumps(meta.to_json())
        puts = {version_key(path, meta.current_version): orjson.dumps({"data": data}), key: raw}
        await write_together(self.storage, puts, [version_key(path, number) for number in pruned])
        if self._decoded is not None:
            # A copy: bytes from orjson.dumps hold a 4 KiB allocation however short they are.
            self._decoded.keep(key, bytes(memoryview(raw)), meta)

    async def delete_version(self, path: str, number: int) -> None:
        await self.storage.delete(version_key(path, number))

    async def read_version(self, path: str, requested: int, now: float) -> VersionRead | None:
        """The version a read asks for (0: the current one) with its metadata view; its data unless it is
        deleted or destroyed. None when the secret or that version does not exist."""
        meta = await self.metadata(path)
        if meta is None:
            return None
        number = requested if requested > 0 else meta.current_version
        vm = meta.versions.get(number)
        if vm is None:
            return None
        view = version_view(meta, number, vm)
        if vm.is_deleted(now) or vm.destroyed:
            return VersionRead(metadata=view, data=None)
        data = await self.version_data(path, number)
        if data is None:
            raise InvalidRequestError("could not find version data")
        return VersionRead(metadata=view, data=data)

    async def list_keys(self, folder: str) -> list[str]:
        """Secrets and sub-folders directly under `folder` ("" or ending in "/")."""
        return await self.storage.list(METADATA_PREFIX + folder)


class KVEngine:
    """What one mounted KV v2 engine shares across requests: its clock, its key locks and its decoded
    metadata."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.locks = KeyLocks()
        self.decoded = DecodedMetadata()
