"""A subscriber's feed: a bus subscription filtered, event by event, by what its token may read.

Layer: events. Imports the standard library and the events modules; the core supplies the Gate.

Invariant: every event is re-checked against the token's current policies before it is delivered: a token
that cannot read the event's path never sees it, and a revoked or expired token's feed ends at the next
event.
"""

from __future__ import annotations

from typing import Protocol

from strongroom.events.bus import Subscription, SubscriptionClosed
from strongroom.events.model import Event

TOKEN_GONE = "token revoked or expired"


class Gate(Protocol):
    """The core's answer to "may this token see this?", asked per subscription and per event."""

    async def may_subscribe(self, token: str, pattern: str) -> bool:
        """Whether `token` is live and has the subscribe capability on sys/events/subscribe/<pattern>."""
        ...

    async def may_receive(self, token: str, path: str) -> bool | None:
        """Whether `token` may read `path`; None once the token is no longer valid."""
        ...


class EventFeed:
    """The events one subscriber receives, in order, until the subscription or its token ends."""

    def __init__(self, subscription: Subscription, gate: Gate, token: str) -> None:
        self._subscription = subscription
        self._gate = gate
        self._token = token

    @property
    def pattern(self) -> str:
        """The subscribed event type pattern."""
        return self._subscription.pattern

    async def next(self) -> Event:
        """The next event this token may see; SubscriptionClosed when the feed has ended."""
        while True:
            event = await self._subscription.next()
            allowed = await self._gate.may_receive(self._token, event.read_path)
            if allowed is None:
                self._subscription.close(TOKEN_GONE)
                raise SubscriptionClosed(TOKEN_GONE)
            if allowed:
                return event

    def close(self) -> None:
        """Unsubscribe."""
        self._subscription.close()
