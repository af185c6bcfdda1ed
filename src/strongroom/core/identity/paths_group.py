"""identity/group, group/id, group/name, group-alias, group-alias/id and lookup/group. Layer: core."""

from __future__ import annotations

from strongroom.core.identity.common import given, lookup_record
from strongroom.core.identity.views import group_alias_key_info, group_alias_view, group_key_info, group_view
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import Group, GroupStore
from strongroom.logical import Operation, Request, Response

_GROUP_FIELDS = {
    "id": Field(FieldType.STRING, "ID of the group. If set, updates the corresponding existing group."),
    "type": Field(FieldType.STRING, "Type of the group, 'internal' or 'external'. Defaults to 'internal'"),
    "name": Field(FieldType.STRING, "Name of the group."),
    "metadata": Field(FieldType.KV_PAIRS, "Metadata to be associated with the group."),
    "policies": Field(FieldType.COMMA_STRING_LIST, "Policies to be tied to the group."),
    "member_group_ids": Field(FieldType.COMMA_STRING_LIST, "Group IDs to be assigned as group members."),
    "member_entity_ids": Field(FieldType.COMMA_STRING_LIST, "Entity IDs to be assigned as group members."),
}
_ALIAS_FIELDS = {
    "id": Field(FieldType.STRING, "ID of the group alias."),
    "name": Field(FieldType.STRING, "Alias of the group."),
    "mount_accessor": Field(FieldType.STRING, "Mount accessor to which this alias belongs to."),
    "canonical_id": Field(FieldType.STRING, "ID of the group to which this is an alias."),
}


def paths(groups: GroupStore) -> list[Path]:
    """The group paths of the identity backend."""

    def view(group: Group | None) -> Response | None:
        return None if group is None else Response(data=group_view(group, groups))

    async def write(data: FieldData, group_id: str, name: str) -> Response | None:
        group, created = await groups.write_group(
            group_id=group_id,
            name=name,
            kind=data.get("type") or None,
            policies=given(data, "policies"),
            metadata=given(data, "metadata"),
            member_entity_ids=given(data, "member_entity_ids"),
            member_group_ids=given(data, "member_group_ids"),
        )
        return Response(data={"id": group.id, "name": group.name}) if created else None

    async def create(_request: Request, data: FieldData) -> Response | None:
        return await write(data, data.get("id"), data.get("name"))

    async def update_by_id(_request: Request, data: FieldData) -> Response | None:
        return await write(data, data.get("id"), data.get("name"))

    async def update_by_name(_request: Request, data: FieldData) -> Response | None:
        return await write(data, "", data.get("name"))

    async def read_by_id(_request: Request, data: FieldData) -> Response | None:
        return view(groups.group(data.get("id")))

    async def read_by_name(_request: Request, data: FieldData) -> Response | None:
        return view(groups.group_by_name(data.get("name")))

    async def delete_by_id(_request: Request, data: FieldData) -> Response | None:
        await groups.delete_group(data.get("id"))
        return None

    async def delete_by_name(_request: Request, data: FieldData) -> Response | None:
        group = groups.group_by_name(data.get("name"))
        if group is not None:
            await groups.delete_group(group.id)
        return None

    async def list_ids(_request: Request, _data: FieldData) -> Response | None:
        every = groups.groups()
        if not every:
            return None
        key_info = {g.id: group_key_info(g, groups) for g in every}
        return Response(data={"keys": [g.id for g in every], "key_info": key_info})

    async def list_names(_request: Request, _data: FieldData) -> Response | None:
        every = groups.groups()
        return Response(data={"keys": sorted(g.name for g in every)}) if every else None

    async def write_alias(_request: Request, data: FieldData) -> Response | None:
        alias = await groups.write_alias(
            alias_id=data.get("id"),
            name=data.get("name"),
            mount_accessor=data.get("mount_accessor"),
            canonical_id=data.get("canonical_id"),
        )
        return Response(data={"canonical_id": alias.canonical_id, "id": alias.id})

    async def read_alias(_request: Request, data: FieldData) -> Response | None:
        alias = groups.alias(data.get("id"))
        return (
            None
            if alias is None
            else Response(
                data={
                    **group_alias_view(alias),
                    "custom_metadata": None,
                    "local": False,
                    "namespace_id": "root",
                }
            )
        )

    async def delete_alias(_request: Request, data: FieldData) -> Response | None:
        await groups.delete_alias(data.get("id"))
        return None

    async def list_aliases(_request: Request, _data: FieldData) -> Response | None:
        every = groups.aliases()
        if not every:
            return None
        key_info = {a.id: group_alias_key_info(a) for a in every}
        return Response(data={"keys": [a.id for a in every], "key_info": key_info})

    async def lookup(_request: Request, data: FieldData) -> Response | None:
        group = lookup_record(data, groups.group_by_name, groups.group, groups.alias, groups.alias_by_factors)
        return view(group)

    by_id = {Operation.UPDATE: update_by_id, Operation.READ: read_by_id, Operation.DELETE: delete_by_id}
    by_name = {
        Operation.UPDATE: update_by_name,
        Operation.READ: read_by_name,
        Operation.DELETE: delete_by_name,
    }
    alias_by_id = {Operation.UPDATE: write_alias, Operation.READ: read_alias, Operation.DELETE: delete_alias}
    return [
        Path("group", _GROUP_FIELDS, {Operation.UPDATE: create}, synopsis="Create a new group."),
        Path("group/id/?", {}, {Operation.LIST: list_ids}, synopsis="List all the group IDs."),
        Path(
            "group/id/{id}", _GROUP_FIELDS, by_id, synopsis="Update or delete an existing group using its ID."
        ),
        Path("group/name/?", {}, {Operation.LIST: list_names}, synopsis="List all the group names."),
        Path("group/name/{name}", _GROUP_FIELDS, by_name, synopsis="Update, read or delete a group by name."),
        Path(
            "group-alias",
            _ALIAS_FIELDS,
            {Operation.UPDATE: write_alias},
            synopsis="Create a new group alias.",
        ),
        Path(
            "group-alias/id/?", {}, {Operation.LIST: list_aliases}, synopsis="List all the group alias IDs."
        ),
        Path(
            "group-alias/id/{id}",
            _ALIAS_FIELDS,
            alias_by_id,
            synopsis="Update, read or delete a group alias.",
        ),
        Path(
            "lookup/group",
            {
                "type": Field(
                    FieldType.STRING, "Type of lookup. Current supported values are 'id' and 'name'."
                ),
                "name": Field(FieldType.STRING, "Name of the group."),
                "id": Field(FieldType.STRING, "ID of the group."),
                "alias_id": Field(FieldType.STRING, "ID of the alias."),
                "alias_name": Field(FieldType.STRING, "Name of the alias."),
                "alias_mount_accessor": Field(
                    FieldType.STRING, "Accessor of the mount the alias belongs to."
                ),
            },
            {Operation.UPDATE: lookup},
            synopsis="Query groups based on various properties.",
        ),
    ]
