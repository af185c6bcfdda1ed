"""The "ldap" auth method factory: config, local groups and users, and login by binding to the directory.

Layer: builtin. Imports errors, framework, logical, util, the userpass lockout records and this package.
A login's token renews on the config's current TTLs while its policies are unchanged. Vault re-runs the
whole login, with the user's password kept in the token's internal data; this server keeps no password, so
a renewal looks the user's groups up with the service account (binddn/bindpass) instead, and, without one,
renews on the config's TTLs without re-checking the policies.

Invariant: the ACL sees the user or group name the handlers act on. Names fold to lower case unless the
config sets case_sensitive_names, a stored setting, so the backend keeps it in memory (read at initialize,
refreshed after each config write) to fold `users/<name>` and `groups/<name>` in canonical_path.
"""

from __future__ import annotations

import asyncio
import re

from strongroom.builtin.auth.ldap import paths_config, paths_local, paths_login
from strongroom.builtin.auth.ldap.directory import current_groups
from strongroom.builtin.auth.ldap.filters import DirectoryError
from strongroom.builtin.auth.ldap.models import load_config
from strongroom.builtin.auth.userpass.lockout import Lockouts
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.framework.tokenutil import equivalent_policies
from strongroom.logical import (
    Auth,
    Backend,
    BackendConfig,
    Operation,
    Request,
    Response,
    SpecialPaths,
    Storage,
    SystemView,
)
from strongroom.util.clock import Clock

HELP = """
The "ldap" credential provider allows authentication querying
a LDAP server, checking username and password, and associating groups
to set of policies.

Configuration of the server is done through the "config" and "groups"
endpoints by a user with root access. Authentication is then done
by supplying the two fields for "login".
"""

# The paths that name a local user or group (not their lists).
_NAMED = re.compile(r"^(users|groups)/(.+)$")


class LdapBackend(FrameworkBackend):
    """An LDAP mount: a FrameworkBackend that also answers sys/locked-users (LockingBackend) and renews its
    logins' tokens on the config's terms (LoginRenewer)."""

    def __init__(self, config: BackendConfig) -> None:
        self._storage: Storage = config.storage
        self._case_sensitive = False
        self._lockouts = Lockouts(config.storage)
        self._system: SystemView = config.system
        self._clock: Clock = config.clock
        super().__init__(
            [
                *paths_config.paths(),
                *paths_local.paths(),
                *paths_login.paths(self._lockouts, config.system, config.clock),
            ],
            help=HELP,
            special_paths=SpecialPaths(unauthenticated=("login/*",)),
        )

    async def initialize(self) -> None:
        await super().initialize()
        self._case_sensitive = (await load_config(self._storage)).case_sensitive_names

    async def handle(self, request: Request) -> Response | None:
        response = await super().handle(request)
        if request.path == "config" and request.operation is Operation.UPDATE:
            self._case_sensitive = (await load_config(self._storage)).case_sensitive_names
        return response

    def canonical_path(self, path: str) -> str:
        named = _NAMED.match(path)
        if named is None or self._case_sensitive:
            return path
        return f"{named.group(1)}/{named.group(2).lower()}"

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        assert request.storage is not None
        config = await load_config(request.storage)
        username = auth.metadata.get("username", "")
        try:
            found = await asyncio.to_thread(current_groups, config.directory, username)
        except DirectoryError as exc:
            raise InvalidRequestError(exc.message) from None
        if found is None:
            # No service account: the directory groups cannot be read again, so nothing is re-checked.
            return config.token.renewal(auth)
        _groups, granted = await paths_login.grants(request.storage, config, username, found)
        if not equivalent_policies((*config.token.policies, *granted), auth.token_policies):
            raise InvalidRequestError("policies have changed, not renewing")
        return config.token.renewal(auth)

    async def locked_users(self) -> list[str]:
        return await self._lockouts.locked_names(self._system.user_lockout(), self._clock.now())

    async def unlock_user(self, name: str) -> None:
        await self._lockouts.clear(name)


async def ldap_factory(config: BackendConfig) -> Backend:
    """The registry's factory."""
    return LdapBackend(config)
