"""The "database" secrets engine factory (Vault's builtin database backend with its PostgreSQL plugin).

Layer: builtin. Imports framework, logical and the engine's path modules. Connections are opened on first
use and closed when the mount is disabled or the server seals; static role rotations run in between.
"""

from __future__ import annotations

from strongroom.builtin.secrets.database import paths_config, paths_creds, paths_roles, paths_static
from strongroom.builtin.secrets.database.rotation import Rotator
from strongroom.builtin.secrets.database.store import DatabaseStore
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig

HELP = """
The database backend supports using many different databases
as secret backends, including but not limited to:
cassandra, mssql, mysql, postgres

After mounting this backend, configure it using the endpoints within
the "database/config/" path.
"""


async def database_factory(config: BackendConfig) -> Backend:
    """A database secrets engine over the mount's storage; PostgreSQL is its one plugin. Its static roles'
    rotations run from initialize (unseal, or becoming the active server) until cleanup."""
    store = DatabaseStore(config.storage, config.system)
    rotator = Rotator(store, config.clock, config.events, config.mount_path)
    creds_paths, creds = paths_creds.paths(store, config.system, config.clock)

    async def initialize() -> None:
        await store.load_pending_roots()
        await rotator.start()

    async def cleanup() -> None:
        await rotator.stop()
        await store.close_all()

    return FrameworkBackend(
        [
            *paths_config.paths(store),
            *paths_roles.paths(store),
            *paths_static.paths(store, rotator, config.clock),
            *creds_paths,
        ],
        help=HELP,
        secrets=[creds],
        on_initialize=initialize,
        on_cleanup=cleanup,
    )
