"""The "kv" secrets engine factory: version 1 (passthrough) or 2 (versioned) from the mount's options.

Layer: builtin. Imports framework, logical and the kv path modules. The mount layer turns the "kv-v2" type
into type "kv" with options {"version": "2"} (builtin/registry.py's `KV_V2_ALIAS`).
"""

from __future__ import annotations

from strongroom.builtin.secrets.kv import (
    paths_config,
    paths_data,
    paths_invalid,
    paths_metadata,
    paths_subkeys,
    paths_v1,
    paths_versions,
)
from strongroom.builtin.secrets.kv.store import KVEngine
from strongroom.builtin.secrets.kv.upgrade import upgrade_v1_layout
from strongroom.errors import ConfigError
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig

V1_HELP = """
The kv backend reads and writes arbitrary secrets to the backend.
The secrets are encrypted/decrypted by OpenBao: they are never stored
unencrypted in the backend and the backend never has an opportunity to
see the unencrypted value.

Key/value pairs can be stored and read. Keys may be nested with slashes.
"""

V2_HELP = """
This backend provides a versioned key-value store. The kv backend reads and
writes arbitrary secrets to the storage backend. The secrets are
encrypted/decrypted by OpenBao: they are never stored unencrypted in the backend
and the backend never has an opportunity to see the unencrypted value. Each key
can have a configured number of versions, and versions can be retrieved based on
their version numbers.
"""


async def _upgrade(config: BackendConfig) -> None:
    await upgrade_v1_layout(config.storage, config.clock)


async def kv_factory(config: BackendConfig) -> Backend:
    """A KV engine of the version in config.options["version"] ("1" when absent)."""
    version = str(config.options.get("version", "1") or "1")
    if version == "1":
        return FrameworkBackend(paths_v1.paths(config.system), help=V1_HELP)
    if version == "2":
        engine = KVEngine(config.clock)
        return FrameworkBackend(
            [
                *paths_config.paths(),
                *paths_data.paths(engine),
                *paths_metadata.paths(engine),
                *paths_versions.paths(engine),
                *paths_subkeys.paths(engine),
                *paths_invalid.paths(),
            ],
            help=V2_HELP,
            on_initialize=lambda: _upgrade(config),
        )
    raise ConfigError(f"unsupported kv version {version!r}: expected 1 or 2")
