"""The identity service: entities and aliases (who a client is across auth methods).

Layer: identity, a sibling of tokens and policy; the core wires it in.
"""

from strongroom.identity.model import Alias, Entity
from strongroom.identity.store import AuthMounts, IdentityStore, clean_policies

__all__ = ["Alias", "AuthMounts", "Entity", "IdentityStore", "clean_policies"]
