"""identity/oidc/assignment/<name>, scope/<name>, client/<name> and provider/<name> (with their LIST forms),
and each provider's unauthenticated .well-known/openid-configuration and .well-known/keys. Layer: core.

Invariant: a confidential client's secret leaves storage only in a read of that client by an operator;
LIST answers never carry it.
"""

from __future__ import annotations

from typing import Any

from strongroom.core.identity.oidc_common import (
    ASSIGNMENTS,
    CLIENTS,
    DAY,
    DEFAULT_KEY,
    PROVIDERS,
    SCOPES,
    OIDCState,
    clients,
    load,
    raw_json,
    storage_of,
    valid_issuer,
)
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import oidc_keys, oidc_template
from strongroom.identity.oidc_keys import ALGORITHMS
from strongroom.identity.oidc_template import TemplateError
from strongroom.logical import Operation, Request, Response
from strongroom.logical.storage import put_json
from strongroom.util.ids import base62

_ISSUER_WARNING = (
    'If "issuer" is set explicitly, all tokens must be validated against that address, including those '
    'issued by secondary clusters. Setting issuer to "" will restore the default behavior of using the '
    "cluster's api_addr as the issuer."
)
_LIST = Field(FieldType.COMMA_STRING_LIST)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def paths(state: OIDCState) -> list[Path]:
    """The OIDC provider's configuration paths and its discovery documents."""

    def item(
        prefix: str, family: str, fields: dict[str, Field], *, write: Any, read: Any, delete: Any
    ) -> Path:
        async def exists(request: Request, data: FieldData) -> bool:
            storage = storage_of(request)
            await state.defaults(storage)
            return await load(storage, prefix, data.get("name")) is not None

        ops = {
            Operation.CREATE: write,
            Operation.UPDATE: write,
            Operation.READ: read,
            Operation.DELETE: delete,
        }
        return Path(f"oidc/{family}/{{name}}", {"name": Field(FieldType.STRING), **fields}, ops, exists)

    def listing(prefix: str, family: str) -> Path:
        async def listed(request: Request, _data: FieldData) -> Response | None:
            storage = storage_of(request)
            await state.defaults(storage)
            names = await storage.list(prefix)
            return Response(data={"keys": names}) if names else None

        return Path(f"oidc/{family}/?", {}, {Operation.LIST: listed})

    def merged(request: Request, data: FieldData, stored: dict[str, Any] | None, field: str, now: Any) -> Any:
        value, supplied = data.get_ok(field)
        return value if supplied or request.operation is Operation.CREATE or stored is None else now

    # Assignments

    async def write_assignment(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        if name == "allow_all":
            raise InvalidRequestError('modification of assignment "allow_all" not allowed')
        storage = storage_of(request)
        async with state.lock:
            stored = await load(storage, ASSIGNMENTS, name) or {"entity_ids": [], "group_ids": []}
            record = {
                k: _unique([v.lower() for v in merged(request, data, stored, k, stored[k])])
                for k in ("entity_ids", "group_ids")
            }
            await put_json(storage, ASSIGNMENTS + name, record)
        return None

    async def read_assignment(request: Request, data: FieldData) -> Response | None:
        record = await load(storage_of(request), ASSIGNMENTS, data.get("name"))
        return (
            None
            if record is None
            else Response(data={"group_ids": record["group_ids"], "entity_ids": record["entity_ids"]})
        )

    async def delete_assignment(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        if name == "allow_all":
            raise InvalidRequestError('deletion of assignment "allow_all" not allowed')
        storage = storage_of(request)
        async with state.lock:
            users = sorted(c["name"] for c in await clients(storage) if name in c["assignments"])
            if users:
                raise InvalidRequestError(
                    f'unable to delete assignment "{name}" because it is currently referenced by these '
                    f"clients: {', '.join(users)}"
                )
            await storage.delete(ASSIGNMENTS + name)
        return None

    # Scopes

    async def write_scope(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        if name == "openid":
            raise InvalidRequestError('the "openid" scope name is reserved')
        storage = storage_of(request)
        async with state.lock:
            stored = await load(storage, SCOPES, name) or {"template": "", "description": ""}
            description = merged(request, data, stored, "description", stored["description"])
            template = oidc_template.decoded(merged(request, data, stored, "template", stored["template"]))
            try:
                oidc_template.check(template)
            except TemplateError as exc:
                raise InvalidRequestError(str(exc)) from None
            await put_json(storage, SCOPES + name, {"template": template, "description": description})
        return None

    async def read_scope(request: Request, data: FieldData) -> Response | None:
        record = await load(storage_of(request), SCOPES, data.get("name"))
        return (
            None
            if record is None
            else Response(data={"template": record["template"], "description": record["description"]})
        )

    async def delete_scope(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        storage = storage_of(request)
        async with state.lock:
            users = []
            for provider in await storage.list(PROVIDERS):
                record = await load(storage, PROVIDERS, provider)
                if record is not None and name in record["scopes_supported"]:
                    users.append(provider)
            if users:
                raise InvalidRequestError(
                    f'unable to delete scope "{name}" because it is currently referenced by these providers: '
                    + ", ".join(users)
                )
            await storage.delete(SCOPES + name)
        return None

    # Clients

    async def write_client(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        storage = storage_of(request)
        creating = request.operation is Operation.CREATE
        async with state.lock:
            stored = None if creating else await load(storage, CLIENTS, name)
            record: dict[str, Any] = stored or {
                "name": name,
                "redirect_uris": [],
                "assignments": [],
                "key": DEFAULT_KEY,
                "id_token_ttl": DAY,
                "access_token_ttl": DAY,
                "client_type": "confidential",
                "authorization_code": True,
                "client_credentials": False,
                "client_id": "",
                "client_secret": "",
            }
            for field in ("redirect_uris", "assignments"):
                record[field] = _unique(merged(request, data, stored, field, record[field]))
            for assignment in record["assignments"]:
                if await load(storage, ASSIGNMENTS, assignment) is None:
                    raise InvalidRequestError(f'assignment "{assignment}" does not exist')
            key_name, supplied = data.get_ok("key")
            if supplied and stored is not None and key_name != record["key"]:
                raise InvalidRequestError("key modification is not allowed")
            record["key"] = key_name if supplied or stored is None else record["key"]
            key = await oidc_keys.load_key(storage, record["key"])
            if key is None:
                raise InvalidRequestError(f'key "{record["key"]}" does not exist')
            if record["key"] == DEFAULT_KEY:
                key = await state.default_key(storage, with_pairs=True)
            for field in ("id_token_ttl", "access_token_ttl", "authorization_code", "client_credentials"):
                record[field] = merged(request, data, stored, field, record[field])
            if record["id_token_ttl"] > key.verification_ttl:
                raise InvalidRequestError(
                    "a client's id_token_ttl cannot be greater than the verification_ttl of the key it "
                    "references"
                )
            kind, supplied = data.get_ok("client_type")
            if supplied:
                if stored is not None and kind != record["client_type"]:
                    raise InvalidRequestError("client_type modification is not allowed")
                if kind not in ("confidential", "public"):
                    raise InvalidRequestError(f'invalid client_type "{kind}"')
                record["client_type"] = kind
            record["client_id"] = record["client_id"] or base62(32)
            if record["client_type"] == "confidential" and not record["client_secret"]:
                record["client_secret"] = "hvo_secret_" + base62(64)
            await put_json(storage, CLIENTS + name, record)
        return None

    def client_view(record: dict[str, Any]) -> dict[str, Any]:
        fields = ("redirect_uris", "assignments", "key", "id_token_ttl", "access_token_ttl", "client_id")
        view = {field: record[field] for field in fields}
        view |= {
            "client_type": record["client_type"],
            "client_credentials": record["client_credentials"],
            "authorization_code": record["authorization_code"],
        }
        return view

    async def read_client(request: Request, data: FieldData) -> Response | None:
        record = await load(storage_of(request), CLIENTS, data.get("name"))
        if record is None:
            return None
        view = client_view(record)
        if record["client_type"] == "confidential":
            view["client_secret"] = record["client_secret"]
        return Response(data=view)

    async def delete_client(request: Request, data: FieldData) -> Response | None:
        async with state.lock:
            await storage_of(request).delete(CLIENTS + data.get("name"))
        return None

    async def list_clients(request: Request, _data: FieldData) -> Response | None:
        every = await clients(storage_of(request))
        if not every:
            return None
        return Response(
            data={"keys": [c["name"] for c in every], "key_info": {c["name"]: client_view(c) for c in every}}
        )

    # Providers

    async def write_provider(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        storage = storage_of(request)
        async with state.lock:
            stored = None if request.operation is Operation.CREATE else await load(storage, PROVIDERS, name)
            record = stored or {"issuer": "", "allowed_client_ids": [], "scopes_supported": []}
            record = {field: merged(request, data, stored, field, record[field]) for field in record}
            record["allowed_client_ids"] = _unique(record["allowed_client_ids"])
            record["scopes_supported"] = _unique(record["scopes_supported"])
            warnings: list[str] = []
            if record["issuer"]:
                if not valid_issuer(record["issuer"]):
                    raise InvalidRequestError(
                        "invalid issuer, which must include only a scheme, host, and optional port "
                        "(e.g. https://example.com:8200)"
                    )
                warnings.append(_ISSUER_WARNING)
            claimed: dict[str, str] = {}
            for scope_name in record["scopes_supported"]:
                scope = await load(storage, SCOPES, scope_name)
                if scope is None:
                    raise InvalidRequestError(f'scope "{scope_name}" does not exist')
                for claim in oidc_template.claim_names(scope["template"]):
                    other = claimed.setdefault(claim, scope_name)
                    if other != scope_name:
                        warnings.append(
                            f'Found scope templates with conflicting top-level keys: conflict "{claim}" in '
                            f'scopes "{scope_name}", "{other}". This may result in an error if the scopes '
                            "are requested in an OIDC Authentication Request."
                        )
            await put_json(storage, PROVIDERS + name, record)
        return Response(warnings=tuple(warnings)) if warnings else None

    async def read_provider(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        record = await load(storage, PROVIDERS, data.get("name"))
        if record is None:
            return None
        issuer = state.provider_issuer(data.get("name"), record)
        return Response(data={**record, "issuer": issuer})

    async def delete_provider(request: Request, data: FieldData) -> Response | None:
        if data.get("name") == "default":
            raise InvalidRequestError('deletion of OIDC provider "default" not allowed')
        await storage_of(request).delete(PROVIDERS + data.get("name"))
        return None

    async def list_providers(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        await state.defaults(storage)
        wanted = data.get("allowed_client_id")
        info: dict[str, Any] = {}
        for name in await storage.list(PROVIDERS):
            record = await load(storage, PROVIDERS, name)
            if record is None:
                continue
            if wanted and not ({"*", wanted} & set(record["allowed_client_ids"])):
                continue
            info[name] = {**record, "issuer": state.provider_issuer(name, record)}
        return Response(data={"keys": list(info), "key_info": info}) if info else None

    async def discovery(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        record = await load(storage_of(request), PROVIDERS, name)
        if record is None:
            return None
        issuer = state.provider_issuer(name, record)
        return raw_json(
            {
                "issuer": issuer,
                "jwks_uri": issuer + "/.well-known/keys",
                "authorization_endpoint": issuer.replace("/v1/", "/ui/vault/", 1) + "/authorize",
                "token_endpoint": issuer + "/token",
                "userinfo_endpoint": issuer + "/userinfo",
                "request_parameter_supported": False,
                "request_uri_parameter_supported": False,
                "id_token_signing_alg_values_supported": list(ALGORITHMS),
                "response_types_supported": ["code"],
                "scopes_supported": [*record["scopes_supported"], "openid"],
                "claims_supported": [],
                "subject_types_supported": ["public"],
                "grant_types_supported": ["authorization_code"],
                "token_endpoint_auth_methods_supported": [
                    "none",
                    "client_secret_basic",
                    "client_secret_post",
                ],
            }
        )

    async def public_keys(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        record = await load(storage, PROVIDERS, data.get("name"))
        if record is None:
            return None
        allowed = set(record["allowed_client_ids"])
        async with state.lock:
            every = await clients(storage)
            used = {c["key"] for c in every if "*" in allowed or c["client_id"] in allowed}
            keys = await oidc_keys.key_set(storage, state.clock.now(), used)
        return raw_json({"keys": keys})

    provider_fields = {
        "issuer": Field(FieldType.STRING, "Specifies what will be used for the iss claim of ID tokens."),
        "allowed_client_ids": _LIST,
        "scopes_supported": _LIST,
    }
    client_fields = {
        "redirect_uris": _LIST,
        "assignments": _LIST,
        "key": Field(FieldType.STRING, "A reference to a named key resource.", default=DEFAULT_KEY),
        "id_token_ttl": Field(FieldType.DURATION, "The time-to-live for ID tokens.", default="24h"),
        "access_token_ttl": Field(FieldType.DURATION, "The time-to-live for access tokens.", default="24h"),
        "client_type": Field(FieldType.STRING, "'confidential' or 'public'.", default="confidential"),
        "authorization_code": Field(
            FieldType.BOOL, "Whether the authorization code flow is allowed.", default=True
        ),
        "client_credentials": Field(FieldType.BOOL, "Whether the client credentials flow is allowed."),
    }
    name_only = {"name": Field(FieldType.STRING, "Name of the provider")}
    return [
        item(
            ASSIGNMENTS,
            "assignment",
            {"entity_ids": _LIST, "group_ids": _LIST},
            write=write_assignment,
            read=read_assignment,
            delete=delete_assignment,
        ),
        listing(ASSIGNMENTS, "assignment"),
        item(
            SCOPES,
            "scope",
            {"template": Field(FieldType.STRING), "description": Field(FieldType.STRING)},
            write=write_scope,
            read=read_scope,
            delete=delete_scope,
        ),
        listing(SCOPES, "scope"),
        item(CLIENTS, "client", client_fields, write=write_client, read=read_client, delete=delete_client),
        Path("oidc/client/?", {}, {Operation.LIST: list_clients}, synopsis="List OIDC clients"),
        Path("oidc/provider/{name}/.well-known/openid-configuration", name_only, {Operation.READ: discovery}),
        Path("oidc/provider/{name}/.well-known/keys", name_only, {Operation.READ: public_keys}),
        item(
            PROVIDERS,
            "provider",
            provider_fields,
            write=write_provider,
            read=read_provider,
            delete=delete_provider,
        ),
        Path(
            "oidc/provider/?",
            {"allowed_client_id": Field(FieldType.STRING, "Filters the list of OIDC providers.")},
            {Operation.LIST: list_providers},
            synopsis="List OIDC providers",
        ),
    ]
