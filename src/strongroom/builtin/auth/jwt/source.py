"""The key set a mount's stored config names, built once and kept while the config stays the same, so a
fetched JWKS stays cached between logins.

Layer: builtin. Imports util's clock and the jwt package's models, keysets and validator; no framework.
"""

from __future__ import annotations

from strongroom.builtin.auth.jwt.keysets import Discovery, FetchError, RemoteKeySet, discover
from strongroom.builtin.auth.jwt.models import JWTConfig
from strongroom.builtin.auth.jwt.validator import KeySet, StaticKeySet, parse_public_key_pem
from strongroom.util.clock import Clock


class KeySource:
    """The key set for the mount's current config, built once and kept until the config changes (so a
    JWKS stays cached between logins)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._config: JWTConfig | None = None
        self._key_set: KeySet | None = None
        self._discovery: Discovery | None = None

    def reset(self) -> None:
        """Forget the key set and the discovered endpoints (the config was written)."""
        self._config = None
        self._key_set = None
        self._discovery = None

    async def provider(self, config: JWTConfig) -> tuple[Discovery, KeySet]:
        """The OIDC provider's discovered endpoints and its key set; FetchError when discovery fails."""
        key_set = await self.key_set(config)
        if self._discovery is None:
            raise FetchError("no OIDC discovery URL is configured")
        return self._discovery, key_set

    async def key_set(self, config: JWTConfig) -> KeySet:
        """The key set `config` names; FetchError or ValueError when it cannot be built."""
        if self._key_set is not None and self._config == config:
            return self._key_set
        key_set: KeySet
        found: Discovery | None = None
        if config.jwt_validation_pubkeys:
            key_set = StaticKeySet([parse_public_key_pem(pem) for pem in config.jwt_validation_pubkeys])
        elif config.jwks_url:
            key_set = RemoteKeySet(config.jwks_url, config.jwks_ca_pem, self.clock)
        elif config.oidc_discovery_url:
            found = await discover(config.oidc_discovery_url, config.oidc_discovery_ca_pem)
            key_set = RemoteKeySet(found.jwks_uri, config.oidc_discovery_ca_pem, self.clock)
        else:
            raise FetchError("no key source is configured")
        self._config, self._key_set, self._discovery = config, key_set, found
        return key_set
