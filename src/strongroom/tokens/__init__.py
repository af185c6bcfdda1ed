"""The token store service: token entries keyed by salted hashes, their tree, uses, TTLs and roles.

Layer: tokens, a sibling of router/policy/leases. Imports logical, util and errors; never core or framework.
The core wires it: the pipeline authenticates with `TokenStore.use`, and the auth/token/ backend
(core/token_backend.py) serves the HTTP API over it.
"""

from strongroom.tokens.model import REVOCATION_PENDING, TokenEntry, TokenParams, TokenType
from strongroom.tokens.roles import RoleStore, TokenRole
from strongroom.tokens.store import NewToken, Renewal, RevocationHook, TokenStore
from strongroom.tokens.ttl import TTLResult, calculate_ttl

__all__ = [
    "REVOCATION_PENDING",
    "NewToken",
    "Renewal",
    "RevocationHook",
    "RoleStore",
    "TTLResult",
    "TokenEntry",
    "TokenParams",
    "TokenRole",
    "TokenStore",
    "TokenType",
    "calculate_ttl",
]
