"""Secret IDs: role/<name>/secret-id (generate, LIST accessors), custom-secret-id, secret-id/lookup and
destroy, secret-id-accessor/lookup and destroy, and tidy/secret-id. Layer: builtin.

Imports framework, logical, util and the approle modules.
Invariant: a secret ID appears only in the response that issued it; lookups answer its properties.
"""

from __future__ import annotations

import json

from strongroom.builtin.auth.approle import cidrs
from strongroom.builtin.auth.approle.common import ROLE_NAME_FIELD, role_missing, role_name
from strongroom.builtin.auth.approle.metadata import MetadataError, parse_metadata
from strongroom.builtin.auth.approle.models import MAX_HMAC_INPUT, Role, SecretIDEntry
from strongroom.builtin.auth.approle.store import AppRoleStore
from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response, SystemView
from strongroom.util.clock import Clock
from strongroom.util.ids import new_uuid

SECRET_ID_FIELD = Field(FieldType.STRING, "SecretID attached to the role.")
ACCESSOR_FIELD = Field(FieldType.STRING, "Accessor of the SecretID")

GENERATE_FIELDS: dict[str, Field] = {
    "role_name": ROLE_NAME_FIELD,
    "metadata": Field(
        FieldType.STRING, "Metadata to be tied to the SecretID: a JSON object of strings, or k=v pairs."
    ),
    "cidr_list": Field(
        FieldType.COMMA_STRING_LIST, "CIDR blocks enforcing secret IDs to be used from specific addresses."
    ),
    "token_bound_cidrs": Field(
        FieldType.COMMA_STRING_LIST, "CIDR blocks of the addresses allowed to use the generated token."
    ),
    "num_uses": Field(FieldType.INT, "Number of times this SecretID can be used; overrides the role's."),
    "ttl": Field(FieldType.DURATION, "Duration after which this SecretID expires; overrides the role's."),
}

TIDY_WARNING = (
    "Tidy operation successfully started. Any information from the operation will be printed to OpenBao's "
    "server logs."
)


def paths(store: AppRoleStore, system: SystemView, clock: Clock) -> list[Path]:
    """The secret ID paths of the role tree, and tidy."""

    async def role_or_refuse(name: str) -> Role:
        role = await store.role(name)
        if role is None:
            raise InvalidRequestError(role_missing(name))
        return role

    async def issue(data: FieldData, secret_id: str) -> Response:
        name = role_name(data)
        if not secret_id:
            raise InvalidRequestError("missing secret_id")
        if len(secret_id) > MAX_HMAC_INPUT:
            raise InvalidRequestError(
                f"failed to create HMAC of secret_id: value is longer than maximum of {MAX_HMAC_INPUT} bytes"
            )
        role = await store.role(name)
        if role is None:
            raise NotFoundError(role_missing(name))
        if not role.bind_secret_id:
            raise InvalidRequestError("bind_secret_id is not set on the role")
        entry = await new_entry(role, data, secret_id)
        async with store.lock:
            await store.register(role, entry)
        return Response(
            data={
                "secret_id": secret_id,
                "secret_id_accessor": entry.accessor,
                "secret_id_num_uses": entry.num_uses,
                "secret_id_ttl": derive_ttl(entry.ttl),
            }
        )

    def derive_ttl(ttl: int) -> int:
        # Vault caps a secret ID's life at the mount's maximum lease TTL.
        ceiling = system.max_lease_ttl()
        return ceiling if ttl < 0 or ttl > ceiling else ttl

    async def new_entry(role: Role, data: FieldData, secret_id: str) -> SecretIDEntry:
        cidr_list: list[str] = data.get("cidr_list")
        check_blocks(cidr_list, role.secret_id_bound_cidrs or (), "CIDR blocks")
        token_cidrs: list[str] = data.get("token_bound_cidrs")
        check_blocks(token_cidrs, role.token.bound_cidrs, "token CIDR blocks")
        num_uses, supplied = data.get_ok("num_uses")
        if not supplied:
            num_uses = role.secret_id_num_uses
        elif num_uses < 0:
            raise InvalidRequestError("num_uses cannot be negative")
        elif role.secret_id_num_uses > 0 and (num_uses == 0 or num_uses > role.secret_id_num_uses):
            raise InvalidRequestError("num_uses cannot be higher than the role's secret_id_num_uses")
        ttl, supplied = data.get_ok("ttl")
        if not supplied:
            ttl = role.secret_id_ttl
        elif role.secret_id_ttl > 0 and (ttl == 0 or ttl > role.secret_id_ttl):
            raise InvalidRequestError("ttl cannot be longer than the role's secret_id_ttl")
        try:
            metadata = parse_metadata(data.get("metadata"))
        except MetadataError as exc:
            raise InvalidRequestError(f"failed to parse metadata: {exc}") from None
        now = clock.now()
        lifetime = derive_ttl(ttl)
        return SecretIDEntry(
            secret_id_hmac=await store.hash(secret_id),
            accessor=new_uuid(),
            num_uses=num_uses,
            ttl=ttl,
            creation_time=now,
            last_updated_time=now,
            expiration_time=now + lifetime if lifetime else None,
            metadata=metadata,
            cidr_list=tuple(cidr_list),
            token_bound_cidrs=tuple(token_cidrs),
        )

    async def generate(request: Request, data: FieldData) -> Response | None:
        return await issue(data, new_uuid())

    async def custom(request: Request, data: FieldData) -> Response | None:
        return await issue(data, data.get("secret_id"))

    async def list_accessors(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        role = await role_or_refuse(name)
        return Response(data={"keys": [entry.accessor for entry in await store.entries(role)]})

    async def lookup(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        secret_id = required(data, "secret_id")
        role = await role_or_refuse(name)
        entry = await store.secret_id_entry(role, secret_id)
        if entry is None or entry.expired(clock.now()):
            return None
        if not await store.has_accessor(entry):
            async with store.lock:
                await store.delete(role, entry)
            raise InvalidRequestError("invalid secret id")
        return Response(data=entry.response_data())

    async def destroy(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        secret_id = required(data, "secret_id")
        role = await role_or_refuse(name)
        async with store.lock:
            entry = await store.secret_id_entry(role, secret_id)
            if entry is not None:
                await store.delete(role, entry)
        return None

    async def lookup_accessor(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        accessor = required(data, "secret_id_accessor")
        role = await role_or_refuse(name)
        known, entry = await store.entry_for_accessor(role, accessor)
        if not known:
            return Response(status=404, data={"error": accessor_missing(accessor)})
        if entry is None or entry.expired(clock.now()):
            return None
        return Response(data=entry.response_data())

    async def destroy_accessor(request: Request, data: FieldData) -> Response | None:
        name = role_name(data)
        accessor = required(data, "secret_id_accessor")
        role = await role_or_refuse(name)
        async with store.lock:
            known, entry = await store.entry_for_accessor(role, accessor)
            if not known:
                raise InvalidRequestError(accessor_missing(accessor))
            if entry is None:
                raise PermissionDeniedError("invalid secret id accessor")
            await store.delete(role, entry)
        return None

    async def tidy(request: Request, data: FieldData) -> Response | None:
        async with store.lock:
            await store.tidy(clock.now())
        return Response(status=202, warnings=(TIDY_WARNING,))

    lookup_fields = {"role_name": ROLE_NAME_FIELD, "secret_id": SECRET_ID_FIELD}
    accessor_fields = {"role_name": ROLE_NAME_FIELD, "secret_id_accessor": ACCESSOR_FIELD}
    return [
        Path(
            "role/{role_name}/secret-id/?",
            fields=GENERATE_FIELDS,
            operations={Operation.UPDATE: generate, Operation.LIST: list_accessors},
            synopsis="Generate a SecretID against this role.",
            description="The SecretID is scoped to this role; its properties default to the role's options.",
        ),
        Path(
            "role/{role_name}/custom-secret-id",
            fields={**GENERATE_FIELDS, "secret_id": SECRET_ID_FIELD},
            operations={Operation.UPDATE: custom},
            synopsis="Assign a SecretID of choice against the role.",
        ),
        Path(
            "role/{role_name}/secret-id/lookup/?",
            fields=lookup_fields,
            operations={Operation.UPDATE: lookup},
            synopsis="Read the properties of an issued secret_id",
        ),
        Path(
            "role/{role_name}/secret-id/destroy/?",
            fields=lookup_fields,
            operations={Operation.UPDATE: destroy, Operation.DELETE: destroy},
            synopsis="Invalidate an issued secret_id",
        ),
        Path(
            "role/{role_name}/secret-id-accessor/lookup/?",
            fields=accessor_fields,
            operations={Operation.UPDATE: lookup_accessor},
            synopsis="Read an issued secret_id, using its accessor",
        ),
        Path(
            "role/{role_name}/secret-id-accessor/destroy/?",
            fields=accessor_fields,
            operations={Operation.UPDATE: destroy_accessor, Operation.DELETE: destroy_accessor},
            synopsis="Delete an issued secret_id, using its accessor",
        ),
        Path(
            "tidy/secret-id",
            operations={Operation.UPDATE: tidy},
            synopsis="Trigger the clean-up of expired SecretID entries.",
        ),
    ]


def required(data: FieldData, name: str) -> str:
    """A string field the request must carry: "missing <name>" otherwise."""
    value: str = data.get(name)
    if not value:
        raise InvalidRequestError(f"missing {name}")
    return value


def check_blocks(blocks: list[str], role_blocks: tuple[str, ...], what: str) -> None:
    """A secret ID's CIDR blocks must parse and lie within the role's."""
    try:
        cidrs.validate_cidrs(blocks)
    except cidrs.CIDRError as exc:
        raise InvalidRequestError(f"failed to validate {what}: {exc}") from None
    if not cidrs.is_subset(role_blocks, blocks):
        raise InvalidRequestError(cidrs.subset_error(role_blocks, blocks))


def accessor_missing(accessor: str) -> str:
    """Vault's words for an accessor it has no record of (Go's %q quoting)."""
    return f"failed to find accessor entry for secret_id_accessor: {json.dumps(accessor)}"
