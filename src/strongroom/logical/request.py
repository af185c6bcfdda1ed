"""A request as a backend sees it: a frozen value. A pipeline stage that changes it returns a new one.

Invariant: `client_token` is never printed (excluded from repr) and never stored in plaintext.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.logical.operation import Operation
from strongroom.logical.storage import Storage
from strongroom.util.frozen import replace

_EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the request came from."""

    remote_address: str = ""
    remote_port: int = 0
    # The certificates the client presented over TLS (PEM, its own first), as Vault's ConnectionState
    # PeerCertificates: unverified, for the cert auth method to judge. Empty without TLS or a certificate.
    peer_certificates: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: what the token store knows of the request's token, without the token itself."""

    accessor: str
    policies: tuple[str, ...]
    display_name: str = ""
    entity_id: str = ""
    metadata: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    token_type: str = "service"
    # The salted hash that keys the token in storage: a stable, non-secret handle for per-token storage.
    token_hash: str = ""
    is_root: bool = False
    # The values of Vault's identity templates ("identity.entity.name", ...) for the caller's entity, for
    # engines that render them (the SSH engine's *_template role fields); empty without an entity.
    identity: Mapping[str, str] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class Request:
    """One request. Before routing `path` is the full API path under /v1/; after, it is mount-relative."""

    operation: Operation
    path: str
    data: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    id: str = ""
    client_token: str = field(default="", repr=False)
    caller: Caller | None = None
    storage: Storage | None = field(default=None, repr=False, compare=False)
    mount_point: str = ""
    mount_type: str = ""
    mount_accessor: str = ""
    connection: Connection = field(default_factory=Connection)
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    # Raw query parameters, for endpoints that read them apart from the body (sys/health, ?version=).
    query: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    # The wrapping TTL asked for by X-Vault-Wrap-TTL, in seconds; 0 when not asked.
    wrap_ttl: int = 0
    content_type: str = ""
    unauthenticated: bool = False
    # The body as sent, for the one kind Vault passes through undecoded: an OCSP request (DER).
    raw_body: bytes = field(default=b"", repr=False)

    def evolve(self, **changes: Any) -> Request:
        """A copy with `changes` applied."""
        return replace(self, **changes)


_WRITES = frozenset({Operation.CREATE, Operation.UPDATE, Operation.PATCH})


def refuse_directory_write(request: Request) -> None:
    """Vault's rule for every path: a write to "foo/" is ambiguous (a key named "foo/", or a forgotten key
    name?), so it is refused. The core applies it before routing; the backend test harness does too."""
    if request.path.endswith("/") and request.operation in _WRITES:
        raise InvalidRequestError("cannot write to a path ending in '/'")
