"""users/ endpoints of userpass: create, read, update, delete and list users; change a password or the
policies. Layer: builtin (imports framework, logical, util and the package's own modules).

Usernames are lowercased, as in Vault, so "Alice" and "alice" are one user: the username is declared a
folding type, so the core checks the ACL on the folded path ("users/ALICE" is "users/alice").
Invariant: a read never returns the password nor its hash; a password is stored only as an argon2id hash.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from strongroom.builtin.auth.userpass.lockout import Lockouts
from strongroom.builtin.auth.userpass.models import Legacy, User, UserStore, valid_username
from strongroom.builtin.auth.userpass.passwords import Passwords
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.framework.tokenutil import TOKEN_FIELDS, TokenSettings
from strongroom.logical import Operation, Request, Response
from strongroom.util.policies import parse_policies

MISSING_PASSWORD = "must provide either password or password_hash"
NO_SUCH_USER = "username does not exist"

USERNAME = Field(FieldType.LOWERCASE_STRING, "Username for this user.")
_PASSWORD = Field(FieldType.STRING, "Password for this user.")
_PASSWORD_HASH = Field(FieldType.STRING, "Pre-hashed password (bcrypt); not supported by this server.")
_POLICIES = Field(FieldType.COMMA_STRING_LIST, 'Use "token_policies" instead.')
_LEGACY_FIELDS = {
    "policies": _POLICIES,
    "ttl": Field(FieldType.DURATION, 'Use "token_ttl" instead.'),
    "max_ttl": Field(FieldType.DURATION, 'Use "token_max_ttl" instead.'),
    "bound_cidrs": Field(FieldType.COMMA_STRING_LIST, 'Use "token_bound_cidrs" instead.'),
}
_STRICTLY_BIND_IP = Field(FieldType.BOOL, "Bind tokens to the login's exact address; not supported here.")


def username(data: FieldData) -> str:
    """The (folded) username captured from the path; 404 for names Vault's path pattern would not match."""
    name: str = data.get("username")
    if not valid_username(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    return name


def format_cidrs(blocks: list[str]) -> tuple[str, ...]:
    """Address blocks as Vault prints them: a single-host block is the bare address."""
    formatted = []
    for block in blocks:
        try:
            network = ipaddress.ip_network(block, strict=False)
        except ValueError:
            raise InvalidRequestError(
                f'error parsing address "{block}": Unable to convert "{block}" to an IPv4 or IPv6 address, '
                "or a UNIX Socket"
            ) from None
        single = network.prefixlen == network.max_prefixlen
        formatted.append(block.partition("/")[0] if single else block)
    return tuple(formatted)


# (legacy name, token_* name, TokenSettings attribute)
_UPGRADES = (
    ("policies", "token_policies", "policies"),
    ("ttl", "token_ttl", "ttl"),
    ("max_ttl", "token_max_ttl", "max_ttl"),
    ("bound_cidrs", "token_bound_cidrs", "bound_cidrs"),
)


def _given(data: FieldData, name: str) -> tuple[Any, bool]:
    """(value, supplied) of a field, or (None, False) when the path does not declare it."""
    try:
        value, supplied = data.get_ok(name)
    except KeyError:
        return None, False
    return (tuple(value) if isinstance(value, list) else value), supplied


def apply_token_fields(token: TokenSettings, legacy: Legacy, data: FieldData) -> tuple[TokenSettings, Legacy]:
    """The settings after a write: each token_* field given replaces its value and forgets the legacy name;
    a legacy name given alone sets both, legacy "policies" parsed as Vault's policyutil does (Vault's
    tokenutil.UpgradeValue). Validated once, at the end."""
    changes: dict[str, Any] = {}
    for name in TOKEN_FIELDS:
        value, supplied = _given(data, name)
        if supplied:
            changes[name.removeprefix("token_")] = value
    legacy_changes: dict[str, Any] = {}
    for old, new, attribute in _UPGRADES:
        value, supplied = _given(data, old)
        if _given(data, new)[1]:
            # Both names given: the legacy one echoes the new value; the new one alone: it is forgotten.
            legacy_changes[old] = changes[attribute] if supplied else type(getattr(legacy, old))()
        elif supplied:
            changes[attribute] = legacy_changes[old] = parse_policies(value) if old == "policies" else value
    if changes.get("bound_cidrs"):
        changes["bound_cidrs"] = format_cidrs(list(changes["bound_cidrs"]))
        if legacy_changes.get("bound_cidrs"):
            legacy_changes["bound_cidrs"] = changes["bound_cidrs"]
    updated = replace(token, **changes)
    updated.validate()
    return updated, replace(legacy, **legacy_changes)


def _refuse_unsupported(data: FieldData) -> None:
    if _given(data, "password_hash")[0]:
        raise InvalidRequestError(
            "password_hash is not supported by this server: send the password, which is stored as argon2id"
        )
    if _given(data, "token_strictly_bind_ip")[0]:
        raise InvalidRequestError("token_strictly_bind_ip is not supported by this server")


def paths(users: UserStore, lockouts: Lockouts, passwords: Passwords) -> list[Path]:
    """The users/ paths of one userpass mount."""

    async def exists(_request: Request, data: FieldData) -> bool:
        name: str = data.get("username")
        return valid_username(name) and await users.get(name) is not None

    async def list_users(_request: Request, _data: FieldData) -> Response:
        names = await users.names()
        # Like Vault's ListResponse: no "keys" when empty, which the HTTP layer answers with a 404.
        return Response(data={"keys": names} if names else {})

    async def read_user(_request: Request, data: FieldData) -> Response | None:
        user = await users.get(username(data))
        return None if user is None else Response(data=user.read_data())

    async def write_user(_request: Request, data: FieldData) -> Response | None:
        name = username(data)
        _refuse_unsupported(data)
        existing = await users.get(name)
        password = data.get("password")
        if existing is None and not password:
            raise InvalidRequestError(MISSING_PASSWORD)
        base = existing or User(password_hash="")
        token, legacy = apply_token_fields(base.token, base.legacy, data)
        password_hash = await passwords.hash(password) if password else base.password_hash
        await users.put(name, User(password_hash=password_hash, token=token, legacy=legacy))
        return None

    async def delete_user(_request: Request, data: FieldData) -> Response | None:
        name = username(data)
        await users.delete(name)
        await lockouts.clear(name)
        return None

    async def change_password(_request: Request, data: FieldData) -> Response | None:
        name = username(data)
        _refuse_unsupported(data)
        user = await users.get(name)
        if user is None:
            raise InvalidRequestError(NO_SUCH_USER)
        password = data.get("password")
        if not password:
            raise InvalidRequestError(MISSING_PASSWORD)
        await users.put(name, replace(user, password_hash=await passwords.hash(password)))
        return None

    async def change_policies(_request: Request, data: FieldData) -> Response | None:
        name = username(data)
        user = await users.get(name)
        if user is None:
            raise InvalidRequestError(NO_SUCH_USER)
        token, legacy = apply_token_fields(user.token, user.legacy, data)
        if _given(data, "token_policies")[1]:
            # Vault parses the policies this endpoint is given under either name, not only the legacy one.
            token = replace(token, policies=parse_policies(token.policies))
        await users.put(name, replace(user, token=token, legacy=legacy))
        return None

    return [
        Path(
            "users/?",
            operations={Operation.LIST: list_users},
            synopsis="Manage users allowed to authenticate.",
            description="This endpoint lists the users of this mount.",
        ),
        Path(
            "users/{username}/password",
            fields={
                "username": USERNAME,
                "password": _PASSWORD,
                "password_hash": _PASSWORD_HASH,
            },
            operations={Operation.UPDATE: change_password},
            synopsis="Reset user's password.",
            description="This endpoint allows resetting the user's password.",
        ),
        Path(
            "users/{username}/policies",
            fields={
                "username": USERNAME,
                "policies": _POLICIES,
                "token_policies": TOKEN_FIELDS["token_policies"],
            },
            operations={Operation.UPDATE: change_policies},
            synopsis="Update the policies associated with the username.",
            description="This endpoint allows updating the policies associated with the username.",
        ),
        Path(
            "users/{username}",
            fields={
                "username": USERNAME,
                "password": _PASSWORD,
                "password_hash": _PASSWORD_HASH,
                **_LEGACY_FIELDS,
                **TOKEN_FIELDS,
                "token_strictly_bind_ip": _STRICTLY_BIND_IP,
            },
            operations={
                Operation.CREATE: write_user,
                Operation.UPDATE: write_user,
                Operation.READ: read_user,
                Operation.DELETE: delete_user,
            },
            existence_check=exists,
            synopsis="Manage users allowed to authenticate.",
            description="This endpoint allows you to create, read, update, and delete users that are "
            "allowed to authenticate. Deleting a user will not revoke auth for prior authenticated users.",
        ),
    ]
