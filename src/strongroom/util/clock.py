"""An injectable clock, so tests control time. Bottom layer: stdlib only."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What every time-dependent service asks for the current time."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told: for tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


def rfc3339(timestamp: float) -> str:
    """Vault's timestamp format (Go's RFC3339Nano) in UTC: fraction digits without trailing zeros, e.g.
    2024-01-01T00:00:00.12345Z, and no fraction at all on a whole second."""
    # isoformat (in C) leaves out a zero fraction and ends in "+00:00"; several of these per request.
    text = datetime.fromtimestamp(timestamp, tz=UTC).isoformat()[:-6]
    return (text.rstrip("0") if "." in text else text) + "Z"


ZERO_TIME = "0001-01-01T00:00:00Z"
"""How Vault writes an unset time."""
