"""config/<name> (create, update, read, delete), config/ (LIST), reset/<name> and rotate-root/<name>.

Layer: builtin. Imports framework, logical, errors and the engine's modules. As Vault does, every request
parameter that is not a setting of the engine (connection_url, username, password, max_open_connections,
anything else) is kept as a connection detail; the password is never shown again.

Invariant: the root password is never in a response: reads drop it, rotate-root answers with nothing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from strongroom.builtin.secrets.database.common import NAME_FIELD, checked_name
from strongroom.builtin.secrets.database.models import DatabaseConfig
from strongroom.builtin.secrets.database.plugin import PLUGIN_NAMES, open_plugin
from strongroom.builtin.secrets.database.store import DatabaseStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

# The engine's own settings; every other parameter is a connection detail.
ENGINE_FIELDS: dict[str, Field] = {
    "name": NAME_FIELD,
    "plugin_name": Field(
        FieldType.STRING, "The name of a builtin or previously registered plugin known to OpenBao."
    ),
    "plugin_version": Field(FieldType.STRING, "The version of the plugin to use."),
    "verify_connection": Field(
        FieldType.BOOL, "If true, the connection details are verified by actually connecting.", default=True
    ),
    "allowed_roles": Field(
        FieldType.COMMA_STRING_LIST, 'Roles allowed to use this connection; "*" allows every role.'
    ),
    "root_rotation_statements": Field(
        FieldType.STRING_LIST, "Statements to execute to rotate the root user's password."
    ),
    "password_policy": Field(FieldType.STRING, "Password policy to use when generating passwords."),
}
_DETAIL_FIELDS: dict[str, Field] = {
    "connection_url": Field(
        FieldType.STRING, "Connection string, with {{username}} and {{password}} templates."
    ),
    "username": Field(FieldType.STRING, "The root user to connect as."),
    "password": Field(FieldType.STRING, "The root user's password."),
    "max_open_connections": Field(FieldType.INT, "Accepted for compatibility; one connection is kept."),
    "max_idle_connections": Field(FieldType.INT, "Accepted for compatibility; one connection is kept."),
    "max_connection_lifetime": Field(FieldType.DURATION, "Accepted for compatibility."),
}
# Connection details the plugin would use but this engine does not implement: refused, not ignored.
_UNSUPPORTED_DETAILS = ("username_template", "private_key", "password_authentication", "tls_server_name")
PASSWORD_IN_URL = (
    "Password found in connection_url, use a templated url to enable root rotation and prevent read access "
    "to password information."
)


def paths(store: DatabaseStore) -> list[Path]:
    """The config, config list, reset and rotate-root paths."""

    async def exists(request: Request, data: FieldData) -> bool:
        return await store.config(checked_name(data)) is not None

    async def write(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        creating = request.operation is Operation.CREATE
        async with store.lock:
            config = await store.config(name)
            updated = _apply(config, name, request, data, creating)
            connection = open_plugin(updated)
            if data.get("verify_connection"):
                await connection.verify()
            await store.save_config(updated, connection)
        url = urlsplit(updated.connection_url)
        if url.password and "{{password}}" not in url.password:
            return Response(warnings=(PASSWORD_IN_URL,))
        return None

    async def read(request: Request, data: FieldData) -> Response | None:
        config = await store.config(checked_name(data))
        return None if config is None else Response(data=config.read_data())

    async def delete(request: Request, data: FieldData) -> Response | None:
        async with store.lock:
            await store.delete_config(checked_name(data))
        return None

    async def list_configs(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": await store.config_names()})

    async def reset(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        await store.required_config(name)
        await store.reset(name)
        return None

    async def rotate_root(request: Request, data: FieldData) -> Response | None:
        await store.rotate_root(checked_name(data))
        return None

    name_only = {"name": NAME_FIELD}
    return [
        Path(
            "config/{name}",
            fields={**ENGINE_FIELDS, **_DETAIL_FIELDS},
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            any_data=True,
            synopsis="Configure connection details to a database plugin.",
            description=(
                "This path configures the connection details used to connect to a particular database. "
                "The plugins are postgresql-database-plugin (a libpq URL) and mysql-database-plugin with its "
                "mysql-aurora, mysql-rds and mysql-legacy variants (a Go MySQL DSN; TLS from tls_ca, "
                "tls_certificate_key and tls_skip_verify); connection_url may hold {{username}} and "
                "{{password}} templates, filled from the username and password parameters."
            ),
        ),
        Path(
            "config/?",
            operations={Operation.LIST: list_configs},
            synopsis="Configure connection details to a database plugin.",
            description="Lists the names of the configured connections.",
        ),
        Path(
            "reset/{name}",
            fields=name_only,
            operations={Operation.UPDATE: reset},
            synopsis="Resets a database plugin.",
            description="Closes the connection; the next request opens a new one from the stored config.",
        ),
        Path(
            "rotate-root/{name}",
            fields=name_only,
            operations={Operation.UPDATE: rotate_root},
            synopsis="Request to rotate the root credentials for a certain database connection.",
            description=(
                "Sets a new random password for the configured root user (ALTER ROLE, or the configured "
                "root_rotation_statements) and stores it, written ahead: a rotation cut short is settled "
                "by logging in with the new password, else the old. The new password is never returned."
            ),
        ),
    ]


def _apply(
    config: DatabaseConfig | None, name: str, request: Request, data: FieldData, creating: bool
) -> DatabaseConfig:
    """The config after a write, checked in Vault's order (plugin name first)."""
    plugin, supplied = data.get_ok("plugin_name")
    plugin = plugin if supplied or config is None else config.plugin_name
    if not plugin:
        raise InvalidRequestError("empty plugin name")
    if plugin not in PLUGIN_NAMES:
        raise InvalidRequestError(
            f'error creating database object: plugin "{plugin}" is not available: only '
            f"{', '.join(PLUGIN_NAMES)} are supported"
        )
    for detail in _UNSUPPORTED_DETAILS:
        if detail in request.data:
            raise InvalidRequestError(f"{detail} is not supported by this server")
    details: dict[str, Any] = dict(config.details) if config is not None else {}
    details.update({k: v for k, v in request.data.items() if k not in ENGINE_FIELDS})
    # The three the plugin uses itself are kept apart from the details shown as given.
    current = {"connection_url": "", "username": "", "password": ""}
    if config is not None:
        current = {
            "connection_url": config.connection_url,
            "username": config.username,
            "password": config.password,
        }
    url, username, password = (
        data.get(key) if key in details else current[key]
        for key in ("connection_url", "username", "password")
    )
    for key in current:
        details.pop(key, None)
    if not url:
        raise InvalidRequestError("error creating database object: connection_url cannot be empty")
    base = config or DatabaseConfig(name=name, plugin_name=plugin, connection_url=url)
    changes: dict[str, Any] = {
        "plugin_name": plugin,
        "connection_url": url,
        "username": username,
        "password": password,
        "details": details,
    }
    for field_name in ("allowed_roles", "root_rotation_statements"):
        value, supplied = data.get_ok(field_name)
        if supplied or creating:
            changes[field_name] = tuple(value)
    policy, supplied = data.get_ok("password_policy")
    if supplied or creating:
        changes["password_policy"] = policy
    version, supplied = data.get_ok("plugin_version")
    if supplied:
        changes["plugin_version"] = version
    return base.evolve(**changes)
