"""The physical registry: literal names to factories, config errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.errors import ConfigError
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.registry import create_backend
from strongroom.physical.sqlite import SQLiteBackend


async def test_inmem_ignores_config() -> None:
    backend = await create_backend("inmem", {"path": "/ignored"})
    assert isinstance(backend, InmemBackend)


async def test_sqlite_opens_the_configured_path(tmp_path: Path) -> None:
    backend = await create_backend("sqlite", {"path": str(tmp_path / "x.db")})
    try:
        assert isinstance(backend, SQLiteBackend)
        assert backend.path == str(tmp_path / "x.db")
        assert (tmp_path / "x.db").exists()
    finally:
        await backend.close()


async def test_sqlite_without_path_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match='storage "sqlite": "path" is required'):
        await create_backend("sqlite", {})


async def test_unknown_name_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown storage type 'consul'; known: inmem, postgresql, sqlite"):
        await create_backend("consul", {})
