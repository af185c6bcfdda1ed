"""The client address of a request: the socket peer, or the X-Forwarded-For hop a configured proxy names.

Layer: http (stdlib and errors only). Pure: the HTTP server hands over the socket peer (the ASGI scope's
`client`) and the raw header lines; nothing here depends on which HTTP server runs the app, and the app
turns the server's own proxy-header handling off.

Vault's listener options, with its semantics and error answers: `x_forwarded_for_authorized_addrs` turns
the header on for peers inside those CIDRs; `x_forwarded_for_hop_skips` counts entries to skip from the
rear of the chain; `x_forwarded_for_reject_not_authorized` and `x_forwarded_for_reject_not_present` refuse
(400) a header from another peer and a request without one, where otherwise the peer's own address serves.

Invariant: the header is believed only from a peer inside the listener's authorized addresses; with none
configured it is ignored, from loopback too. Every consumer (CIDR bindings on secret IDs, roles and
tokens, the audit entry's remote_address, in-flight request reports) reads the one address this module
leaves in the scope, never the header.
"""

from __future__ import annotations

import ipaddress
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from strongroom import errors

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Client = tuple[str, int] | None
Headers = Sequence[tuple[bytes, bytes]]

_HEADER = b"x-forwarded-for"


@dataclass(frozen=True, slots=True)
class ForwardedFor:
    """One listener's X-Forwarded-For settings. Without authorized addresses the header is ignored."""

    authorized_addrs: tuple[Network, ...] = ()
    hop_skips: int = 0
    # Vault's documented defaults; they matter only once authorized_addrs is set.
    reject_not_authorized: bool = True
    reject_not_present: bool = True

    def resolve(self, peer: Client, headers: Headers) -> tuple[Client, Headers]:
        """The client address and the header lines the request goes on with; InvalidRequestError (400)
        where Vault refuses the request."""
        if not self.authorized_addrs:
            return peer, headers
        values = [value.decode("latin-1") for name, value in headers if name.lower() == _HEADER]
        if not values:
            if self.reject_not_present:
                raise errors.InvalidRequestError(
                    "missing x-forwarded-for header and configured to reject when not present"
                )
            return peer, headers
        if peer is None:
            # Go cannot split an absent host:port; Vault then treats the header as not there.
            if self.reject_not_present:
                raise errors.InvalidRequestError("error parsing client hostport: missing port in address")
            return peer, headers
        host, port = peer
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            if self.reject_not_present:
                raise errors.InvalidRequestError(
                    f"error parsing client address: Unable to convert {host} to an IP address"
                ) from None
            return peer, headers
        if not any(address in network for network in self.authorized_addrs):
            if self.reject_not_authorized:
                raise errors.InvalidRequestError(
                    "client address not authorized for x-forwarded-for and configured to reject connection"
                )
            # Dropped, so that nothing further on can mistake it for a trusted one.
            return peer, [(name, value) for name, value in headers if name.lower() != _HEADER]
        chain = [hop.strip() for value in values for hop in value.split(",")]
        index = len(chain) - 1 - self.hop_skips
        if index < 0:
            # Vault reports the number of header lines as the chain length; so does this, word for word.
            raise errors.InvalidRequestError(
                f"malformed x-forwarded-for configuration or request, hops to skip ({self.hop_skips}) "
                f"would skip before earliest chain link (chain length {len(values)})"
            )
        return (chain[index], port), headers

    def rewrite(self, scope: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        """The ASGI scope with `client` (and `headers`) as resolved; the same scope when nothing changes."""
        client, headers = self.resolve(scope.get("client"), scope["headers"])
        if client == scope.get("client") and headers is scope["headers"]:
            return scope
        return {**scope, "client": client, "headers": headers}


# A listener without x_forwarded_for options: the header is ignored.
NOT_TRUSTED = ForwardedFor()
