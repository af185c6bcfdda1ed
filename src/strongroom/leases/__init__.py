"""The lease manager service: leases of tokens and secrets, their renewal, revocation and expiry.

Layer: leases, a sibling of tokens, router and policy. Imports logical, util and errors; never core, tokens
or framework. The core wires it: the pipeline registers leases, the token store's revocation hook tells it
when a token dies, and sys/leases/ (core/system/leases.py) serves the HTTP API over it.
"""

from strongroom.leases.manager import MAX_REVOKE_ATTEMPTS, LeaseManager, SecretBackends, Tokens
from strongroom.leases.model import LeaseEntry, LeaseKind, SecretRenewal, token_lease, token_lease_id
from strongroom.leases.queue import ExpiryQueue

__all__ = [
    "MAX_REVOKE_ATTEMPTS",
    "ExpiryQueue",
    "LeaseEntry",
    "LeaseKind",
    "LeaseManager",
    "SecretBackends",
    "SecretRenewal",
    "Tokens",
    "token_lease",
    "token_lease_id",
]
