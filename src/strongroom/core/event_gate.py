"""Who may subscribe to events and receive each one: the events service's Gate, answered by tokens and
policies.

Layer: core. Imports tokens, policy and logical.

Invariant: subscribing needs the subscribe capability on sys/events/subscribe/<pattern>; receiving an event
needs read on its path, checked with the token's policies as they are when the event arrives.
"""

from __future__ import annotations

from strongroom.logical import Operation
from strongroom.policy import PolicyStore
from strongroom.tokens import TokenStore

SUBSCRIBE_PATH = "sys/events/subscribe/"


class TokenGate:
    """events.Gate over the token store and the policy store."""

    def __init__(self, tokens: TokenStore, policies: PolicyStore) -> None:
        self._tokens = tokens
        self._policies = policies

    async def may_subscribe(self, token: str, pattern: str) -> bool:
        """Whether `token` is live and its policies grant subscribe (or root) on the subscribe path."""
        entry = await self._tokens.lookup(token) if token else None
        if entry is None:
            return False
        acl = await self._policies.acl(entry.policies)
        capabilities = acl.capabilities(SUBSCRIBE_PATH + pattern)
        return "root" in capabilities or "subscribe" in capabilities

    async def may_receive(self, token: str, path: str) -> bool | None:
        """Whether `token` may read `path`; None when the token is no longer live."""
        entry = await self._tokens.lookup(token) if token else None
        if entry is None:
            return None
        acl = await self._policies.acl(entry.policies)
        return acl.authorize(Operation.READ, path, {}).allowed
