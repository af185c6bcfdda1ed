"""Who may subscribe to events and receive each one: the events service's Gate, answered by tokens and
policies.

Layer: core. Imports tokens, policy, identity and logical.

Invariant: subscribing needs the subscribe capability on sys/events/subscribe/<pattern>; receiving an event
needs read on its path, checked with the token's policies as they are when the event arrives (its own and
its entity's, as the pipeline counts them; a disabled entity's tokens get nothing).
"""

from __future__ import annotations

from collections.abc import Callable

from strongroom.identity import NO_GRANT, Grant
from strongroom.logical import Operation
from strongroom.policy import ACL, PolicyStore
from strongroom.tokens import TokenEntry, TokenStore

SUBSCRIBE_PATH = "sys/events/subscribe/"


class TokenGate:
    """events.Gate over the token store and the policy store."""

    def __init__(
        self, tokens: TokenStore, policies: PolicyStore, grant_of: Callable[[str], Grant] = lambda _: NO_GRANT
    ) -> None:
        self._tokens = tokens
        self._policies = policies
        self._grant_of = grant_of

    async def _acl(self, entry: TokenEntry) -> ACL | None:
        grant = self._grant_of(entry.entity_id)
        if grant.disabled:
            return None
        return await self._policies.acl((*entry.policies, *grant.policies), identity=grant.template)

    async def may_subscribe(self, token: str, pattern: str) -> bool:
        """Whether `token` is live and its policies grant subscribe (or root) on the subscribe path."""
        entry = await self._tokens.lookup(token) if token else None
        acl = None if entry is None else await self._acl(entry)
        if acl is None:
            return False
        capabilities = acl.capabilities(SUBSCRIBE_PATH + pattern)
        return "root" in capabilities or "subscribe" in capabilities

    async def may_receive(self, token: str, path: str) -> bool | None:
        """Whether `token` may read `path`; None when the token is no longer live."""
        entry = await self._tokens.lookup(token) if token else None
        if entry is None:
            return None
        acl = await self._acl(entry)
        return acl is not None and acl.authorize(Operation.READ, path, {}).allowed
