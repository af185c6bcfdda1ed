"""What the auth/token/ endpoint families share: their services and Vault's response shapes.

Layer: core (the token backend). Imports framework, logical, tokens, util.

Invariant: a token ID reaches a response only where Vault returns it (create, lookup, renew), never an error.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.logical import Auth, Connection, LeaseOptions, Request, Response, SystemView
from strongroom.logical.backend import StaticSystemView
from strongroom.tokens import RoleStore, TokenEntry, TokenStore, TokenType
from strongroom.util.clock import Clock, SystemClock, rfc3339
from strongroom.util.durations import parse_duration

SudoCheck = Callable[[Request], Awaitable[bool]]
"""Whether the request's token has root or sudo on the request's path."""

PolicyExists = Callable[[str], Awaitable[bool]]
"""Whether an ACL policy of that name exists (for Vault's "Policy ... does not exist" warnings)."""


@dataclass(frozen=True, slots=True)
class LoginTerms:
    """What the auth method that issued a token grants its renewal now (seconds, already clamped by the
    auth mount); `declined`: the method answered nothing, so the token is left as it is."""

    ttl: int = 0
    max_ttl: int = 0
    period: int = 0
    declined: bool = False


# The token to renew, and the connection the renewal came over (the cert auth method checks that it
# presents the login's certificate again).
LoginRenewal = Callable[[TokenEntry, Connection], Awaitable[LoginTerms | None]]
# The policies a token's entity (and its groups) add now, by entity ID; lookups show them.
IdentityPolicies = Callable[[str], tuple[str, ...]]


def no_identity(_entity_id: str) -> tuple[str, ...]:
    """No identity store: entities add nothing."""
    return ()


# The entity (ID, disabled) behind an alias name at the token mount with this accessor, created if new:
# how a token role's allowed_entity_aliases bind a created token to an entity.
EntityOfAlias = Callable[[str, str], Awaitable[tuple[str, bool]]]


"""The issuing auth method's terms for renewing a login's token, after it re-checked the login (raising if
it refuses); None when the method keeps no renewal hook, so the token renews on its own terms."""


async def root_only(request: Request) -> bool:
    """The sudo check used until the core supplies one: only root tokens count as sudo."""
    return request.caller is not None and request.caller.is_root


@dataclass(frozen=True, slots=True)
class TokenServices:
    """Everything the token endpoints act on."""

    store: TokenStore
    roles: RoleStore
    system: SystemView = field(default_factory=StaticSystemView)
    clock: Clock = field(default_factory=SystemClock)
    sudo_check: SudoCheck = root_only
    policy_exists: PolicyExists | None = None
    logins: LoginRenewal | None = None
    identity_policies: IdentityPolicies = no_identity
    entity_of_alias: EntityOfAlias | None = None


def go_error(message: str) -> InvalidRequestError:
    """A 400 worded as OpenBao wraps errors returned (not responded) by a handler."""
    return InvalidRequestError(f"1 error occurred:\n\t* {message}\n\n")


def duration_field(raw: Any) -> int:
    """Seconds from a duration given as a string field ("1h", "3600"), with Go's error text."""
    text = str(raw).strip()
    try:
        return parse_duration(text)
    except ValueError:
        raise InvalidRequestError(f'time: invalid duration "{text}"') from None


def auth_response(entry: TokenEntry, token_id: str, warnings: tuple[str, ...] = ()) -> Response:
    """The `auth` block Vault returns for a token created or renewed here."""
    auth = Auth(
        policies=entry.policies,
        token_policies=entry.policies,
        metadata=dict(entry.meta) if entry.meta is not None else {},
        display_name=entry.display_name,
        lease=LeaseOptions(ttl=entry.ttl, renewable=entry.renewable),
        explicit_max_ttl=entry.explicit_max_ttl,
        period=entry.period,
        num_uses=entry.num_uses,
        token_type=str(entry.type),
        orphan=entry.orphan,
        entity_id=entry.entity_id,
        client_token=token_id,
        accessor=entry.accessor,
    )
    return Response(auth=auth, warnings=warnings)


def lookup_data(
    entry: TokenEntry, token_id: str, now: float, identity_policies: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The `data` of auth/token/lookup*, with Vault's fields (the parent is never disclosed); the entity's
    policies, when it has any, as identity_policies."""
    head, tail = _described(entry)
    data = dict(head)
    data["id"] = token_id
    if entry.meta is not None:
        data["meta"] = dict(entry.meta)
    data["policies"] = list(entry.policies)
    if entry.expire_time is not None:
        data["ttl"] = entry.remaining_ttl(now)
    if identity_policies:
        data["identity_policies"] = list(identity_policies)
        data["external_namespace_policies"] = {}
    if tail:
        data.update(tail)
        if "bound_cidrs" in tail:
            data["bound_cidrs"] = list(tail["bound_cidrs"])
    return data


# Lookup data that only the entry decides, by token hash: a token is looked up again and again, and the
# store hands out the same frozen entry while the token is unchanged (a changed token is a new entry).
DESCRIBED_ENTRIES = 4096
_DESCRIBED: dict[str, tuple[TokenEntry, dict[str, Any], dict[str, Any]]] = {}


def _described(entry: TokenEntry) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of `entry`'s lookup data before identity_policies (in Vault's order; "id" and "ttl" left
    for the caller) and after them. Neither holds the token ID."""
    known = _DESCRIBED.get(entry.id_hash)
    if known is not None and known[0] is entry:
        return known[1], known[2]
    batch = entry.type is TokenType.BATCH
    head: dict[str, Any] = {
        "accessor": entry.accessor,
        "creation_time": int(entry.creation_time),
        "creation_ttl": entry.creation_ttl,
        "display_name": entry.display_name,
        "entity_id": entry.entity_id,
        "expire_time": None,
        "explicit_max_ttl": entry.explicit_max_ttl,
        "id": "",
        "issue_time": _timestamp(entry.creation_time, whole_seconds=batch),
        "meta": None,
        "num_uses": entry.num_uses,
        "orphan": entry.orphan,
        "path": entry.path,
        "policies": [],
        "renewable": entry.renewable and entry.expire_time is not None,
        "ttl": 0,
        "type": str(entry.type),
    }
    if entry.expire_time is not None:
        head["expire_time"] = _timestamp(entry.expire_time, whole_seconds=batch)
    tail: dict[str, Any] = {}
    if entry.last_renewal_time is not None:
        tail["last_renewal_time"] = int(entry.last_renewal_time)
        tail["last_renewal"] = rfc3339(entry.last_renewal_time)
    if entry.role:
        tail["role"] = entry.role
    if entry.period:
        tail["period"] = entry.period
    if entry.bound_cidrs:
        tail["bound_cidrs"] = tuple(_cidr_text(block) for block in entry.bound_cidrs)
    if len(_DESCRIBED) >= DESCRIBED_ENTRIES:
        del _DESCRIBED[next(iter(_DESCRIBED))]  # the oldest first
    _DESCRIBED[entry.id_hash] = (entry, head, tail)
    return head, tail


def _cidr_text(block: str) -> str:
    """A CIDR block as Vault prints it: a single host as its bare address ("127.0.0.1", not ".../32")."""
    network = ipaddress.ip_network(block, strict=False)
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


def _timestamp(value: float, *, whole_seconds: bool) -> str:
    # Batch tokens carry their creation time in whole seconds, so Vault prints them without a fraction.
    if whole_seconds:
        return datetime.fromtimestamp(int(value), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return rfc3339(value)
