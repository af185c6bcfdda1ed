"""What a backend answers: data, warnings, and optionally a secret (lease) or an auth (token to issue)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.util.frozen import replace


@dataclass(frozen=True, slots=True)
class LeaseOptions:
    """Lease timing shared by secrets and auth: all in seconds; 0 means "use the mount or system default"."""

    ttl: int = 0
    max_ttl: int = 0
    renewable: bool = False
    increment: int = 0


@dataclass(frozen=True, slots=True)
class Secret:
    """A leased secret: the core registers a lease for it. `internal` stays server-side (revocation data)."""

    lease: LeaseOptions = field(default_factory=LeaseOptions)
    internal: Mapping[str, Any] = field(default_factory=dict)
    lease_id: str = ""


@dataclass(frozen=True, slots=True)
class LoginAlias:
    """Who a login says the client is at its auth mount (Vault's logical.Alias): the userpass username, the
    AppRole role_id, the JWT user claim. The core maps it to an identity entity."""

    name: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Auth:
    """The token a login (or token create) yields. The core issues the token unless `client_token` is set."""

    policies: tuple[str, ...] = ()
    token_policies: tuple[str, ...] = ()
    identity_policies: tuple[str, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    display_name: str = ""
    lease: LeaseOptions = field(default_factory=LeaseOptions)
    explicit_max_ttl: int = 0
    period: int = 0
    num_uses: int = 0
    no_default_policy: bool = False
    token_type: str = "service"
    orphan: bool = False
    entity_id: str = ""
    alias: LoginAlias | None = None
    # The names of the client's groups at the auth method (JWT groups_claim): external group aliases.
    group_aliases: tuple[str, ...] = ()
    # Client addresses (CIDR blocks) the issued token may be used from; empty means anywhere.
    bound_cidrs: tuple[str, ...] = ()
    client_token: str = field(default="", repr=False)
    accessor: str = ""
    internal: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Response:
    """A backend's answer. With `raw_body` set, the http layer sends those bytes as they are."""

    data: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()
    secret: Secret | None = None
    auth: Auth | None = None
    # An HTTP status to use instead of the default (200 with data, 204 without).
    status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None
    content_type: str = "application/json"
    # The secret's lease_duration and renewable as shown in the body (set by the lease stage).
    lease_id: str = ""
    lease_duration: int = 0
    renewable: bool = False
    wrap_info: Mapping[str, Any] | None = None
    # Vault's sys/ quirk: some endpoints also repeat `data` at the top level of the body.
    legacy_top_level: bool = False

    def evolve(self, **changes: Any) -> Response:
        """A copy with `changes` applied."""
        return replace(self, **changes)

    def with_warning(self, warning: str) -> Response:
        """A copy with one more warning."""
        return replace(self, warnings=(*self.warnings, warning))
