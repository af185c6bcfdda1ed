"""The seal configuration: how many unseal key shares exist and how many open the barrier.

Layer: seal (imports physical, barrier's path names, and errors). It is the only record stored in
plaintext, at "core/seal-config", because it must be readable while sealed (sys/seal-status reports it).

Invariant: the seal configuration holds no key material, only counts and a nonce.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import orjson

from strongroom.barrier.aes_gcm import SEAL_CONFIG_PATH
from strongroom.errors import InvalidRequestError, StorageError
from strongroom.physical.base import PhysicalBackend

SHAMIR = "shamir"
# With the static seal, the shares are recovery shares: the static key itself wraps the root key.
STATIC = "static"


@dataclass(frozen=True, slots=True, kw_only=True)
class SealConfig:
    """Vault's SealConfig for the Shamir seal: `secret_threshold` of `secret_shares` unseal the barrier."""

    type: str = SHAMIR
    secret_shares: int
    secret_threshold: int
    nonce: str = ""

    def validate(self) -> None:
        """InvalidRequestError with Vault's wording if the counts are not a usable Shamir configuration."""
        problem = _problem(self)
        if problem:
            raise InvalidRequestError(f"invalid seal configuration: {problem}")

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> SealConfig:
        """The configuration stored in `raw`; StorageError if it is not one."""
        try:
            data = orjson.loads(raw)
            return cls(
                type=str(data["type"]),
                secret_shares=int(data["secret_shares"]),
                secret_threshold=int(data["secret_threshold"]),
                nonce=str(data.get("nonce", "")),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StorageError("stored seal configuration is malformed") from exc


def _problem(config: SealConfig) -> str:
    # Vault's SealConfig.Validate, in its order and words.
    if config.type not in (SHAMIR, STATIC):
        return f"unsupported seal type {config.type!r}"
    if config.secret_shares < 1:
        return "shares must be at least one"
    if config.secret_threshold < 1:
        return "threshold must be at least one"
    if config.secret_shares > 1 and config.secret_threshold == 1:
        return "threshold must be greater than one for multiple shares"
    if config.secret_shares > 255:
        return "shares must be less than 256"
    if config.secret_threshold > 255:
        return "threshold must be less than 256"
    if config.secret_threshold > config.secret_shares:
        return "threshold cannot be larger than shares"
    return ""


async def load_seal_config(physical: PhysicalBackend) -> SealConfig | None:
    """The stored seal configuration, or None before initialization."""
    raw = await physical.get(SEAL_CONFIG_PATH)
    return None if raw is None else SealConfig.from_json(raw)


async def store_seal_config(physical: PhysicalBackend, config: SealConfig) -> None:
    """Store `config` in plaintext at "core/seal-config"."""
    await physical.put(SEAL_CONFIG_PATH, config.to_json())
