"""identity/entity, entity/id, entity/name, entity/batch-delete and lookup/entity. Layer: core."""

from __future__ import annotations

import orjson

from strongroom.core.identity.common import given, lookup_record
from strongroom.core.identity.views import entity_key_info, entity_view
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import Entity, IdentityStore
from strongroom.logical import Operation, Request, Response

_ENTITY_FIELDS = {
    "id": Field(FieldType.STRING, "ID of the entity. If set, updates the corresponding existing entity."),
    "name": Field(FieldType.STRING, "Name of the entity"),
    "metadata": Field(FieldType.KV_PAIRS, "Metadata to be associated with the entity."),
    "policies": Field(FieldType.COMMA_STRING_LIST, "Policies to be tied to the entity."),
    "disabled": Field(
        FieldType.BOOL, "If set true, tokens tied to this identity will not be able to be used."
    ),
}
_NAME_WARNING = (
    "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: "
    "[name]"
)


def _list(entities: list[Entity], *, by_name: bool) -> Response | None:
    if not entities:
        return None
    if by_name:
        return Response(data={"keys": sorted(e.name for e in entities)})
    return Response(
        data={"keys": [e.id for e in entities], "key_info": {e.id: entity_key_info(e) for e in entities}}
    )


def paths(store: IdentityStore) -> list[Path]:
    """The entity paths of the identity backend."""

    async def write(entity_id: str, data: FieldData, name: str | None) -> Response | None:
        entity, created = await store.write_entity(
            entity_id=entity_id,
            name=name,
            policies=given(data, "policies"),
            metadata=given(data, "metadata"),
            disabled=given(data, "disabled"),
        )
        if created:
            return Response(data={"aliases": None, "id": entity.id, "name": entity.name})
        return None

    async def create(_request: Request, data: FieldData) -> Response | None:
        entity_id, name = data.get("id"), data.get("name")
        if not entity_id and name:
            # Vault: a write naming an existing entity updates it.
            existing = store.entity_by_name(name)
            entity_id = existing.id if existing else ""
        return await write(entity_id, data, name or None)

    async def update_by_id(_request: Request, data: FieldData) -> Response | None:
        return await write(data.get("id"), data, data.get("name") or None)

    async def update_by_name(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        existing = store.entity_by_name(name)
        response = await write(existing.id if existing else "", data, None if existing else name)
        if response is not None and "name" in request.data:
            return response.with_warning(_NAME_WARNING)
        return response

    async def read_by_id(_request: Request, data: FieldData) -> Response | None:
        entity = store.entity(data.get("id"))
        return None if entity is None else Response(data=entity_view(entity, *store.memberships(entity.id)))

    async def read_by_name(_request: Request, data: FieldData) -> Response | None:
        entity = store.entity_by_name(data.get("name"))
        return None if entity is None else Response(data=entity_view(entity, *store.memberships(entity.id)))

    async def delete_by_id(_request: Request, data: FieldData) -> Response | None:
        await store.delete_entity(data.get("id"))
        return None

    async def delete_by_name(_request: Request, data: FieldData) -> Response | None:
        entity = store.entity_by_name(data.get("name"))
        if entity is not None:
            await store.delete_entity(entity.id)
        return None

    async def list_ids(_request: Request, _data: FieldData) -> Response | None:
        return _list(store.entities(), by_name=False)

    async def list_names(_request: Request, _data: FieldData) -> Response | None:
        return _list(store.entities(), by_name=True)

    async def batch_delete(_request: Request, data: FieldData) -> Response | None:
        ids = data.get("entity_ids")
        if not ids:
            raise InvalidRequestError("missing entity ids to delete")
        for entity_id in ids:
            await store.delete_entity(entity_id)
        return None

    async def merge(_request: Request, data: FieldData) -> Response | None:
        to_id, from_ids = data.get("to_entity_id"), data.get("from_entity_ids")
        if not to_id:
            raise InvalidRequestError("missing entity id to merge to")
        if not from_ids:
            raise InvalidRequestError("missing entity ids to merge from")
        clash = await store.merge(to_id, from_ids, data.get("conflicting_alias_ids_to_keep"))
        if clash is None:
            return None
        # Vault's shape for an error that carries data: a 400 with "errors" beside "data".
        body = {"errors": [clash.error], "data": [dict(c) for c in clash.clashes]}
        return Response(raw_body=orjson.dumps(body), status=400)

    async def lookup(_request: Request, data: FieldData) -> Response | None:
        entity = lookup_record(data, store.entity_by_name, store.entity, store.alias, store.alias_by_factors)
        return None if entity is None else Response(data=entity_view(entity, *store.memberships(entity.id)))

    return [
        Path(
            "entity",
            _ENTITY_FIELDS,
            {Operation.UPDATE: create},
            synopsis="Create a new entity",
        ),
        Path(
            "entity/id/?",
            {},
            {Operation.LIST: list_ids},
            synopsis="List all the entity IDs",
        ),
        Path(
            "entity/id/{id}",
            _ENTITY_FIELDS,
            {Operation.UPDATE: update_by_id, Operation.READ: read_by_id, Operation.DELETE: delete_by_id},
            synopsis="Update, read or delete an entity using entity ID",
        ),
        Path(
            "entity/name/?",
            {},
            {Operation.LIST: list_names},
            synopsis="List all the entity names",
        ),
        Path(
            "entity/name/{name}",
            _ENTITY_FIELDS,
            {
                Operation.UPDATE: update_by_name,
                Operation.READ: read_by_name,
                Operation.DELETE: delete_by_name,
            },
            synopsis="Update, read or delete an entity using entity name",
        ),
        Path(
            "entity/batch-delete",
            {"entity_ids": Field(FieldType.COMMA_STRING_LIST, "Entity IDs to delete")},
            {Operation.UPDATE: batch_delete},
            synopsis="Delete all of the entities provided",
        ),
        Path(
            "entity/merge/?",
            {
                "from_entity_ids": Field(FieldType.COMMA_STRING_LIST, "Entity IDs which need to get merged"),
                "to_entity_id": Field(
                    FieldType.STRING, "Entity ID into which all the other entities need to get merged"
                ),
                "force": Field(
                    FieldType.BOOL, "Kept for Vault's API: without MFA secrets nothing needs forcing."
                ),
                "conflicting_alias_ids_to_keep": Field(
                    FieldType.COMMA_STRING_LIST,
                    "Alias IDs to keep where both sides hold an alias of one mount",
                ),
            },
            {Operation.UPDATE: merge},
            synopsis="Merge two or more entities together",
        ),
        Path(
            "lookup/entity",
            {
                "type": Field(
                    FieldType.STRING, "Type of lookup. Current supported values are 'id' and 'name'"
                ),
                "name": Field(FieldType.STRING, "Name of the entity."),
                "id": Field(FieldType.STRING, "ID of the entity."),
                "alias_id": Field(FieldType.STRING, "ID of the alias."),
                "alias_name": Field(FieldType.STRING, "Name of the alias."),
                "alias_mount_accessor": Field(
                    FieldType.STRING, "Accessor of the mount the alias belongs to."
                ),
            },
            {Operation.UPDATE: lookup},
            synopsis="Query entities based on various properties.",
        ),
    ]
