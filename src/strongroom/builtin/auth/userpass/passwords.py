"""Password hashing for userpass: argon2id through argon2-cffi. Layer: builtin (stdlib and argon2 only).

Production parameters are RFC 9106's second recommended option (argon2-cffi's RFC_9106_LOW_MEMORY):
argon2id, time_cost=3, memory_cost=64 MiB, parallelism=4, a 16-byte random salt, a 32-byte tag. Why:
argon2id resists both GPU cracking (memory-hard) and side channels (data-independent first pass); 64 MiB
per guess makes a stolen storage dump expensive to attack in bulk, while one hash costs about 0.1 s on a
server core, an acceptable login latency. The RFC's first option (2 GiB) would let a handful of concurrent
logins exhaust a container's memory, so it is not used. Hashing runs in a worker thread (argon2-cffi
releases the GIL) and at most `concurrency` at once, so unauthenticated logins cannot take all memory.

Invariant: a password leaves this module only as an argon2id hash; it is never logged nor put in a message.
"""

from __future__ import annotations

import asyncio

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import RFC_9106_LOW_MEMORY

PRODUCTION_PARAMETERS: Parameters = RFC_9106_LOW_MEMORY


class Passwords:
    """Hashes and verifies passwords with one set of argon2id parameters."""

    def __init__(self, parameters: Parameters = PRODUCTION_PARAMETERS, concurrency: int = 4) -> None:
        self._hasher = PasswordHasher.from_parameters(parameters)
        self._slots = asyncio.Semaphore(concurrency)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        """A new salted argon2id hash of `password` (PHC string format, parameters included)."""
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        """Whether `password` matches the `stored` hash (in constant time, inside argon2)."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored, password)

    async def verify_nobody(self, password: str) -> None:
        """Spend the time a real verification takes, for a user that does not exist: a wrong password and
        an unknown user must not be told apart by timing."""
        if self._dummy is None:
            self._dummy = await self.hash("strongroom-userpass-dummy")
        await self.verify(self._dummy, password)

    def needs_rehash(self, stored: str) -> bool:
        """Whether `stored` was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
