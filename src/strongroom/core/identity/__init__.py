"""The identity/ backend: Vault's identity store over HTTP, one module per endpoint family.

Layer: core (framework-declared paths over the identity service). Mounted always, like sys/ and token/.
"""

from __future__ import annotations

from strongroom.core.identity import (
    paths_alias,
    paths_entity,
    paths_group,
    paths_oidc_flow,
    paths_oidc_key,
    paths_oidc_provider,
    paths_oidc_token,
)
from strongroom.core.identity.oidc_common import OIDCState
from strongroom.core.identity.paths_oidc_flow import TokenCreated
from strongroom.framework import FrameworkBackend
from strongroom.identity import IdentityStore
from strongroom.logical.backend import SpecialPaths
from strongroom.util.clock import Clock


def identity_backend(
    store: IdentityStore, *, api_addr: str, clock: Clock, token_created: TokenCreated
) -> FrameworkBackend:
    """The backend mounted at identity/; `api_addr` is the default issuer of identity tokens, and
    `token_created` tells when a token (by its hash) was created (the OIDC provider's max_age)."""
    oidc = OIDCState(api_addr, clock)
    return FrameworkBackend(
        [
            *paths_entity.paths(store),
            *paths_alias.paths(store),
            *paths_group.paths(store.groups),
            *paths_oidc_key.paths(oidc),
            *paths_oidc_token.paths(oidc, store),
            *paths_oidc_provider.paths(oidc),
            *paths_oidc_flow.paths(oidc, store, token_created),
        ],
        help="Identity store: entities, aliases and groups, who a client is across auth methods.",
        special_paths=SpecialPaths(unauthenticated=paths_oidc_key.UNAUTHENTICATED),
    )
