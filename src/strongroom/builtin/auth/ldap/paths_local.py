"""`groups/<name>` and `users/<name>`: policies for directory groups, extra groups and policies for users.

Layer: builtin. Imports framework, logical, util and this package's models. Names are folded to lower case
unless the config sets case_sensitive_names (as Vault: the stored key follows the config at write time);
the backend folds the request path the same way before the ACL check (backend.py).
"""

from __future__ import annotations

from strongroom.builtin.auth.ldap.models import GROUP_PREFIX, USER_PREFIX, NamedStore, load_config
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.policies import parse_policies

_NAME_GROUP = Field(FieldType.STRING, "Name of the LDAP group.")
_NAME_USER = Field(FieldType.STRING, "Name of the LDAP user.")
_POLICIES = Field(FieldType.COMMA_STRING_LIST, "Comma-separated list of policies associated to the group.")
_GROUPS = Field(
    FieldType.COMMA_STRING_LIST, "Comma-separated list of additional groups associated with the user."
)


def _store(request: Request, prefix: str) -> NamedStore:
    assert request.storage is not None
    return NamedStore(request.storage, prefix)


async def _folded(request: Request, data: FieldData) -> str:
    assert request.storage is not None
    return (await load_config(request.storage)).fold(data.get("name"))


async def list_groups(request: Request, _data: FieldData) -> Response:
    names = await _store(request, GROUP_PREFIX).names()
    return Response(data={"keys": names} if names else {})


async def read_group(request: Request, data: FieldData) -> Response | None:
    record = await _store(request, GROUP_PREFIX).get(await _folded(request, data))
    return None if record is None else Response(data={"policies": record.get("policies") or []})


async def write_group(request: Request, data: FieldData) -> None:
    policies = list(parse_policies(data.get("policies")))
    await _store(request, GROUP_PREFIX).put(await _folded(request, data), {"policies": policies})


async def delete_group(request: Request, data: FieldData) -> None:
    # Folded as the other operations fold it (Vault deletes the name as written, so "groups/Ops" is kept).
    await _store(request, GROUP_PREFIX).delete(await _folded(request, data))


async def list_users(request: Request, _data: FieldData) -> Response:
    names = await _store(request, USER_PREFIX).names()
    return Response(data={"keys": names} if names else {})


async def read_user(request: Request, data: FieldData) -> Response | None:
    record = await _store(request, USER_PREFIX).get(await _folded(request, data))
    if record is None:
        return None
    # Vault answers the groups as one comma-joined string and the policies as a list.
    return Response(
        data={"groups": ",".join(record.get("groups") or []), "policies": record.get("policies") or []}
    )


async def write_user(request: Request, data: FieldData) -> None:
    assert request.storage is not None
    config = await load_config(request.storage)
    groups: dict[str, None] = {}
    for group in data.get("groups"):
        # Vault's strutil.RemoveDuplicates: trimmed, lower-cased when names are not case-sensitive, sorted.
        trimmed = config.fold(group.strip())
        if trimmed:
            groups[trimmed] = None
    record = {"groups": sorted(groups), "policies": list(parse_policies(data.get("policies")))}
    await _store(request, USER_PREFIX).put(config.fold(data.get("name")), record)


async def delete_user(request: Request, data: FieldData) -> None:
    await _store(request, USER_PREFIX).delete(await _folded(request, data))


def paths() -> list[Path]:
    """The groups/ and users/ declarations."""
    return [
        Path(
            "groups/?",
            operations={Operation.LIST: list_groups},
            synopsis="Manage additional groups for users allowed to authenticate.",
        ),
        Path(
            "groups/{name*}",
            fields={"name": _NAME_GROUP, "policies": _POLICIES},
            operations={
                Operation.READ: read_group,
                Operation.UPDATE: write_group,
                Operation.DELETE: delete_group,
            },
            synopsis="Manage additional groups for users allowed to authenticate.",
            description="This endpoint allows you to create, read, update, and delete configuration for LDAP "
            "groups that are allowed to authenticate, and associate policies to them.",
        ),
        Path(
            "users/?",
            operations={Operation.LIST: list_users},
            synopsis="Manage users allowed to authenticate.",
        ),
        Path(
            "users/{name*}",
            fields={
                "name": _NAME_USER,
                "groups": _GROUPS,
                "policies": Field(
                    FieldType.COMMA_STRING_LIST, "Comma-separated list of policies associated with the user."
                ),
            },
            operations={
                Operation.READ: read_user,
                Operation.UPDATE: write_user,
                Operation.DELETE: delete_user,
            },
            synopsis="Manage users allowed to authenticate.",
            description="This endpoint allows you to create, read, update, and delete configuration for LDAP "
            "users that are allowed to authenticate, in particular associating additional groups to them.",
        ),
    ]
