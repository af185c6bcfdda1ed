"""The event service: an in-process bus that fans out what the pipeline publishes to WebSocket subscribers.

Layer: events, a sibling of tokens, policy and leases. Imports logical, util and errors; never core, http
or framework. The core wires it: the pipeline's publish stage describes a successful request as an event
(per mount type, through SOURCES), sys/events/subscribe (http/events.py) reads feeds, sealing closes them.
"""

from collections.abc import Callable, Mapping
from typing import Any

from strongroom.events import kv
from strongroom.events.bus import DEFAULT_QUEUE_SIZE, EventBus, Subscription, SubscriptionClosed, compile_glob
from strongroom.events.feed import TOKEN_GONE, EventFeed, Gate
from strongroom.events.kv import Described
from strongroom.events.model import SOURCE, Event, PluginInfo
from strongroom.logical import Operation

Describer = Callable[
    [str, Mapping[str, str] | None, str, Operation, Mapping[str, Any] | None], Described | None
]
"""(mount path, mount options, mount-relative path, operation, response data) -> the event, if any."""

SOURCES: Mapping[str, Describer] = {"kv": kv.describe}
"""The mount types that publish events, and how each describes a successful request."""

__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "SOURCE",
    "SOURCES",
    "TOKEN_GONE",
    "Described",
    "Describer",
    "Event",
    "EventBus",
    "EventFeed",
    "Gate",
    "PluginInfo",
    "Subscription",
    "SubscriptionClosed",
    "compile_glob",
]
