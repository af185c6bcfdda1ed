"""login/<username>: bind to the directory as the user, gather its groups' policies, answer with an Auth.

Layer: builtin. Imports errors, framework, logical, util, the userpass lockout records and this package.
The directory work is blocking (ldap3) and runs in a worker thread. Policies are the config's token_policies,
then those of every group (the directory's and the local user's extra ones) known under groups/, then the
local user's own; the entity alias is the user's `userattr` value (or its DN), or the username itself when
username_as_alias is set; each group becomes a group alias.

Invariant: the password goes to the directory's bind and nowhere else: not to storage, not to the token,
not to a log line or an error. A locked-out user is refused before the directory is asked.
"""

from __future__ import annotations

import asyncio
import logging

from strongroom.builtin.auth.ldap.directory import authenticate
from strongroom.builtin.auth.ldap.filters import DirectoryError
from strongroom.builtin.auth.ldap.models import LdapConfig, group_policies, load_config, local_user
from strongroom.builtin.auth.userpass.lockout import Lockouts
from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.framework.tokenutil import address_allowed
from strongroom.logical import LoginAlias, Operation, Request, Response, Storage, SystemView
from strongroom.util.clock import Clock

log = logging.getLogger("strongroom.auth.ldap")


async def grants(
    storage: Storage, config: LdapConfig, username: str, directory_groups: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(groups, policies) of a user: its local extra groups then its directory groups, and the policies of
    every such group known under groups/ followed by the local user's own."""
    user = await local_user(storage, username)
    groups = (*(user.groups if user else ()), *directory_groups)
    policies: list[str] = []
    for group in groups:
        policies.extend(await group_policies(storage, config.fold(group)))
    if user is not None:
        policies.extend(user.policies)
    # Vault's strutil.RemoveDuplicates(policies, true): lower-cased, unique, sorted.
    return groups, tuple(sorted({policy.lower() for policy in policies if policy.strip()}))


def paths(lockouts: Lockouts, system: SystemView, clock: Clock) -> list[Path]:
    """The login path of one LDAP mount."""

    async def login(request: Request, data: FieldData) -> Response:
        assert request.storage is not None
        config = await load_config(request.storage)
        if not address_allowed(request.connection.remote_address, config.token.bound_cidrs):
            raise PermissionDeniedError()
        # Vault trims the name (some directories ignore surrounding spaces, which would dodge the lockout).
        username = config.fold(str(data.get("username")).strip())
        if not username:
            raise NotFoundError(UNSUPPORTED_PATH)
        password: str = data.get("password") or ""
        lockout = system.user_lockout()
        if await lockouts.is_locked(username, lockout, clock.now()):
            log.warning("login attempts exceeded, user is locked out: %s", request.mount_point + request.path)
            raise PermissionDeniedError()
        try:
            found = await asyncio.to_thread(
                authenticate, config.directory, username, password, config.username_as_alias
            )
        except DirectoryError as exc:
            if exc.invalid_credentials:
                await lockouts.record_failure(username, lockout, clock.now())
            raise InvalidRequestError(exc.message) from None
        await lockouts.clear(username)

        groups, granted = await grants(request.storage, config, username, found.groups)
        auth = config.token.to_auth(
            display_name=username,
            metadata={"username": username},
            extra_policies=granted,
            alias=LoginAlias(name=found.alias_name, metadata={"name": username}),
            group_aliases=tuple(group for group in groups if group),
        )
        response = Response(auth=auth)
        if not found.groups:
            response = response.with_warning(
                f'no LDAP groups found in groupDN "{config.directory.groupdn}"; only policies from '
                "locally-defined groups available"
            )
        return response

    return [
        Path(
            "login/{username*}",
            fields={
                "username": Field(FieldType.STRING, "DN (distinguished name) to be used for login."),
                "password": Field(FieldType.STRING, "Password for this user."),
            },
            operations={Operation.UPDATE: login},
            synopsis="Log in with a username and password.",
            description="This endpoint authenticates using a username and password. Please be sure to read "
            "the note on escaping from the path-help for the 'config' endpoint.",
        )
    ]
