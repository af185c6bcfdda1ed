"""The ACME server of one pki mount, assembled: its stores, nonces, validator and paths.
Layer: builtin (logical and the ACME modules).

A mount's options `acme_http_01_port` and `acme_tls_alpn_01_port` move challenge validation off the ports
RFC 8555 fixes (80 and 443), for servers that validate against responders on unprivileged ports (tests).
"""

from __future__ import annotations

from strongroom.builtin.secrets.pki.acme import paths_acme, paths_config
from strongroom.builtin.secrets.pki.acme.accounts import Accounts
from strongroom.builtin.secrets.pki.acme.challenges import Ports
from strongroom.builtin.secrets.pki.acme.nonces import Nonces
from strongroom.builtin.secrets.pki.acme.orders import Orders
from strongroom.builtin.secrets.pki.acme.protocol import Protocol
from strongroom.builtin.secrets.pki.acme.store import AcmeStore
from strongroom.builtin.secrets.pki.acme.validator import Validator
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Path
from strongroom.logical import BackendConfig


def _port(config: BackendConfig, name: str, default: int) -> int:
    value = config.options.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise InvalidRequestError(f"invalid {name}: {value}")
    return int(value)


class AcmeEngine:
    unauthenticated = paths_acme.UNAUTHENTICATED

    def __init__(self, pki: PkiStore, config: BackendConfig) -> None:
        store = AcmeStore(config.storage)
        ports = Ports(
            http_01=_port(config, "acme_http_01_port", 80),
            tls_alpn_01=_port(config, "acme_tls_alpn_01_port", 443),
        )
        self._validator = Validator(store, config.clock, ports)
        protocol = Protocol(pki, store, Nonces(config.clock))
        self.paths: list[Path] = [
            *paths_acme.paths(
                protocol,
                Accounts(protocol, config.clock),
                Orders(protocol, self._validator, config.system, config.clock),
            ),
            *paths_config.paths(pki, store, config.clock),
        ]

    async def resume(self) -> None:
        """Carry on with the challenge checks a previous run left under way."""
        await self._validator.resume()

    async def close(self) -> None:
        """Stop the validations under way (the mount is going away or the server stopping)."""
        await self._validator.close()
