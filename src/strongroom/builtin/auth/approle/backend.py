"""The "approle" auth method factory. Layer: builtin.

Imports errors, framework, logical and the approle modules. Login is the one path reachable without a token;
a login's token renews only while its role exists, with the role's current token TTLs.
"""

from __future__ import annotations

from strongroom.builtin.auth.approle import paths_login, paths_role, paths_role_fields, paths_secret_id
from strongroom.builtin.auth.approle.store import AppRoleStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.logical import Auth, Backend, BackendConfig, Request, SpecialPaths

HELP = """
Any registered Role can authenticate itself with OpenBao. The credentials
depends on the constraints that are set on the Role. One common required
credential is the 'role_id' which is a unique identifier of the Role.
It can be retrieved from the 'role/<appname>/role-id' endpoint.

The default constraint configuration is 'bind_secret_id', which requires
the credential 'secret_id' to be presented during login. Refer to the
documentation for other types of constraints.
"""


class AppRoleBackend(FrameworkBackend):
    """An AppRole mount: a FrameworkBackend whose logins' tokens renew on the role's terms (LoginRenewer)."""

    def __init__(self, config: BackendConfig) -> None:
        self._store = AppRoleStore(config.storage)
        super().__init__(
            [
                *paths_login.paths(self._store, config.clock),
                *paths_role.paths(self._store, config.system),
                *paths_role_fields.paths(self._store, config.system),
                *paths_secret_id.paths(self._store, config.system, config.clock),
            ],
            help=HELP,
            special_paths=SpecialPaths(unauthenticated=("login",)),
        )

    async def resolve_role(self, request: Request) -> str:
        # Vault's AppRole resolves a login to the name of the role its role_id belongs to.
        role_id = request.data.get("role_id")
        if not isinstance(role_id, str) or not role_id.strip():
            return ""
        role = await self._store.role_for_role_id(role_id.strip())
        return "" if role is None else role.name

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        # Vault's AppRole checks only that the role still exists; a change of its policies does not stop
        # the renewal (OpenBao 2.x behaves the same).
        name = auth.metadata.get("role_name", "")
        if not name:
            raise InvalidRequestError("failed to fetch role_name during renewal")
        role = await self._store.role(name)
        if role is None:
            raise InvalidRequestError(f'role "{name}" does not exist during renewal')
        return role.token.renewal(auth)


async def approle_factory(config: BackendConfig) -> Backend:
    """An AppRole auth method over the mount's storage."""
    return AppRoleBackend(config)
