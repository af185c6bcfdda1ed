"""Anti-replay nonces (RFC 8555 section 6.5): issued by new-nonce and on every ACME answer, each redeemable
once, before it expires. Layer: builtin (pure; stdlib and util).

Like OpenBao's, nonces live in the server's memory only: a restart invalidates them, and a client that
presents a stale one gets badNonce and asks for a fresh one.

Invariant: a nonce is redeemed at most once, and never after `LIFETIME`.
"""

from __future__ import annotations

import secrets

from strongroom.util.clock import Clock

LIFETIME = 15 * 60
# The most nonces held at once: new-nonce needs no token, so an unbounded table would be a memory sink.
CAPACITY = 50_000


class Nonces:
    """The outstanding nonces of one mount, with their expiry times."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        """A fresh nonce (21 random bytes, base64url as OpenBao's)."""
        now = self._clock.now()
        if len(self._expiry) >= CAPACITY:
            self._expiry = {nonce: at for nonce, at in self._expiry.items() if at > now}
            while len(self._expiry) >= CAPACITY:  # insertion order: the oldest go first
                del self._expiry[next(iter(self._expiry))]
        nonce = secrets.token_urlsafe(21)
        self._expiry[nonce] = now + LIFETIME
        return nonce

    def redeem(self, nonce: str) -> bool:
        """Whether `nonce` was outstanding and unexpired; either way it is spent."""
        expiry = self._expiry.pop(nonce, None)
        return expiry is not None and expiry > self._clock.now()
