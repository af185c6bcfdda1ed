"""Turning a login's Auth into a token: the TTLs clamped by the auth mount and the system, the default
policy added, the token stored, and the `auth` block of the response filled in.

Every auth method's login passes here, so this is where a login's alias finds (or creates) its identity
entity: one mechanism for every method, present and future.

Layer: core. Imports core.leasing, tokens, identity, router, logical, errors and util.
Invariant: the token ID appears only in the response to the login that created it.
Invariant: no login, through any auth method, yields a root token; a refused login stores nothing (the
entity of a new alias is created only once the login is known to succeed).
Invariant: a disabled entity's logins are refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.core.leasing import create_leased_token
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError, PermissionDeniedError
from strongroom.identity import NO_GRANT
from strongroom.logical import Auth, LeaseOptions, Request
from strongroom.router import MountEntry
from strongroom.tokens import TokenEntry, TokenParams
from strongroom.tokens.ttl import calculate_ttl
from strongroom.tokens.types import resolve_token_type
from strongroom.util.policies import NON_ASSIGNABLE, ROOT, sanitize_policies


@dataclass(frozen=True, slots=True)
class Issued:
    """The completed Auth, the stored token it names (its lease stored with it), and the warnings its TTL
    arithmetic produced."""

    auth: Auth
    token: TokenEntry
    warnings: tuple[str, ...] = ()


# Policies granted by recent logins, by what they were worked out from: a role's logins all ask the same.
_GRANTED: dict[tuple[tuple[str, ...], bool, tuple[str, ...]], tuple[str, ...]] = {}
_GRANTED_SIZE = 256


def login_policies(auth: Auth, identity_policies: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The policies a login's token gets: sanitized as Vault does, "default" added unless the Auth says not
    to; InvalidRequestError (with OpenBao's wording) when they, or the `identity_policies` its entity will
    add, would include "root" or a policy the server keeps for itself, whatever the auth method or the case
    and spacing the name was stored with."""
    asked = (tuple(auth.policies), auth.no_default_policy, tuple(identity_policies))
    granted = _GRANTED.get(asked)
    if granted is None:
        granted = _login_policies(auth, identity_policies)
        if len(_GRANTED) >= _GRANTED_SIZE:
            del _GRANTED[next(iter(_GRANTED))]  # the oldest first
        _GRANTED[asked] = granted
    return granted


def _login_policies(auth: Auth, identity_policies: tuple[str, ...]) -> tuple[str, ...]:
    policies = sanitize_policies(auth.policies, add_default=not auth.no_default_policy)
    # As OpenBao, the check covers the identity policies the token will also carry, not only its own.
    every = sanitize_policies((*policies, *identity_policies), add_default=False)
    if ROOT in every:
        raise InvalidRequestError("auth methods cannot create root tokens")
    for policy in NON_ASSIGNABLE:
        if policy in every:
            raise InvalidRequestError(f'cannot assign policy "{policy}"')
    return policies


def display_name(entry: MountEntry, given: str) -> str:
    """Vault's display name for a login token: the mount path, dashed, then the backend's name for it."""
    base = entry.path.strip("/").replace("/", "-")
    return f"{base}-{given}" if given else base


async def issue_login_token(services: Services, entry: MountEntry, request: Request, auth: Auth) -> Issued:
    """Create the token a successful login earned, with the auth mount's TTL limits."""
    system = services.mounts.system_view(entry)
    now = services.tokens.clock.now()
    period = auth.period
    system_max = system.max_lease_ttl()
    max_ttl = min(auth.lease.max_ttl or system_max, system_max)
    result = calculate_ttl(
        now=now,
        start_time=now,
        increment=0,
        backend_ttl=auth.lease.ttl,
        period=period,
        explicit_max_ttl=auth.explicit_max_ttl,
        default_ttl=system.default_lease_ttl(),
        max_ttl=max_ttl,
    )
    identity = services.identity
    alias = auth.alias if auth.alias is not None and auth.alias.name else None
    # Checked as the entity will stand after this login (external groups from the auth method included),
    # before anything is stored.
    grant = (
        identity.login_grant(entry.accessor, alias.name, auth.group_aliases)
        if alias is not None
        else NO_GRANT
    )
    if grant.disabled:
        raise PermissionDeniedError()
    policies = login_policies(auth, grant.policies)
    entity_id = auth.entity_id
    if alias is not None:
        entity = await identity.login_entity(
            entry.accessor, entry.type, entry.api_path, alias.name, alias.metadata
        )
        await identity.groups.refresh_external(entity.id, entry.accessor, auth.group_aliases)
        entity_id = entity.id
    token_type = resolve_token_type(entry.config.token_type, auth.token_type)
    new = await create_leased_token(
        services.leases,
        services.tokens,
        TokenParams(
            policies=policies,
            meta=dict(auth.metadata) or None,
            display_name=display_name(entry, auth.display_name),
            num_uses=auth.num_uses,
            ttl=result.ttl,
            explicit_max_ttl=auth.explicit_max_ttl,
            max_ttl=max_ttl,
            period=period,
            renewable=auth.lease.renewable,
            type=token_type,
            path=request.mount_point + request.path,
            entity_id=entity_id,
            bound_cidrs=auth.bound_cidrs,
        ),
    )
    token_id, token = new.token_id, new.entry
    issued = Auth(
        policies=tuple(sorted({*policies, *grant.policies})),
        token_policies=policies,
        identity_policies=grant.policies,
        metadata=dict(auth.metadata),
        display_name=token.display_name,
        lease=LeaseOptions(ttl=token.ttl, renewable=token.renewable),
        explicit_max_ttl=token.explicit_max_ttl,
        period=token.period,
        num_uses=token.num_uses,
        token_type=str(token.type),
        orphan=True,
        entity_id=token.entity_id,
        client_token=token_id,
        accessor=token.accessor,
    )
    return Issued(auth=issued, token=token, warnings=result.warnings)
