"""identity/oidc/config, oidc/key/<name> (and rotate), LIST oidc/key, and the unauthenticated
oidc/.well-known/openid-configuration and oidc/.well-known/keys. Layer: core."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from strongroom.core.identity.oidc_common import (
    DEFAULT_KEY,
    OIDCState,
    clients,
    raw_json,
    storage_of,
    valid_issuer,
)
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import oidc_keys
from strongroom.identity.oidc_keys import ALGORITHMS, NamedKey
from strongroom.logical import Operation, Request, Response

_KEY_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the key"),
    "rotation_period": Field(FieldType.DURATION, "How often to generate a new keypair.", default="24h"),
    "verification_ttl": Field(
        FieldType.DURATION,
        "Controls how long the public portion of a key will be available for verification after being "
        "rotated.",
        default="24h",
    ),
    "algorithm": Field(
        FieldType.STRING, "Signing algorithm to use. This will default to RS256.", default="RS256"
    ),
    "allowed_client_ids": Field(
        FieldType.COMMA_STRING_LIST,
        "Comma separated string or array of role client ids allowed to use this key for signing. If empty no "
        'roles are allowed. If "*" all roles are allowed.',
    ),
}
# Vault's, and userinfo: its access tokens are the identity store's own, not Vault tokens.
UNAUTHENTICATED = (
    "oidc/.well-known/*",
    "oidc/provider/+/.well-known/*",
    "oidc/provider/+/token",
    "oidc/provider/+/userinfo",
)


def paths(state: OIDCState) -> list[Path]:
    """The identity token paths about the issuer and the signing keys."""

    async def read_config(request: Request, _data: FieldData) -> Response | None:
        issuer = await state.configured_issuer(storage_of(request))
        response = Response(data={"issuer": issuer})
        if not issuer and not state.api_addr:
            response = response.with_warning(
                'Both "issuer" and OpenBao\'s "api_addr" are empty. The issuer claim in generated tokens '
                "will not be network reachable."
            )
        return response

    async def write_config(request: Request, data: FieldData) -> Response | None:
        issuer, supplied = data.get_ok("issuer")
        if not supplied:
            return None
        if issuer and not valid_issuer(issuer):
            raise InvalidRequestError(
                "invalid issuer, which must include only a scheme, host, and optional port "
                "(e.g. https://example.com:8200)"
            )
        await state.set_issuer(storage_of(request), issuer)
        if not issuer:
            return None
        return Response().with_warning(
            'If "issuer" is set explicitly, all tokens must be validated against that address, including '
            'those issued by secondary clusters. Setting issuer to "" will restore the default behavior of '
            "using the cluster's api_addr as the issuer."
        )

    async def key_exists(request: Request, data: FieldData) -> bool:
        storage = storage_of(request)
        await state.defaults(storage)
        return await oidc_keys.load_key(storage, data.get("name")) is not None

    async def write_key(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        name = data.get("name")
        creating = request.operation is Operation.CREATE
        async with state.lock:
            stored = None if creating else await oidc_keys.load_key(storage, name)
            key = stored or NamedKey(name, "", 0, 0, ())

            def chosen(field: str, current: Any) -> Any:
                value, supplied = data.get_ok(field)
                return value if supplied or stored is None else current

            key = replace(
                key,
                rotation_period=int(chosen("rotation_period", key.rotation_period)),
                verification_ttl=int(chosen("verification_ttl", key.verification_ttl)),
            )
            if key.rotation_period < 60:
                raise InvalidRequestError("rotation_period must be at least one minute")
            if key.verification_ttl > 10 * key.rotation_period:
                raise InvalidRequestError("verification_ttl cannot be longer than 10x rotation_period")
            if stored is not None:
                for role in (await state.roles(storage)).values():
                    if role.key == name and role.ttl > key.verification_ttl:
                        raise InvalidRequestError(
                            f'unable to update key "{name}" because it is currently referenced by one or '
                            f"more roles with a token ttl greater than {key.verification_ttl} seconds"
                        )
                for client in await clients(storage):
                    if client["key"] == name and client["id_token_ttl"] > key.verification_ttl:
                        raise InvalidRequestError(
                            f'unable to update key "{name}" because it is currently referenced by one or '
                            f"more clients with an id_token_ttl greater than {key.verification_ttl} seconds"
                        )
            allowed = chosen("allowed_client_ids", list(key.allowed_client_ids))
            algorithm = str(chosen("algorithm", key.algorithm))
            if algorithm not in ALGORITHMS:
                raise InvalidRequestError(f'unknown signing algorithm "{algorithm}"')
            key = replace(key, allowed_client_ids=tuple(allowed), algorithm=algorithm)
            now = state.clock.now()
            if not key.next_rotation or now + key.rotation_period < key.next_rotation:
                key = replace(key, next_rotation=now + key.rotation_period)
            if stored is None or algorithm != stored.algorithm:
                key = await oidc_keys.with_new_pairs(storage, key)
            await oidc_keys.store_key(storage, key)
        return None

    async def read_key(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        await state.defaults(storage)
        key = await oidc_keys.load_key(storage, data.get("name"))
        if key is None:
            return None
        return Response(
            data={
                "rotation_period": key.rotation_period,
                "verification_ttl": key.verification_ttl,
                "algorithm": key.algorithm,
                "allowed_client_ids": list(key.allowed_client_ids),
            }
        )

    async def delete_key(request: Request, data: FieldData) -> Response | None:
        name = data.get("name")
        if name == DEFAULT_KEY:
            raise InvalidRequestError(f'deletion of key "{DEFAULT_KEY}" not allowed')
        storage = storage_of(request)
        async with state.lock:
            users = sorted(n for n, role in (await state.roles(storage)).items() if role.key == name)
            if users:
                raise InvalidRequestError(
                    f'unable to delete key "{name}" because it is currently referenced by these roles: '
                    + ", ".join(users)
                )
            users = sorted(client["name"] for client in await clients(storage) if client["key"] == name)
            if users:
                raise InvalidRequestError(
                    f'unable to delete key "{name}" because it is currently referenced by these clients: '
                    + ", ".join(users)
                )
            await storage.delete(oidc_keys.NAMED_KEYS + name)
            await oidc_keys.expire(storage, state.clock.now())
        return None

    async def list_keys(request: Request, _data: FieldData) -> Response | None:
        storage = storage_of(request)
        await state.defaults(storage)
        names = await storage.list(oidc_keys.NAMED_KEYS)
        return Response(data={"keys": names}) if names else None

    async def rotate_key(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        name = data.get("name")
        async with state.lock:
            key = await oidc_keys.load_key(storage, name)
            if key is None:
                raise InvalidRequestError(f'no named key found at "{name}"')
            ttl, supplied = data.get_ok("verification_ttl")
            await oidc_keys.rotate(storage, key, state.clock.now(), ttl if supplied else None)
        return None

    async def discovery(request: Request, _data: FieldData) -> Response | None:
        issuer = await state.issuer(storage_of(request))
        return raw_json(
            {
                "issuer": issuer,
                "jwks_uri": issuer + "/.well-known/keys",
                "response_types_supported": ["id_token"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": list(ALGORITHMS),
            }
        )

    async def public_keys(request: Request, _data: FieldData) -> Response | None:
        storage = storage_of(request)
        async with state.lock:
            used = {role.key for role in (await state.roles(storage)).values()}
            keys = await oidc_keys.key_set(storage, state.clock.now(), used)
        return raw_json({"keys": keys})

    key_ops = {
        Operation.CREATE: write_key,
        Operation.UPDATE: write_key,
        Operation.READ: read_key,
        Operation.DELETE: delete_key,
    }
    return [
        Path(
            "oidc/config/?",
            {"issuer": Field(FieldType.STRING, "Issuer URL to be used in the iss claim of the token.")},
            {Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="OIDC configuration",
        ),
        Path(
            "oidc/key/{name}/rotate/?",
            {
                "name": Field(FieldType.STRING, "Name of the key"),
                "verification_ttl": Field(
                    FieldType.DURATION,
                    "How long the public portion of the rotated key stays available for verification.",
                ),
            },
            {Operation.UPDATE: rotate_key},
            synopsis="Rotate a named OIDC key.",
        ),
        Path("oidc/key/{name}", _KEY_FIELDS, key_ops, key_exists, synopsis="CRUD operations for OIDC keys."),
        Path("oidc/key/?", {}, {Operation.LIST: list_keys}, synopsis="List OIDC keys"),
        Path(
            "oidc/.well-known/openid-configuration/?",
            {},
            {Operation.READ: discovery},
            synopsis="Query OIDC configurations",
        ),
        Path("oidc/.well-known/keys/?", {}, {Operation.READ: public_keys}, synopsis="Retrieve public keys"),
    ]
