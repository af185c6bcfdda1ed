"""The "approle" auth method factory. Layer: builtin.

Imports framework, logical and the approle path modules. Login is the one path reachable without a token.
"""

from __future__ import annotations

from strongroom.builtin.auth.approle import paths_login, paths_role, paths_role_fields, paths_secret_id
from strongroom.builtin.auth.approle.store import AppRoleStore
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig, SpecialPaths

HELP = """
Any registered Role can authenticate itself with OpenBao. The credentials
depends on the constraints that are set on the Role. One common required
credential is the 'role_id' which is a unique identifier of the Role.
It can be retrieved from the 'role/<appname>/role-id' endpoint.

The default constraint configuration is 'bind_secret_id', which requires
the credential 'secret_id' to be presented during login. Refer to the
documentation for other types of constraints.
"""


async def approle_factory(config: BackendConfig) -> Backend:
    """An AppRole auth method over the mount's storage."""
    store = AppRoleStore(config.storage)
    return FrameworkBackend(
        [
            *paths_login.paths(store, config.clock),
            *paths_role.paths(store, config.system),
            *paths_role_fields.paths(store, config.system),
            *paths_secret_id.paths(store, config.system, config.clock),
        ],
        help=HELP,
        special_paths=SpecialPaths(unauthenticated=("login",)),
    )
