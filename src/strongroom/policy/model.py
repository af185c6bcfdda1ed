"""Policy values: capabilities, path rules and parsed policies. Frozen; built only by `policy.parser`.

Layer: policy. Imports the standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntFlag
from types import MappingProxyType
from typing import Any

_NO_PARAMETERS: Mapping[str, tuple[Any, ...]] = MappingProxyType({})


class Capability(IntFlag):
    """What a path rule grants. Bit values follow Vault's, so bitmaps read the same in both."""

    NONE = 0
    DENY = 1
    CREATE = 2
    READ = 4
    UPDATE = 8
    DELETE = 16
    LIST = 32
    SUDO = 64
    PATCH = 128
    # OpenBao's scan operation; accepted so OpenBao policies load unchanged.
    SCAN = 256
    # For event subscriptions (sys/events/subscribe).
    SUBSCRIBE = 512

    @classmethod
    def from_name(cls, name: str) -> Capability:
        """The capability called `name` in a policy ("read"); KeyError when there is none."""
        if name != name.lower():
            raise KeyError(name)
        return cls[name.upper()]

    def names(self) -> list[str]:
        """The lower-case names of the capabilities in this set, sorted."""
        return sorted(cap.name.lower() for cap in Capability if cap in self and cap.name is not None)


@dataclass(frozen=True, slots=True)
class PathRule:
    """One `path "..." { ... }` stanza.

    `path` is the pattern as written, without a leading "/": a trailing "*" makes it a prefix match and a
    "+" segment matches exactly one segment. Parameter maps are keyed by lower-case parameter name; an empty
    tuple of values means "any value".
    """

    path: str
    capabilities: Capability
    allowed_parameters: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: _NO_PARAMETERS)
    denied_parameters: Mapping[str, tuple[Any, ...]] = field(default_factory=lambda: _NO_PARAMETERS)
    required_parameters: tuple[str, ...] = ()
    min_wrapping_ttl: int = 0
    max_wrapping_ttl: int = 0
    # Seconds since the epoch after which the rule no longer applies; None for never.
    expiration: float | None = None

    @property
    def has_segment_wildcards(self) -> bool:
        """True when a "+" stands for a whole segment."""
        return self.path == "+" or "/+" in self.path or self.path.startswith("+/")

    @property
    def is_prefix(self) -> bool:
        """True when the pattern ends in "*"."""
        return self.path.endswith("*")

    @property
    def templated(self) -> bool:
        """True when the pattern holds identity templates (`{{identity.entity.id}}`)."""
        return "{{" in self.path


@dataclass(frozen=True, slots=True)
class Policy:
    """A named ACL policy: its text as written and the rules read from it."""

    name: str
    raw: str = field(repr=False)
    rules: tuple[PathRule, ...] = ()
    # Incremented on each write by the policy store; 0 for a policy never stored (root).
    version: int = 0
    # When the store last wrote it, in seconds since the epoch.
    modified: float = 0.0
