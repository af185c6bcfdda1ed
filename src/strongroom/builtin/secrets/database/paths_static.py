"""static-roles/<name> (create, update, read, delete), static-roles/ (LIST), static-creds/<name> (READ)
and rotate-role/<name> (UPDATE): database users whose passwords the engine rotates. Layer: builtin.

Imports framework, logical, errors and the engine's modules. As in Vault, creating a static role rotates
its user's password at once (a failure creates nothing), an update keeps the password and moves the next
rotation to match the new schedule, and a static role and a dynamic role never share a name.

Invariant: the password is in static-creds responses only; role reads, errors and events never carry it.
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.database.common import NAME_FIELD, checked_name, password_policy_of
from strongroom.builtin.secrets.database.models import StaticRole, rfc3339_nano
from strongroom.builtin.secrets.database.rotation import Rotator
from strongroom.builtin.secrets.database.schedule import (
    MIN_ROTATION_PERIOD,
    MIN_ROTATION_WINDOW,
    ScheduleError,
    next_rotation,
    parse_schedule,
)
from strongroom.builtin.secrets.database.store import DatabaseStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import Clock

UNIQUE_NAMES = "Role and Static Role names must be unique"
STATIC_FIELDS: dict[str, Field] = {
    "name": NAME_FIELD,
    "db_name": Field(FieldType.STRING, "Name of the database this role acts on."),
    "username": Field(FieldType.STRING, "Name of the static user account for the engine to manage."),
    "rotation_period": Field(
        FieldType.DURATION, "Period for automatic credential rotation of the given username."
    ),
    "rotation_schedule": Field(
        FieldType.STRING, "Schedule for automatic credential rotation (cron, five fields, UTC)."
    ),
    "rotation_window": Field(
        FieldType.DURATION,
        "How long after a scheduled time a failed rotation is retried (with rotation_schedule only).",
    ),
    "rotation_statements": Field(
        FieldType.STRING_LIST,
        "Statements that set the user's password ({{name}}, {{password}}). Default: ALTER ROLE.",
    ),
    "credential_type": Field(
        FieldType.STRING, "The type of credential to manage: only password.", default="password"
    ),
    "credential_config": Field(
        FieldType.KV_PAIRS, "The configuration for the given credential_type: password_policy."
    ),
}
_OTHER_CREDENTIAL_TYPES = ("rsa_private_key", "client_certificate")


def paths(store: DatabaseStore, rotator: Rotator, clock: Clock) -> list[Path]:
    """The static role, static creds and rotate-role paths."""

    async def exists(request: Request, data: FieldData) -> bool:
        return await store.static_role(checked_name(data)) is not None

    async def write(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        async with rotator.lock(name):
            if await store.role(name) is not None:
                raise InvalidRequestError(UNIQUE_NAMES)
            stored = await store.static_role(name)
            role = _apply(stored, name, data)
            if stored is None:
                await _create(role)
                return None
            role = role.evolve(
                next_vault_rotation=next_rotation(
                    role.rotation_period, role.rotation_schedule, role.last_vault_rotation
                )
            )
            await store.save_static_role(role)
            rotator.schedule(role)
        return None

    async def _create(role: StaticRole) -> None:
        try:
            await rotator.rotate(role)
        except InvalidRequestError:
            await store.delete_pending(role.name)
            raise

    async def read(request: Request, data: FieldData) -> Response | None:
        role = await store.static_role(checked_name(data))
        return None if role is None else Response(data=role.read_data())

    async def delete(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        async with rotator.lock(name):
            rotator.forget(name)
            await store.delete_static_role(name)
        return None

    async def list_roles(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": await store.static_role_names()})

    async def creds(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        role = await store.static_role(name)
        if role is None:
            raise InvalidRequestError(f"unknown role: {name}")
        config = await store.required_config(role.db_name)
        if not config.allows(name):
            raise InvalidRequestError(f'"{name}" is not an allowed role')
        ttl = max(0, round(role.next_vault_rotation - clock.now()))
        return Response(
            data={
                "last_vault_rotation": rfc3339_nano(role.last_vault_rotation),
                "password": role.password,
                "ttl": ttl,
                "username": role.username,
                **role.schedule_data(),
            }
        )

    async def rotate_role(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        async with rotator.lock(name):
            role = await store.static_role(name)
            if role is None:
                raise InvalidRequestError("no static role found for role name")
            try:
                await rotator.rotate(role)
            except InvalidRequestError as exc:
                raise InvalidRequestError(
                    "unable to finish rotating credentials; retries will continue in the background but it "
                    f"is also safe to retry manually: {exc}"
                ) from None
        return None

    name_only = {"name": NAME_FIELD}
    return [
        Path(
            "static-roles/{name}",
            fields=STATIC_FIELDS,
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Manage the static roles that can be created with this backend.",
            description=(
                "A static role names an existing database user whose password the engine rotates every "
                "rotation_period, or on the cron rotation_schedule. Creating one rotates the password at "
                "once."
            ),
        ),
        Path(
            "static-roles/?",
            operations={Operation.LIST: list_roles},
            synopsis="Manage the static roles that can be created with this backend.",
            description="Lists the names of the static roles.",
        ),
        Path(
            "static-creds/{name}",
            fields=name_only,
            operations={Operation.READ: creds},
            synopsis=(
                "Request database credentials for a certain static role. These credentials are rotated "
                "periodically."
            ),
            description=(
                "The user's current password, when it was last rotated, and the seconds (ttl) until the "
                "next rotation. The same password is returned until it is rotated."
            ),
        ),
        Path(
            "rotate-role/{name}",
            fields=name_only,
            operations={Operation.UPDATE: rotate_role},
            synopsis="Request to rotate the credentials for a static user account.",
            description="Sets a new password for the static role's user now; the schedule restarts from it.",
        ),
    ]


def _apply(stored: StaticRole | None, name: str, data: FieldData) -> StaticRole:
    """The role after a write, checked in Vault's order (a field left out of an update keeps its value)."""
    creating = stored is None
    role = stored or StaticRole(name=name, db_name="", username="")
    changes: dict[str, Any] = {}
    db_name, supplied = data.get_ok("db_name")
    if supplied or creating:
        changes["db_name"] = db_name
    if not changes.get("db_name", role.db_name):
        raise InvalidRequestError("database name is a required field")
    username: str = data.get("username")
    if not username and creating:
        raise InvalidRequestError("username is a required field to create a static account")
    if role.username and username and role.username != username:
        raise InvalidRequestError("cannot update static account username")
    if username:
        changes["username"] = username
    changes.update(_schedule_changes(data, creating))
    statements, supplied = data.get_ok("rotation_statements")
    if supplied or creating:
        changes["rotation_statements"] = tuple(statements)
    policy, supplied = password_policy_of(data)
    if supplied or creating:
        changes["password_policy"] = policy
    credential_type, supplied = data.get_ok("credential_type")
    if supplied:
        if credential_type in _OTHER_CREDENTIAL_TYPES:
            raise InvalidRequestError(f'unsupported credential_type: "{credential_type}"')
        if credential_type != "password":
            raise InvalidRequestError(f'invalid credential_type "{credential_type}"')
    return role.evolve(**changes)


def _schedule_changes(data: FieldData, creating: bool) -> dict[str, Any]:
    """rotation_period, or rotation_schedule and rotation_window, as Vault checks them: one of the two
    ways, never both; setting one clears the other."""
    period, has_period = data.get_ok("rotation_period")
    schedule, has_schedule = data.get_ok("rotation_schedule")
    window, has_window = data.get_ok("rotation_window")
    if has_period and has_schedule:
        raise InvalidRequestError(
            "mutually exclusive fields rotation_period and rotation_schedule were both specified; only one "
            "of them can be provided"
        )
    if creating and not has_period and not has_schedule:
        raise InvalidRequestError(
            "one of rotation_schedule or rotation_period must be provided to create a static account"
        )
    if has_period:
        if period < MIN_ROTATION_PERIOD:
            raise InvalidRequestError(f"rotation_period must be {MIN_ROTATION_PERIOD} seconds or more")
        if has_window:
            raise InvalidRequestError("rotation_window is invalid with use of rotation_period")
        return {"rotation_period": period, "rotation_schedule": "", "rotation_window": 0}
    if has_schedule:
        try:
            parse_schedule(schedule)
        except ScheduleError as exc:
            raise InvalidRequestError(f"could not parse rotation_schedule: {exc}") from None
        changes: dict[str, Any] = {"rotation_schedule": schedule, "rotation_period": 0}
        if has_window:
            if window < MIN_ROTATION_WINDOW:
                raise InvalidRequestError(
                    "rotation_window is invalid: rotation_window must be "
                    f"{MIN_ROTATION_WINDOW} seconds or more"
                )
            changes["rotation_window"] = window
        return changes
    if has_window:
        raise InvalidRequestError("rotation_window is invalid with use of rotation_period")
    return {}
