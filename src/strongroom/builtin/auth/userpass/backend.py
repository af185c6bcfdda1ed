"""The userpass backend: its paths assembled, and the lockout seam sys/locked-users uses.

Layer: builtin (imports framework, logical, argon2 and the package's own modules). `userpass_factory` is the
registry's factory, with production argon2id parameters; `make_userpass_factory` lets tests lower them.
"""

from __future__ import annotations

from argon2 import Parameters

from strongroom.builtin.auth.userpass import paths_login, paths_users
from strongroom.builtin.auth.userpass.lockout import Lockouts
from strongroom.builtin.auth.userpass.models import UserStore
from strongroom.builtin.auth.userpass.passwords import PRODUCTION_PARAMETERS, Passwords
from strongroom.errors import InvalidRequestError
from strongroom.framework import FrameworkBackend
from strongroom.framework.tokenutil import equivalent_policies
from strongroom.logical import Auth, Backend, BackendConfig, BackendFactory, Request, SpecialPaths, SystemView
from strongroom.util.clock import Clock

_HELP = (
    'The "userpass" credential provider allows authentication using a combination of a username and '
    "password. No additional factors are supported.\n\nThe username/password combination is configured "
    'using the "users/" endpoints by a user with root access. Authentication is then done by supplying '
    'the two fields for "login".'
)


class UserpassBackend(FrameworkBackend):
    """A userpass mount: a FrameworkBackend that also answers sys/locked-users (LockingBackend) and re-checks
    the user when a login's token is renewed (LoginRenewer)."""

    def __init__(self, config: BackendConfig, passwords: Passwords) -> None:
        users = UserStore(config.storage)
        self._users = users
        self._lockouts = Lockouts(config.storage)
        self._system: SystemView = config.system
        self._clock: Clock = config.clock
        super().__init__(
            [
                *paths_users.paths(users, self._lockouts, passwords),
                *paths_login.paths(users, self._lockouts, passwords, config.system, config.clock),
            ],
            help=_HELP,
            special_paths=SpecialPaths(unauthenticated=("login/*",)),
        )

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        # Vault's userpass: a deleted user's token is quietly left to expire; changed policies refuse.
        user = await self._users.get(auth.metadata.get("username", "").lower())
        if user is None:
            return None
        if not equivalent_policies(user.token.policies, auth.token_policies):
            raise InvalidRequestError("policies have changed, not renewing")
        return user.token.renewal(auth)

    async def locked_users(self) -> list[str]:
        return await self._lockouts.locked_names(self._system.user_lockout(), self._clock.now())

    async def unlock_user(self, name: str) -> None:
        await self._lockouts.clear(name.lower())


def make_userpass_factory(parameters: Parameters = PRODUCTION_PARAMETERS) -> BackendFactory:
    """A userpass factory hashing with `parameters` (tests pass cheap ones; production uses the default)."""

    async def factory(config: BackendConfig) -> Backend:
        return UserpassBackend(config, Passwords(parameters))

    return factory


userpass_factory: BackendFactory = make_userpass_factory()
