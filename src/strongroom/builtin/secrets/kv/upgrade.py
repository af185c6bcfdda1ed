"""Upgrading a KV v1 mount's storage to the v2 layout: each v1 secret becomes version 1 of its key.

Layer: builtin. Imports logical (Storage), util and the kv store; never the framework. Runs when a v2 engine
starts, so a mount tuned from version 1 to 2 keeps its secrets, as in Vault.
Invariant: a v1 secret is deleted only after its version 1 and metadata are written, so an interrupted
upgrade loses nothing and the next start finishes it.
Known gap: a v1 secret named "config", or one under "metadata/" or "versions/", cannot be told from v2
records and is left as it is.
"""

from __future__ import annotations

from strongroom.builtin.secrets.kv.models import CONFIG_KEY, METADATA_PREFIX, VERSIONS_PREFIX
from strongroom.builtin.secrets.kv.store import KVStore
from strongroom.builtin.secrets.kv.versions import add_version, new_metadata
from strongroom.logical.storage import Storage, get_json
from strongroom.util.clock import Clock

_V2_RECORDS = frozenset({CONFIG_KEY, METADATA_PREFIX, VERSIONS_PREFIX})


async def _v1_keys(storage: Storage, folder: str) -> list[str]:
    found: list[str] = []
    for name in await storage.list(folder):
        if not folder and name in _V2_RECORDS:
            continue
        if name.endswith("/"):
            found += await _v1_keys(storage, folder + name)
        else:
            found.append(folder + name)
    return found


async def upgrade_v1_layout(storage: Storage, clock: Clock) -> int:
    """Move every v1 secret in `storage` to the v2 layout; how many were moved (0 on a v2 mount)."""
    store = KVStore(storage)
    config = await store.config()
    keys = await _v1_keys(storage, "")
    for key in keys:
        data = await get_json(storage, key)
        if data is not None:
            now = clock.now()
            meta, _ = add_version(new_metadata(now), now, None, config)
            await store.add_version(key, dict(data), meta)
        await storage.delete(key)
    return len(keys)
