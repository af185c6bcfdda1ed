"""Per-client token buckets: the arithmetic of a rate limit, with Vault's response headers.

Layer: core (pure: time is passed in). Vault's limiter (go-limiter's memory store) gives each client a bucket
of `tokens` that refills completely at every `interval` counted from the client's first request; the
headers it sends (X-Ratelimit-Limit, -Remaining, -Reset, Retry-After) are worked out the same way here.

Invariant: memory is bounded by the clients seen recently: a client idle for STALE_AFTER seconds is
forgotten at the next sweep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Vault's DefaultRateLimitPurgeInterval and DefaultRateLimitStaleAge.
SWEEP_EVERY = 60.0
STALE_AFTER = 180.0

_NO_HEADERS: dict[str, str] = {}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may pass, and the rate limit headers Vault would send with its answer."""

    allowed: bool
    headers: dict[str, str] = field(default_factory=dict)


ALLOWED = Verdict(True, _NO_HEADERS)


@dataclass(slots=True)
class _Bucket:
    start: float
    tick: int
    available: int
    seen: float


class ClientBuckets:
    """One rate limit's buckets, one per client address, and the clients it blocks."""

    def __init__(self, tokens: int, interval: float, block_interval: float = 0.0) -> None:
        self._tokens = tokens
        self._interval = interval
        self._block = block_interval
        self._buckets: dict[str, _Bucket] = {}
        self._blocked: dict[str, float] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        """How many client addresses are tracked."""
        return len(self._buckets)

    def take(self, address: str, now: float, headers: bool = True) -> Verdict:
        """Spend one of `address`'s tokens; refused when none is left or the client is blocked. The
        verdict carries Vault's headers only when `headers` asks for them."""
        self._sweep(now)
        blocked_at = self._blocked.get(address)
        if blocked_at is not None:
            if now - blocked_at < self._block:
                return Verdict(False, {"Retry-After": _seconds(blocked_at + self._block - now)})
            del self._blocked[address]
        bucket = self._current(address, now)
        allowed = bucket.available > 0
        if allowed:
            bucket.available -= 1
            if not headers:
                return ALLOWED
        elif self._block > 0:
            self._blocked[address] = now
        reset = _seconds(bucket.start + (bucket.tick + 1) * self._interval - now)
        answer = {
            "X-Ratelimit-Limit": str(self._tokens),
            "X-Ratelimit-Remaining": str(bucket.available),
            "X-Ratelimit-Reset": reset,
        }
        if not allowed:
            answer["Retry-After"] = _seconds(self._block) if self._block > 0 else reset
        return Verdict(allowed, answer)

    def exhausted(self, address: str, now: float) -> bool:
        """Whether `address` has no token left in its current interval (nothing is spent)."""
        bucket = self._buckets.get(address)
        return bucket is not None and self._current(address, now).available == 0

    def _current(self, address: str, now: float) -> _Bucket:
        bucket = self._buckets.get(address)
        if bucket is None:
            bucket = self._buckets[address] = _Bucket(start=now, tick=0, available=self._tokens, seen=now)
        tick = int((now - bucket.start) // self._interval)
        if tick > bucket.tick:
            bucket.tick, bucket.available = tick, self._tokens
        bucket.seen = now
        return bucket

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        stale = [address for address, bucket in self._buckets.items() if now - bucket.seen >= STALE_AFTER]
        for address in stale:
            del self._buckets[address]
        done = [address for address, at in self._blocked.items() if now - at >= self._block]
        for address in done:
            del self._blocked[address]


def _seconds(remaining: float) -> str:
    """Whole seconds, truncated as Go's int(duration.Seconds()) truncates."""
    return str(max(int(remaining), 0))
