"""Renewing a login's token on the terms of the auth method that issued it (Vault's AuthRenew): the mount at
the token's login path re-checks the login (the role or user still exists, its policies unchanged) and says
what TTL, maximum TTL and period the token renews with now.

Layer: core. Imports core.mounts (for the router and mount views), the token backend's seam, tokens, logical
and errors. Auth methods implement strongroom.logical.LoginRenewer; this module is the only caller.
Invariant: a renewal the auth method refuses changes nothing; its reason reaches the client in Vault's
"failed to renew entry" wording, and never holds the token.
"""

from __future__ import annotations

from collections.abc import Callable

from strongroom.core.mounts import MountManager
from strongroom.core.token_paths_common import LoginTerms, go_error
from strongroom.errors import RequestError
from strongroom.logical import Auth, Connection, LeaseOptions, LoginRenewer, Operation, Request
from strongroom.logical.backend import RenewalRefusedError
from strongroom.tokens import TokenEntry


class MountLogins:
    """The token backend's LoginRenewal: asks the auth mount routing the token's login path."""

    def __init__(self, mounts: Callable[[], MountManager]) -> None:
        # A getter, because the token backend is built before the mount manager that will mount it exists.
        self._mounts = mounts

    async def __call__(self, token: TokenEntry, connection: Connection) -> LoginTerms | None:
        mounts = self._mounts()
        route = mounts.router.route(token.path)
        if route is None:
            raise go_error(f'failed to renew entry: no handler for route "{token.path}"')
        backend = route.backend
        if not isinstance(backend, LoginRenewer):
            return None
        entry = route.entry
        request = Request(
            operation=Operation.UPDATE,
            path=route.relative_path,
            storage=mounts.storage_for(entry),
            mount_point=entry.api_path,
            mount_type=entry.type,
            mount_accessor=entry.accessor,
            connection=connection,
        )
        try:
            renewed = await backend.renew_login(request, issued_auth(token))
        except RenewalRefusedError:
            raise
        except RequestError as exc:
            raise go_error(f"failed to renew entry: {exc}") from None
        if renewed is None:
            return LoginTerms(declined=True)
        # The auth mount's limits, as at login (core/login.py): its default TTL stands in for none given.
        system = mounts.system_view(entry)
        mount_max = system.max_lease_ttl()
        return LoginTerms(
            ttl=renewed.lease.ttl or system.default_lease_ttl(),
            max_ttl=min(renewed.lease.max_ttl or mount_max, mount_max),
            period=renewed.period,
        )


def issued_auth(token: TokenEntry) -> Auth:
    """The Auth of the login that issued `token`, as the token records it (no token ID)."""
    metadata = dict(token.meta) if token.meta is not None else {}
    return Auth(
        policies=token.policies,
        token_policies=token.policies,
        metadata=metadata,
        display_name=token.display_name,
        lease=LeaseOptions(ttl=token.creation_ttl, max_ttl=token.max_ttl, renewable=token.renewable),
        explicit_max_ttl=token.explicit_max_ttl,
        period=token.period,
        num_uses=token.num_uses,
        token_type=str(token.type),
        orphan=token.orphan,
        entity_id=token.entity_id,
        bound_cidrs=token.bound_cidrs,
        accessor=token.accessor,
    )
