"""The database engine's records and live connections for one mount, and the root password's rotation.
Layer: builtin.

Imports logical (Storage), util and the engine's models and plugin. A connection follows its config: saving
or deleting a config closes the old connection, so the next use connects with what is stored now.

A root rotation writes ahead, as a static role's does: the new password is stored (root-wal/<name>, behind
the barrier) before the database is touched, and the config takes it only once the database has. A
rotation that did not reach its confirm (its statement failed, or the server died, or storage failed) is
settled by logging in: the pending password if it works (the database took it), else the stored one if
that works (it did not), and otherwise (the database is out of reach) it stays pending. Settling happens
right after a failed statement, at mount initialization (unseal, or becoming active) and on the next use of
the connection (`required_config`).

Invariant: writes that read-modify-write a record (config saves, root rotation) run under `lock`.
Invariant: a pending root password is dropped only when the stored one has been seen to log in (or the
config is deleted), so the database's root password is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import string

from strongroom.builtin.secrets.database.models import (
    CONFIG_PREFIX,
    ROLE_PREFIX,
    ROOT_WAL_PREFIX,
    STATIC_ROLE_PREFIX,
    STATIC_WAL_PREFIX,
    DatabaseConfig,
    Role,
    StaticRole,
)
from strongroom.builtin.secrets.database.plugin import DatabasePlugin, open_plugin
from strongroom.errors import InvalidRequestError
from strongroom.logical import Storage, SystemView, get_json, put_json
from strongroom.logical.backend import StaticSystemView

log = logging.getLogger(__name__)

# Vault's default password policy for database credentials: 20 characters, at least one of each class.
PASSWORD_LENGTH = 20
PASSWORD_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, "-")


def generate_password() -> str:
    """A password from Vault's default policy."""
    alphabet = "".join(PASSWORD_CLASSES)
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(PASSWORD_LENGTH))
        if all(any(c in group for c in candidate) for group in PASSWORD_CLASSES):
            return candidate


def missing_connection(name: str) -> str:
    """Vault's words for a config that does not exist."""
    return f'failed to find entry for connection with name: "{name}"'


class DatabaseStore:
    """One mount's configs and roles, and a live connection per config."""

    def __init__(self, storage: Storage, system: SystemView | None = None) -> None:
        self._storage = storage
        self._system = system or StaticSystemView()
        self._connections: dict[str, DatabasePlugin] = {}
        # Configs with a pending root password not yet settled (loaded at initialization).
        self._unsettled: set[str] = set()
        self.lock = asyncio.Lock()

    # Configs.

    async def config(self, name: str) -> DatabaseConfig | None:
        raw = await get_json(self._storage, CONFIG_PREFIX + name)
        return None if raw is None else DatabaseConfig.from_json(raw)

    async def required_config(self, name: str) -> DatabaseConfig:
        """The config `name` (its root rotation settled first if one is pending), or InvalidRequestError
        with Vault's words."""
        if name in self._unsettled:
            async with self.lock:
                return await self._settled(await self._existing_config(name))
        return await self._existing_config(name)

    async def _existing_config(self, name: str) -> DatabaseConfig:
        config = await self.config(name)
        if config is None:
            raise InvalidRequestError(missing_connection(name))
        return config

    async def save_config(self, config: DatabaseConfig, connection: DatabasePlugin | None = None) -> None:
        """Store `config`; `connection`, already open on it, replaces the old one (which is closed)."""
        await put_json(self._storage, CONFIG_PREFIX + config.name, config.to_json())
        await self.reset(config.name)
        if connection is not None:
            self._connections[config.name] = connection

    async def delete_config(self, name: str) -> None:
        await self._storage.delete(CONFIG_PREFIX + name)
        await self._storage.delete(ROOT_WAL_PREFIX + name)
        self._unsettled.discard(name)
        await self.reset(name)

    async def config_names(self) -> list[str]:
        return await self._storage.list(CONFIG_PREFIX)

    # Connections.

    def connection(self, config: DatabaseConfig) -> DatabasePlugin:
        """The live connection of `config` (opened on first use)."""
        found = self._connections.get(config.name)
        if found is None:
            found = self._connections[config.name] = open_plugin(config)
        return found

    async def reset(self, name: str) -> None:
        """Close `name`'s connection; the next use opens a new one from the stored config."""
        connection = self._connections.pop(name, None)
        if connection is not None:
            await connection.close()

    async def close_all(self) -> None:
        for name in list(self._connections):
            await self.reset(name)

    # Roles.

    async def role(self, name: str) -> Role | None:
        raw = await get_json(self._storage, ROLE_PREFIX + name)
        return None if raw is None else Role.from_json(raw)

    async def save_role(self, role: Role) -> None:
        await put_json(self._storage, ROLE_PREFIX + role.name, role.to_json())

    async def delete_role(self, name: str) -> None:
        await self._storage.delete(ROLE_PREFIX + name)

    async def role_names(self) -> list[str]:
        return await self._storage.list(ROLE_PREFIX)

    # Static roles, and the password a rotation is setting (written ahead of the database).

    async def static_role(self, name: str) -> StaticRole | None:
        raw = await get_json(self._storage, STATIC_ROLE_PREFIX + name)
        return None if raw is None else StaticRole.from_json(raw)

    async def save_static_role(self, role: StaticRole) -> None:
        await put_json(self._storage, STATIC_ROLE_PREFIX + role.name, role.to_json())

    async def delete_static_role(self, name: str) -> None:
        await self._storage.delete(STATIC_ROLE_PREFIX + name)
        await self.delete_pending(name)

    async def static_role_names(self) -> list[str]:
        return await self._storage.list(STATIC_ROLE_PREFIX)

    async def pending_password(self, name: str) -> str | None:
        """The password a rotation of `name` began setting and has not confirmed, if any."""
        raw = await get_json(self._storage, STATIC_WAL_PREFIX + name)
        return None if raw is None else str(raw["new_password"])

    async def put_pending(self, name: str, password: str, started: float) -> None:
        await put_json(
            self._storage, STATIC_WAL_PREFIX + name, {"new_password": password, "started": started}
        )

    async def delete_pending(self, name: str) -> None:
        await self._storage.delete(STATIC_WAL_PREFIX + name)

    async def pending_names(self) -> list[str]:
        return await self._storage.list(STATIC_WAL_PREFIX)

    # The root password's rotation.

    async def rotate_root(self, name: str) -> None:
        """Give the root user of config `name` a new password, written ahead (see the module docstring);
        a failed statement's InvalidRequestError is raised once the outcome has been settled."""
        async with self.lock:
            config = await self._settled(await self._existing_config(name))
            if not config.username:
                raise InvalidRequestError("unable to rotate root credentials: no username in configuration")
            new_password = await self.new_password(config)
            await put_json(self._storage, ROOT_WAL_PREFIX + name, {"new_password": new_password})
            # Until confirmed, any failure (storage's too) leaves the rotation to be settled on next use.
            self._unsettled.add(name)
            try:
                await self.connection(config).rotate_root(config.root_rotation_statements, new_password)
            except InvalidRequestError:
                # The statements may have changed the password before failing (MySQL commits DDL at once).
                with contextlib.suppress(InvalidRequestError):
                    await self._settled(config)
                raise
            await self.save_config(config.evolve(password=new_password))
            await self._storage.delete(ROOT_WAL_PREFIX + name)
            self._unsettled.discard(name)

    async def load_pending_roots(self) -> None:
        """Note the root rotations a previous run left pending (at initialization)."""
        self._unsettled.update(await self._storage.list(ROOT_WAL_PREFIX))

    async def settle_roots(self) -> None:
        """Settle every pending root rotation now; one out of reach stays pending (and is logged)."""
        for name in sorted(self._unsettled):
            try:
                await self.required_config(name)
            except InvalidRequestError as exc:
                log.warning("database connection %s: pending root rotation not settled: %s", name, exc)
            except Exception as exc:  # storage trouble: the caller (the scheduler) must outlive it
                log.warning("database connection %s: pending root rotation: %s", name, type(exc).__name__)

    async def _settled(self, config: DatabaseConfig) -> DatabaseConfig:
        """`config` with its pending root rotation settled (the caller holds `lock`): the pending password
        if it logs in, else the stored one if it does; InvalidRequestError (still pending) if neither."""
        raw = await get_json(self._storage, ROOT_WAL_PREFIX + config.name)
        if raw is not None:
            pending = config.evolve(password=str(raw["new_password"]))
            if await _logs_in(pending):
                await self.save_config(pending)
                config = pending
            else:
                try:
                    await _verify(config)
                except InvalidRequestError as exc:
                    raise InvalidRequestError(
                        f"root credential rotation of {config.name!r} is unsettled: {exc}"
                    ) from None
            await self._storage.delete(ROOT_WAL_PREFIX + config.name)
            log.info("database connection %s: pending root rotation settled", config.name)
        self._unsettled.discard(config.name)
        return config

    # Passwords.

    async def new_password(self, config: DatabaseConfig, role_policy: str = "") -> str:
        """A password for a user of `config`: from the role's password policy, else the connection's,
        else Vault's default policy."""
        policy = role_policy or config.password_policy
        if not policy:
            return generate_password()
        try:
            return await self._system.generate_password_from_policy(policy)
        except InvalidRequestError as exc:
            raise InvalidRequestError(f"failed to generate password: {exc}") from None


async def _verify(config: DatabaseConfig) -> None:
    """Log in anew with `config`'s credentials; InvalidRequestError (no secret in it) if that fails."""
    plugin = open_plugin(config)
    try:
        await plugin.verify()
    finally:
        await plugin.close()


async def _logs_in(config: DatabaseConfig) -> bool:
    try:
        await _verify(config)
    except InvalidRequestError:
        return False
    return True
