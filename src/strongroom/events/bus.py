"""The in-process event bus: publish fans an event out to every subscriber whose pattern matches.

Layer: events. Imports the standard library, util and events.model.

Invariant: publishing never waits. Each subscriber has a bounded queue; one that falls behind is closed
(its subscription ends), so a slow reader can neither block a request nor grow memory without bound.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping

from strongroom.events.model import Event, PluginInfo
from strongroom.util.clock import Clock, SystemClock
from strongroom.util.ids import new_uuid

DEFAULT_QUEUE_SIZE = 256
"""Events a subscriber may have waiting before it counts as too slow and is dropped."""


def compile_glob(pattern: str) -> re.Pattern[str]:
    """Vault's event type glob: "*" matches any run of characters (including "/"); nothing else is
    special."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$", re.DOTALL)


class SubscriptionClosed(Exception):
    """Raised by Subscription.next once the subscription has ended (not a request error: it ends a stream)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Subscription:
    """One subscriber's view of the bus: the events of its pattern, in order, until it is closed."""

    def __init__(self, bus: EventBus, pattern: str, queue_size: int) -> None:
        self.pattern = pattern
        self._regex = compile_glob(pattern)
        self._bus = bus
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=queue_size)
        self._reason = ""

    @property
    def closed(self) -> bool:
        """True once the subscription has ended (unsubscribed, dropped as slow, or the bus closed)."""
        return bool(self._reason)

    @property
    def reason(self) -> str:
        """Why the subscription ended ("" while it is open)."""
        return self._reason

    def matches(self, event_type: str) -> bool:
        """Whether this subscription's pattern selects `event_type`."""
        return self._regex.match(event_type) is not None

    def offer(self, event: Event) -> None:
        """Queue `event` without waiting; a full queue ends the subscription instead."""
        if self._reason:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.close("subscriber too slow: events dropped")

    async def next(self) -> Event:
        """The next event; SubscriptionClosed once the subscription has ended."""
        if self._reason and self._queue.empty():
            raise SubscriptionClosed(self._reason)
        event = await self._queue.get()
        if event is None:
            raise SubscriptionClosed(self._reason)
        return event

    def close(self, reason: str = "unsubscribed") -> None:
        """End the subscription: a waiting `next` raises SubscriptionClosed, queued events are dropped."""
        if self._reason:
            return
        self._reason = reason
        self._bus.discard(self)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        while True:
            try:
                yield await self.next()
            except SubscriptionClosed:
                return


class EventBus:
    """Fan-out of published events to subscriptions, by event type pattern."""

    def __init__(self, *, clock: Clock | None = None, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._clock = clock or SystemClock()
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()

    def subscribe(self, pattern: str) -> Subscription:
        """A new subscription to the event types `pattern` (a glob) matches."""
        subscription = Subscription(self, pattern, self._queue_size)
        self._subscriptions.add(subscription)
        return subscription

    def publish(self, event: Event) -> None:
        """Hand `event` to every matching subscription, now and without waiting."""
        for subscription in tuple(self._subscriptions):
            if subscription.matches(event.event_type):
                subscription.offer(event)

    def emit(
        self, event_type: str, metadata: Mapping[str, str], plugin_info: PluginInfo, read_path: str
    ) -> Event:
        """Publish a new event (a fresh ID, stamped now) and return it."""
        event = Event(
            id=new_uuid(),
            event_type=event_type,
            metadata=metadata,
            plugin_info=plugin_info,
            timestamp=self._clock.now(),
            read_path=read_path,
        )
        self.publish(event)
        return event

    def discard(self, subscription: Subscription) -> None:
        """Forget `subscription` (it closes itself through this)."""
        self._subscriptions.discard(subscription)

    def close(self, reason: str = "server sealed") -> None:
        """End every subscription (on seal)."""
        for subscription in tuple(self._subscriptions):
            subscription.close(reason)

    @property
    def subscriber_count(self) -> int:
        """How many subscriptions are open."""
        return len(self._subscriptions)
