"""What an event is, and the CloudEvents-shaped JSON Vault sends subscribers for it.

Layer: events. Imports only the standard library and util.

Invariant: an event carries paths and metadata, never a secret value: its metadata is a mapping of strings
chosen by the publisher from a fixed set of keys (see events.kv).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from strongroom.util.clock import rfc3339

SOURCE = "https://vaultproject.io/"
"""The CloudEvents source Vault names in every event."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """The mount an event came from, as Vault's plugin_info shows it."""

    mount_class: str
    mount_accessor: str
    mount_path: str
    plugin: str


@dataclass(frozen=True, slots=True)
class Event:
    """One published event: its type ("kv-v2/data-write"), metadata, and the path a subscriber must be
    allowed to read to receive it."""

    id: str
    event_type: str
    metadata: Mapping[str, str]
    plugin_info: PluginInfo
    timestamp: float
    # The API path whose read capability decides who receives this event (Vault's rule).
    read_path: str = field(default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def cloudevent(self, pattern: str) -> dict[str, Any]:
        """The JSON object Vault writes to a subscriber of `pattern` (its "type" is the subscribed
        pattern, and "datacontentype" is misspelled, both as Vault sends them)."""
        info = self.plugin_info
        return {
            "id": self.id,
            "source": SOURCE,
            "specversion": "1.0",
            "type": pattern,
            "data": {
                "event": {"id": self.id, "metadata": dict(self.metadata)},
                "event_type": self.event_type,
                "plugin_info": {
                    "mount_class": info.mount_class,
                    "mount_accessor": info.mount_accessor,
                    "mount_path": info.mount_path,
                    "plugin": info.plugin,
                },
            },
            "datacontentype": "application/cloudevents",
            "time": rfc3339(self.timestamp),
        }
