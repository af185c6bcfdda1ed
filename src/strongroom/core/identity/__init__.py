"""The identity/ backend: Vault's identity store over HTTP, one module per endpoint family.

Layer: core (framework-declared paths over the identity service). Mounted always, like sys/ and token/.
"""

from __future__ import annotations

from strongroom.core.identity import paths_alias, paths_entity, paths_group
from strongroom.framework import FrameworkBackend
from strongroom.identity import IdentityStore


def identity_backend(store: IdentityStore) -> FrameworkBackend:
    """The backend mounted at identity/."""
    return FrameworkBackend(
        [*paths_entity.paths(store), *paths_alias.paths(store), *paths_group.paths(store.groups)],
        help="Identity store: entities, aliases and groups, who a client is across auth methods.",
    )
