"""What the engine asks of a database plugin, and the table of plugins by Vault's names.

Layer: builtin (domain logic). Imports the engine's models and its plugin modules (which load their
drivers lazily, so only the plugins in use cost anything).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from strongroom.builtin.secrets.database.models import POSTGRESQL_PLUGIN, DatabaseConfig
from strongroom.builtin.secrets.database.mysql import MYSQL_PLUGINS, MySQL
from strongroom.builtin.secrets.database.postgresql import PostgreSQL
from strongroom.errors import InvalidRequestError

PLUGIN_NAMES = (POSTGRESQL_PLUGIN, *MYSQL_PLUGINS)


class DatabasePlugin(Protocol):
    """One configured database connection: Vault's dbplugin v5 operations, errors as InvalidRequestError
    with no secret in them."""

    def username(self, display_name: str, role: str, now: float) -> str:
        """A new dynamic user's name, from the plugin's default username template."""
        ...

    async def verify(self) -> None: ...

    async def close(self) -> None: ...

    async def new_user(
        self, statements: Sequence[str], username: str, password: str, expiration: float
    ) -> None: ...

    async def renew_user(self, statements: Sequence[str], username: str, expiration: float) -> None: ...

    async def revoke_user(self, statements: Sequence[str], username: str) -> None: ...

    async def set_password(self, statements: Sequence[str], username: str, password: str) -> None: ...

    async def rotate_root(self, statements: Sequence[str], new_password: str) -> None: ...


def open_plugin(config: DatabaseConfig) -> DatabasePlugin:
    """The plugin `config` names (not yet connected)."""
    if config.plugin_name == POSTGRESQL_PLUGIN:
        return PostgreSQL(config)
    if config.plugin_name in MYSQL_PLUGINS:
        return MySQL(config)
    raise InvalidRequestError(f'plugin "{config.plugin_name}" is not available')
