"""What the core needs of a backend (a secrets engine or an auth method), and what it gives one.

Backends are built by a factory from a `BackendConfig`; the core then only calls the methods of `Backend`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from strongroom.errors import InvalidRequestError
from strongroom.logical.request import Request
from strongroom.logical.response import Auth, Response, Secret
from strongroom.logical.storage import Storage
from strongroom.util.clock import Clock, SystemClock


@dataclass(frozen=True, slots=True)
class SpecialPaths:
    """Paths (mount-relative glob-like prefixes ending in "*" or exact) that the core treats specially."""

    # Reachable without a token (logins).
    unauthenticated: tuple[str, ...] = ()
    # Need the sudo capability besides the operation's.
    root: tuple[str, ...] = ()


def special_path_matches(patterns: tuple[str, ...], path: str) -> bool:
    """Whether `path` is one of `patterns`, Vault's way: exact, a prefix ending in "*", and "+" standing
    for any one path segment (identity's "oidc/provider/+/token")."""
    return any(_special_match(pattern, path) for pattern in patterns)


def _special_match(pattern: str, path: str) -> bool:
    prefix = pattern.endswith("*")
    wanted = (pattern[:-1] if prefix else pattern).split("/")
    given = path.split("/")
    if len(given) < len(wanted) or (not prefix and len(given) != len(wanted)):
        return False
    last = len(wanted) - 1
    for index, part in enumerate(wanted):
        segment = given[index]
        if part == "+":
            if not segment:
                return False
        elif index == last and prefix:
            return segment.startswith(part)
        elif part != segment:
            return False
    return True


class SystemView(Protocol):
    """What a backend may ask of the system: lease TTL defaults for its mount."""

    def default_lease_ttl(self) -> int:
        """The mount's default lease TTL in seconds, falling back to the system's."""
        ...

    def max_lease_ttl(self) -> int:
        """The mount's maximum lease TTL in seconds, falling back to the system's."""
        ...

    def user_lockout(self) -> UserLockoutConfig:
        """The mount's user lockout settings (Vault's user_lockout_config), defaults filled in."""
        ...

    async def generate_password_from_policy(self, policy_name: str) -> str:
        """A password from the named sys/policies/password policy (Vault's GeneratePasswordFromPolicy);
        InvalidRequestError when there is no such policy."""
        ...


@dataclass(frozen=True, slots=True)
class UserLockoutConfig:
    """Vault's user lockout for auth methods: after `threshold` failed logins, none separated by more than
    `counter_reset` seconds, the user is refused for `duration` seconds. Defaults are Vault's."""

    threshold: int = 5
    duration: int = 15 * 60
    counter_reset: int = 15 * 60
    disabled: bool = False


@runtime_checkable
class LockingBackend(Protocol):
    """An auth backend that locks users out after failed logins: what sys/locked-users asks of it."""

    async def locked_users(self) -> list[str]:
        """The names (alias identifiers) of the users locked out now, sorted."""
        ...

    async def unlock_user(self, name: str) -> None:
        """Clear `name`'s failed logins, so it may log in again at once."""
        ...


@runtime_checkable
class RoleResolver(Protocol):
    """An auth method whose logins name a role (Vault's ResolveRoleOperation): role-scoped quotas ask it
    which role a login request is for. `request` is the login as bound to the mount (its storage, data)."""

    async def resolve_role(self, request: Request) -> str:
        """The role the login is for, or "" when the request names none the method knows."""
        ...


@runtime_checkable
class SecretBackend(Protocol):
    """A backend that issues leased secrets: the lease manager renews and revokes them through these (not
    through handle()). `request` is bound to the mount (its storage, the secret's mount-relative path;
    UPDATE for a renewal, DELETE for a revocation); `secret` carries the lease's internal data, its current
    TTL and, for a renewal, the increment asked for."""

    async def renew_secret(self, request: Request, secret: Secret) -> Response | None:
        """Extend the secret; answer with a Response whose `secret` has the TTL the backend grants."""
        ...

    async def revoke_secret(self, request: Request, secret: Secret) -> None:
        """Revoke the secret (idempotent: revoking one already gone is not an error)."""
        ...


class RenewalRefusedError(InvalidRequestError):
    """A renewal an auth method answers with an error response (Vault's logical.ErrorResponse from an
    AuthRenew): the client gets the message as it is, where an error the method raises otherwise is
    wrapped as Vault wraps returned errors ("failed to renew entry: ...")."""


@runtime_checkable
class LoginRenewer(Protocol):
    """An auth method that re-checks a login when the token it issued is renewed (Vault's AuthRenew).
    `request` is bound to the mount (its storage, the login's mount-relative path, UPDATE); `auth` is the
    token as issued: its policies, metadata, TTL, max TTL and period."""

    async def renew_login(self, request: Request, auth: Auth) -> Auth | None:
        """The login's terms now: `auth` with the role's or user's current TTL (`lease.ttl`, `lease.max_ttl`)
        and `period`. None leaves the token as it is (the renewal answers nothing); raising refuses it."""
        ...


class StaticSystemView:
    """A SystemView with fixed values: the system defaults, and the twin for tests."""

    def __init__(
        self,
        default_ttl: int = 32 * 24 * 3600,
        max_ttl: int = 32 * 24 * 3600,
        lockout: UserLockoutConfig | None = None,
    ) -> None:
        self._default = default_ttl
        self._max = max_ttl
        self._lockout = lockout or UserLockoutConfig()

    def default_lease_ttl(self) -> int:
        return self._default

    def max_lease_ttl(self) -> int:
        return self._max

    def user_lockout(self) -> UserLockoutConfig:
        return self._lockout

    async def generate_password_from_policy(self, policy_name: str) -> str:
        raise InvalidRequestError("no password policy found")


class EventSender(Protocol):
    """How a backend publishes an event of its own, outside any request (Vault's logical.EventSender): a
    scheduled rotation, say. The core stamps it with the mount's plugin info."""

    def send_event(self, event_type: str, metadata: Mapping[str, str], read_path: str) -> None:
        """Publish `event_type` ("database/static-creds-rotate") with `metadata` (paths and names, never a
        secret value) to subscribers allowed to read `read_path` (a full API path)."""
        ...


class NoEvents:
    """An EventSender that publishes nothing: the default, and the twin for tests."""

    def send_event(self, event_type: str, metadata: Mapping[str, str], read_path: str) -> None:
        return None


@dataclass(frozen=True, slots=True)
class BackendConfig:
    """Everything a backend factory receives."""

    storage: Storage
    mount_type: str
    mount_path: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    system: SystemView = field(default_factory=StaticSystemView)
    clock: Clock = field(default_factory=SystemClock)
    events: EventSender = field(default_factory=NoEvents)


class Backend(Protocol):
    """A mounted secrets engine or auth method."""

    @property
    def special_paths(self) -> SpecialPaths:
        """Which of its paths need no token, and which need sudo."""
        ...

    @property
    def per_token_storage(self) -> bool:
        """True when each token gets storage of its own (cubbyhole); the core then prefixes the view."""
        ...

    async def handle(self, request: Request) -> Response | None:
        """Serve a routed request (path relative to the mount). Raise RequestError subclasses on refusal."""
        ...

    async def exists(self, request: Request) -> bool | None:
        """For CREATE/UPDATE: whether the target exists; None when the path declares no existence check."""
        ...

    def has_route(self, path: str) -> bool:
        """Whether any path of the backend matches `path` (for 404 versus 405)."""
        ...

    def canonical_path(self, path: str) -> str:
        """`path` with the names the backend folds (case, surrounding whitespace) folded as its handlers
        fold them: the path the ACL is checked on, so no spelling of a name dodges a rule for it."""
        ...

    def openapi_paths(self) -> dict[str, Any]:
        """The OpenAPI 3 `paths` object for its declared paths, relative to the mount."""
        ...

    async def initialize(self) -> None:
        """Called once after mounting or unsealing, before the first request."""
        ...

    async def cleanup(self) -> None:
        """Called when the mount is disabled or the server seals."""
        ...


BackendFactory = Callable[[BackendConfig], Awaitable[Backend]]
