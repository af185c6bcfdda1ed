"""The "jwt" auth method factory (also mounted as type "oidc", as Vault mounts both with one plugin).

Layer: builtin. Imports errors, framework, logical, util and the jwt package's modules. A login's token
renews only while its role exists, with the role's current token TTLs.
Logins: a signed JWT at `login` (role_type "jwt") or the OIDC browser flow at oidc/auth_url and
oidc/callback (role_type "oidc"); both end in the same Auth.
"""

from __future__ import annotations

from strongroom.builtin.auth.jwt import paths_config, paths_login, paths_oidc, paths_role
from strongroom.builtin.auth.jwt.models import load_role
from strongroom.builtin.auth.jwt.source import KeySource
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.logical import Auth, Backend, BackendConfig, Request, SpecialPaths

HELP = """
The JWT backend plugin allows authentication using JWTs (including OIDC).
"""


class JWTBackend(FrameworkBackend):
    """A jwt mount: a FrameworkBackend whose logins' tokens renew on their role's terms (LoginRenewer)."""

    def __init__(self, config: BackendConfig) -> None:
        source = KeySource(config.clock)
        super().__init__(
            [
                *paths_config.paths(source),
                *paths_role.paths(config.system),
                *paths_login.paths(source),
                *paths_oidc.paths(source),
            ],
            help=HELP,
            special_paths=SpecialPaths(
                unauthenticated=("login", "oidc/auth_url", "oidc/callback", "oidc/poll")
            ),
        )

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        # As Vault's jwt plugin: the role must still exist; its policies are not compared.
        assert request.storage is not None
        name = auth.metadata.get("role", "")
        if not name:
            raise InvalidRequestError("failed to fetch role_name during renewal")
        role = await load_role(request.storage, name)
        if role is None:
            raise InvalidRequestError(f"role {name} does not exist during renewal")
        return role.token.renewal(auth)


async def jwt_factory(config: BackendConfig) -> Backend:
    """A jwt (or oidc) auth method: config, roles, and login with a signed JWT."""
    return JWTBackend(config)
