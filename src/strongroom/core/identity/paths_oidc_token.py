"""identity/oidc/role/<name>, LIST oidc/role, oidc/token/<role> (a signed identity token for the caller's
entity) and oidc/introspect. Layer: core.

Invariant: a token is issued only for the entity of the token that asks, with the claims its role's
template gives that entity and its groups now.
"""

from __future__ import annotations

from typing import Any

from strongroom.core.identity.oidc_common import DAY, DEFAULT_KEY, OIDCState, Role, raw_json, storage_of
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.identity import IdentityStore, oidc_keys, oidc_template
from strongroom.identity.model import Group
from strongroom.identity.oidc_template import Subject, TemplateError
from strongroom.logical import Operation, Request, Response
from strongroom.logical.storage import put_json
from strongroom.util.ids import base62

_ROLE_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the role"),
    "key": Field(
        FieldType.STRING, "The OIDC key to use for generating tokens. The specified key must already exist."
    ),
    "template": Field(
        FieldType.STRING,
        "The template string to use for generating tokens. This may be in string-ified JSON or base64 "
        "format.",
    ),
    "ttl": Field(FieldType.DURATION, "TTL of the tokens generated against the role.", default="24h"),
    "client_id": Field(FieldType.STRING, "Optional client_id"),
}
# go-jose's default leeway when it checks exp, nbf and iat.
_LEEWAY = 60


def paths(state: OIDCState, identity: IdentityStore) -> list[Path]:
    """The identity token paths about roles, issuing and introspection."""

    async def role_exists(request: Request, data: FieldData) -> bool:
        return await state.role(storage_of(request), data.get("name")) is not None

    async def write_role(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        name = data.get("name")
        async with state.lock:
            stored = None if request.operation is Operation.CREATE else await state.role(storage, name)
            role = stored or Role(key="", template="", ttl=DAY, client_id="")

            def chosen(field: str, current: Any) -> Any:
                value, supplied = data.get_ok(field)
                return value if supplied or stored is None else current

            key_name = chosen("key", role.key)
            if not key_name:
                raise InvalidRequestError("the key parameter is required")
            if key_name == DEFAULT_KEY:
                await state.default_key(storage, with_pairs=True)
            template = oidc_template.decoded(chosen("template", role.template))
            try:
                oidc_template.check(template)
            except TemplateError as exc:
                raise InvalidRequestError(str(exc)) from None
            ttl = int(chosen("ttl", role.ttl))
            key = await oidc_keys.load_key(storage, key_name)
            if key is None:
                raise InvalidRequestError(f'cannot find key "{key_name}"')
            if ttl > key.verification_ttl:
                raise InvalidRequestError(
                    "a role's token ttl cannot be longer than the verification_ttl of the key it references"
                )
            client_id = data.get("client_id") or role.client_id or base62(26)
            role = Role(key=key_name, template=template, ttl=ttl, client_id=client_id)
            await put_json(storage, oidc_keys.ROLES + name, role.to_json())
        return None

    async def read_role(request: Request, data: FieldData) -> Response | None:
        role = await state.role(storage_of(request), data.get("name"))
        return None if role is None else Response(data=role.to_json())

    async def delete_role(request: Request, data: FieldData) -> Response | None:
        await storage_of(request).delete(oidc_keys.ROLES + data.get("name"))
        return None

    async def list_roles(request: Request, _data: FieldData) -> Response | None:
        names = await storage_of(request).list(oidc_keys.ROLES)
        return Response(data={"keys": names}) if names else None

    def groups_of(entity_id: str) -> list[Group]:
        direct, inherited = identity.memberships(entity_id)
        return [g for gid in (*direct, *inherited) if (g := identity.groups.group(gid)) is not None]

    async def issue(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)
        name = data.get("name")
        role = await state.role(storage, name)
        if role is None:
            raise InvalidRequestError(f'role "{name}" not found')
        async with state.lock:
            key = await oidc_keys.load_key(storage, role.key)
            if key is None:
                raise InvalidRequestError(f'key "{role.key}" not found')
            if not key.allows(role.client_id):
                raise InvalidRequestError(
                    f'the key "{role.key}" does not list the client ID of the role "{name}" as an allowed '
                    "client ID"
                )
            entity_id = request.caller.entity_id if request.caller is not None else ""
            if not entity_id:
                raise InvalidRequestError("no entity associated with the request's token")
            entity = identity.entity(entity_id)
            if entity is None:
                raise InvalidRequestError(f'error loading entity ID "{entity_id}"')
            now = state.clock.now()
            key = await oidc_keys.current(storage, key, now)
            warnings: tuple[str, ...] = ()
            expiry = role.ttl
            if expiry > key.verification_ttl:
                expiry = key.verification_ttl
                warnings = (
                    "a role's token ttl cannot be longer than the verification_ttl of the key it references, "
                    f"setting token ttl to {expiry}",
                )
            claims: dict[str, Any] = {
                "iss": await state.issuer(storage),
                "namespace": "root",
                "sub": entity_id,
                "aud": role.client_id,
                "exp": int(now) + expiry,
                "iat": int(now),
            }
            try:
                populated = oidc_template.populate(role.template, Subject(entity, groups_of(entity_id), now))
            except TemplateError:
                # As in Vault: a template that cannot be filled for this entity adds no claims, and the
                # basic token is still issued.
                populated = ""
            claims |= oidc_template.claims(populated)
            token = oidc_keys.sign(key, claims)
        return Response(
            data={"token": token, "client_id": role.client_id, "ttl": role.ttl}, warnings=warnings
        )

    async def introspect(request: Request, data: FieldData) -> Response | None:
        storage = storage_of(request)

        def answer(error: str = "") -> Response:
            return raw_json({"active": False, "error": error} if error else {"active": True})

        token, client_id = data.get("token"), data.get("client_id")
        async with state.lock:
            used = {role.key for role in (await state.roles(storage)).values()}
            jwks = await oidc_keys.key_set(storage, state.clock.now(), used)
        claims = oidc_keys.verified_claims(token, jwks)
        if isinstance(claims, str):
            return answer(claims)
        problem = _claims_problem(claims, await state.issuer(storage), client_id, state.clock.now())
        if problem:
            return answer(f"error validating claims: go-jose/go-jose/jwt: validation failed, {problem}")
        entity = identity.entity(str(claims.get("sub", "")))
        if entity is None:
            return answer("entity was not found")
        if entity.disabled:
            return answer("entity is disabled")
        return answer()

    role_ops = {
        Operation.CREATE: write_role,
        Operation.UPDATE: write_role,
        Operation.READ: read_role,
        Operation.DELETE: delete_role,
    }
    return [
        Path(
            "oidc/role/{name}", _ROLE_FIELDS, role_ops, role_exists, synopsis="CRUD operations on OIDC Roles"
        ),
        Path("oidc/role/?", {}, {Operation.LIST: list_roles}, synopsis="List configured OIDC roles"),
        Path(
            "oidc/token/{name}",
            {"name": Field(FieldType.STRING, "Name of the role")},
            {Operation.READ: issue},
            synopsis="Generate an OIDC token",
        ),
        Path(
            "oidc/introspect/?",
            {
                "token": Field(FieldType.STRING, "Token to verify"),
                "client_id": Field(FieldType.STRING, "Optional client_id to verify"),
            },
            {Operation.UPDATE: introspect},
            synopsis="Verify the authenticity of an OIDC token",
        ),
    ]


def _claims_problem(claims: dict[str, Any], issuer: str, client_id: str, now: float) -> str:
    """What go-jose's claim validation would name first as wrong, or ""."""
    if claims.get("iss") != issuer:
        return "invalid issuer claim (iss)"
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id and client_id not in audiences:
        return "invalid audience claim (aud)"
    if isinstance(claims.get("exp"), int) and now > claims["exp"] + _LEEWAY:
        return "token is expired (exp)"
    if isinstance(claims.get("iat"), int) and now < claims["iat"] - _LEEWAY:
        return "token issued in the future (iat)"
    return ""
