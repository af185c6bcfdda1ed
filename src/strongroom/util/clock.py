"""An injectable clock, so tests control time. Bottom layer: stdlib only."""

from __future__ import annotations

import math
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
    # Microseconds rounded half to even, as datetime.fromtimestamp rounds them (a carry makes the next
    # second). A request's timestamps fall in a few seconds (now, its token's creation, a secret's
    # versions), seen again and again: each second's text is formatted once.
    whole = math.floor(timestamp)
    micros = round((timestamp - whole) * 1_000_000)
    if micros == 1_000_000:
        whole, micros = whole + 1, 0
    text = _SECOND_TEXT.get(whole)
    if text is None:
        text = datetime.fromtimestamp(whole, tz=UTC).isoformat()[:-6]
        if len(_SECOND_TEXT) >= _SECONDS_KEPT:
            del _SECOND_TEXT[next(iter(_SECOND_TEXT))]  # the oldest first
        _SECOND_TEXT[whole] = text
    return f"{text}.{micros:06d}".rstrip("0") + "Z" if micros else text + "Z"


_SECOND_TEXT: dict[int, str] = {}
_SECONDS_KEPT = 4096


ZERO_TIME = "0001-01-01T00:00:00Z"
"""How Vault writes an unset time."""
