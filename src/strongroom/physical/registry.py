"""The physical backends a server config can name: one literal table, no import-time discovery.

Layer: physical (imports the backends of this package, errors, and os for the environment only). The
PostgreSQL backend, and psycopg with it, is imported only by a server configured to use it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping

from strongroom.errors import ConfigError
from strongroom.physical.base import PhysicalBackend
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.sqlite import SYNCHRONOUS, SQLiteBackend

PhysicalFactory = Callable[[Mapping[str, str]], Awaitable[PhysicalBackend]]


async def _inmem(config: Mapping[str, str]) -> PhysicalBackend:
    return InmemBackend()


async def _sqlite(config: Mapping[str, str]) -> PhysicalBackend:
    path = config.get("path", "")
    if not path:
        raise ConfigError('storage "sqlite": "path" is required')
    synchronous = config.get("synchronous", "full").lower()
    if synchronous not in SYNCHRONOUS:
        raise ConfigError(f'storage "sqlite": "synchronous" must be one of {", ".join(SYNCHRONOUS)}')
    return SQLiteBackend(path, synchronous)


async def _postgresql(config: Mapping[str, str]) -> PhysicalBackend:
    from strongroom.physical.postgresql import open_postgresql

    return await open_postgresql(config, os.environ)


BACKENDS: Mapping[str, PhysicalFactory] = {
    "inmem": _inmem,
    "postgresql": _postgresql,
    "sqlite": _sqlite,
}


async def create_backend(name: str, config: Mapping[str, str]) -> PhysicalBackend:
    """The backend `name` built from its `config` block; ConfigError for an unknown name or bad config."""
    factory = BACKENDS.get(name)
    if factory is None:
        raise ConfigError(f"unknown storage type {name!r}; known: {', '.join(sorted(BACKENDS))}")
    return await factory(config)
