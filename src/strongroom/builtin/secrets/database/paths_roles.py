"""roles/<name> (create, update, read, delete) and roles/ (LIST): dynamic roles. Layer: builtin.

Imports framework, logical, errors and the engine's modules. As in Vault, a field left out of an update
keeps its value, and one left out of a create takes its default; the named connection need not exist yet.
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.database.common import NAME_FIELD, checked_name, password_policy_of
from strongroom.builtin.secrets.database.models import Role
from strongroom.builtin.secrets.database.store import DatabaseStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

STATEMENT_FIELDS: dict[str, str] = {
    "creation_statements": (
        "Statements executed to create and configure a user: {{name}}, {{password}} and {{expiration}} "
        "are filled in."
    ),
    "revocation_statements": (
        "Statements executed to revoke a user ({{name}} is filled in). Default: revoke its privileges, "
        "then DROP ROLE."
    ),
    "renew_statements": (
        "Statements executed to renew a user ({{name}}, {{expiration}}). Default: ALTER ROLE ... VALID UNTIL."
    ),
    "rollback_statements": "Statements to roll back a failed creation (kept; PostgreSQL does not run them).",
}
ROLE_FIELDS: dict[str, Field] = {
    "name": NAME_FIELD,
    "db_name": Field(FieldType.STRING, "Name of the database connection this role uses."),
    **{name: Field(FieldType.STRING_LIST, text) for name, text in STATEMENT_FIELDS.items()},
    "default_ttl": Field(FieldType.DURATION, "Default TTL of the credentials' leases."),
    "max_ttl": Field(FieldType.DURATION, "Maximum TTL of the credentials' leases."),
    "credential_type": Field(FieldType.STRING, "The type of credential to manage: only password."),
    "credential_config": Field(
        FieldType.KV_PAIRS, "The configuration for the given credential_type: password_policy."
    ),
}


def paths(store: DatabaseStore) -> list[Path]:
    """The role and role list paths."""

    async def exists(request: Request, data: FieldData) -> bool:
        return await store.role(checked_name(data)) is not None

    async def write(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        if await store.static_role(name) is not None:
            raise InvalidRequestError("Role and Static Role names must be unique")
        creating = request.operation is Operation.CREATE
        role = await store.role(name) or Role(name=name, db_name="")
        changes: dict[str, Any] = {}
        for field_name in ("db_name", *STATEMENT_FIELDS, "default_ttl", "max_ttl"):
            value, supplied = data.get_ok(field_name)
            if supplied or creating:
                changes[field_name] = tuple(value) if isinstance(value, list) else value
        if not changes.get("db_name", role.db_name):
            raise InvalidRequestError("database name is required")
        credential_type, supplied = data.get_ok("credential_type")
        if supplied and credential_type != "password":
            raise InvalidRequestError(f'credential_type "{credential_type}" is not supported: only password')
        policy, supplied = password_policy_of(data)
        if supplied or creating:
            changes["password_policy"] = policy
        if "revocation_statements" in changes:
            changes["revocation_statements"] = tuple(s for s in changes["revocation_statements"] if s)
        await store.save_role(role.evolve(**changes))
        return None

    async def read(request: Request, data: FieldData) -> Response | None:
        role = await store.role(checked_name(data))
        return None if role is None else Response(data=role.read_data())

    async def delete(request: Request, data: FieldData) -> Response | None:
        await store.delete_role(checked_name(data))
        return None

    async def list_roles(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": await store.role_names()})

    return [
        Path(
            "roles/{name}",
            fields=ROLE_FIELDS,
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Manage the roles that can be created with this backend.",
            description=(
                "A role names a database connection and the SQL statements that create, renew and revoke "
                "the users its credentials are, with the TTLs of their leases."
            ),
        ),
        Path(
            "roles/?",
            operations={Operation.LIST: list_roles},
            synopsis="Manage the roles that can be created with this backend.",
            description="Lists the names of the roles.",
        ),
    ]
