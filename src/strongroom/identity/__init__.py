"""The identity service: entities and aliases (who a client is across auth methods).

Layer: identity, a sibling of tokens and policy; the core wires it in.
"""

from strongroom.identity.model import Alias, Entity
from strongroom.identity.store import NO_GRANT, AuthMounts, Grant, IdentityStore, clean_policies

__all__ = ["NO_GRANT", "Alias", "AuthMounts", "Entity", "Grant", "IdentityStore", "clean_policies"]
