"""The identity service: entities, aliases and groups (who a client is across auth methods, and what
its groups share).

Layer: identity, a sibling of tokens and policy; the core wires it in.
"""

from strongroom.identity.common import AuthMounts, clean_policies
from strongroom.identity.groups import GroupStore
from strongroom.identity.model import Alias, Entity, Group, GroupAlias
from strongroom.identity.store import NO_GRANT, Grant, IdentityStore

__all__ = [
    "NO_GRANT",
    "Alias",
    "AuthMounts",
    "Entity",
    "Grant",
    "Group",
    "GroupAlias",
    "GroupStore",
    "IdentityStore",
    "clean_policies",
]
