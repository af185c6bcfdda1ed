"""identity/entity-alias and entity-alias/id: the names an entity is known by at each auth mount.

Layer: core.
"""

from __future__ import annotations

from strongroom.core.identity.views import alias_key_info, alias_view
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import IdentityStore
from strongroom.logical import Operation, Request, Response

_ALIAS_FIELDS = {
    "id": Field(FieldType.STRING, "ID of the entity alias. If set, updates the corresponding entity alias."),
    "name": Field(FieldType.STRING, "Name of the alias."),
    "canonical_id": Field(FieldType.STRING, "Entity ID to which this alias belongs to"),
    "mount_accessor": Field(FieldType.STRING, "Mount accessor to which this alias belongs to"),
    "custom_metadata": Field(FieldType.KV_PAIRS, "User provided key-value pairs"),
    # Vault's older name for canonical_id.
    "entity_id": Field(FieldType.STRING, "Entity ID to which this alias belongs to"),
}


def paths(store: IdentityStore) -> list[Path]:
    """The entity-alias paths of the identity backend."""

    async def write(alias_id: str, data: FieldData) -> Response | None:
        if not alias_id and not (data.get("mount_accessor") and data.get("name")):
            raise InvalidRequestError("'id' or 'mount_accessor' and 'name' must be provided")
        custom, supplied = data.get_ok("custom_metadata")
        alias, changed = await store.write_alias(
            alias_id=alias_id,
            name=data.get("name"),
            mount_accessor=data.get("mount_accessor"),
            canonical_id=data.get("canonical_id") or data.get("entity_id"),
            custom_metadata=custom if supplied else None,
        )
        if changed or alias_id:
            return Response(data={"canonical_id": alias.canonical_id, "id": alias.id})
        return None

    async def create(_request: Request, data: FieldData) -> Response | None:
        return await write(data.get("id"), data)

    async def update(_request: Request, data: FieldData) -> Response | None:
        return await write(data.get("id"), data)

    async def read(_request: Request, data: FieldData) -> Response | None:
        alias = store.alias(data.get("id"))
        return None if alias is None else Response(data={**alias_view(alias), "namespace_id": "root"})

    async def delete(_request: Request, data: FieldData) -> Response | None:
        await store.delete_alias(data.get("id"))
        return None

    async def list_ids(_request: Request, _data: FieldData) -> Response | None:
        aliases = store.aliases()
        if not aliases:
            return None
        return Response(
            data={"keys": [a.id for a in aliases], "key_info": {a.id: alias_key_info(a) for a in aliases}}
        )

    return [
        Path("entity-alias", _ALIAS_FIELDS, {Operation.UPDATE: create}, synopsis="Create a new alias."),
        Path("entity-alias/id/?", {}, {Operation.LIST: list_ids}, synopsis="List all the alias IDs."),
        Path(
            "entity-alias/id/{id}",
            _ALIAS_FIELDS,
            {Operation.UPDATE: update, Operation.READ: read, Operation.DELETE: delete},
            synopsis="Update, read or delete an alias ID.",
        ),
    ]
