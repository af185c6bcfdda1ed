"""login/<username>: check a password and answer with the Auth the core turns into a token.

Layer: builtin (imports framework, logical and the package's own modules).

Invariant: a wrong password and an unknown user get the same error after the same work (an unknown user's
password is verified against a dummy hash), so neither the answer nor its timing tells them apart. A user
locked out is refused before its password is checked.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from strongroom.builtin.auth.userpass.lockout import Lockouts
from strongroom.builtin.auth.userpass.models import UserStore
from strongroom.builtin.auth.userpass.passwords import Passwords
from strongroom.builtin.auth.userpass.paths_users import USERNAME, username
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.tokenutil import address_allowed
from strongroom.logical import LoginAlias, Operation, Request, Response, SystemView
from strongroom.util.clock import Clock

log = logging.getLogger("strongroom.auth.userpass")

# Vault's logical.ErrInvalidCredentials as userpass words it: one message for both failures.
INVALID_CREDENTIALS = "invalid username or password"


def paths(
    users: UserStore, lockouts: Lockouts, passwords: Passwords, system: SystemView, clock: Clock
) -> list[Path]:
    """The login path of one userpass mount."""

    async def login(request: Request, data: FieldData) -> Response:
        name = username(data)
        password = data.get("password")
        if not password:
            raise InvalidRequestError("missing password")
        lockout = system.user_lockout()
        user = await users.get(name)
        if user is None:
            await passwords.verify_nobody(password)
            raise InvalidRequestError(INVALID_CREDENTIALS)
        if await lockouts.is_locked(name, lockout, clock.now()):
            log.warning("login attempts exceeded, user is locked out: %s", request.mount_point + request.path)
            raise PermissionDeniedError()
        if not await passwords.verify(user.password_hash, password):
            await lockouts.record_failure(name, lockout, clock.now())
            raise InvalidRequestError(INVALID_CREDENTIALS)
        await lockouts.clear(name)
        if not address_allowed(request.connection.remote_address, user.token.bound_cidrs):
            raise PermissionDeniedError()
        if passwords.needs_rehash(user.password_hash):
            await users.put(name, replace(user, password_hash=await passwords.hash(password)))
        auth = user.token.to_auth(display_name=name, metadata={"username": name}, alias=LoginAlias(name=name))
        return Response(auth=auth)

    return [
        Path(
            "login/{username}",
            fields={
                "username": USERNAME,
                "password": Field(FieldType.STRING, "Password for this user."),
            },
            operations={Operation.UPDATE: login},
            synopsis="Log in with a username and password.",
            description="This endpoint authenticates using a username and password.",
        )
    ]
