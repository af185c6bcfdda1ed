"""The "jwt" auth method factory (also mounted as type "oidc", as Vault mounts both with one plugin).

Layer: builtin. Imports framework, logical, util and the jwt package's modules.
Only role_type "jwt" logins are served; the OIDC browser flow (oidc/auth_url, oidc/callback) is refused
with a clear error.
"""

from __future__ import annotations

from strongroom.builtin.auth.jwt import paths_config, paths_login, paths_role
from strongroom.builtin.auth.jwt.source import KeySource
from strongroom.framework import FrameworkBackend
from strongroom.logical import Backend, BackendConfig, SpecialPaths

HELP = """
The JWT backend plugin allows authentication using JWTs (including OIDC).
"""


async def jwt_factory(config: BackendConfig) -> Backend:
    """A jwt (or oidc) auth method: config, roles, and login with a signed JWT."""
    source = KeySource(config.clock)
    return FrameworkBackend(
        [
            *paths_config.paths(source),
            *paths_role.paths(config.system),
            *paths_login.paths(source),
        ],
        help=HELP,
        special_paths=SpecialPaths(unauthenticated=("login", "oidc/auth_url", "oidc/callback", "oidc/poll")),
    )
