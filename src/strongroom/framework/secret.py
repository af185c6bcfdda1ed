"""SecretType: a kind of leased secret a framework backend issues, with its renew and revoke handlers
(Vault's framework.Secret). Layer: framework (imports logical and errors only).

A handler answers with `SecretType.response(...)`; the core leases the secret, and later calls the type's
`revoke` (and `renew`, when it has one) with the lease's internal data. The type's name travels in that
internal data under "secret_type", so the backend finds the handler again after a restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.logical.request import Request
from strongroom.logical.response import LeaseOptions, Response, Secret

SecretHandler = Callable[[Request, Secret], Awaitable[Response | None]]
"""Renews or revokes one secret: the request is bound to the mount, the secret carries the lease."""

SECRET_TYPE_KEY = "secret_type"


@dataclass(frozen=True, slots=True)
class SecretType:
    """One kind of secret: its name, its handlers, and its default TTL (0: the mount's default)."""

    type: str
    revoke: SecretHandler
    renew: SecretHandler | None = None
    default_ttl: int = 0
    max_ttl: int = 0

    @property
    def renewable(self) -> bool:
        """Secrets of this type can be renewed when a renew handler exists."""
        return self.renew is not None

    def response(
        self,
        data: Mapping[str, Any],
        internal: Mapping[str, Any],
        *,
        ttl: int | None = None,
        max_ttl: int | None = None,
    ) -> Response:
        """A response carrying one secret of this type; `internal` stays on the server, for the handlers.
        `ttl` and `max_ttl` override the type's defaults for this one secret."""
        lease = LeaseOptions(
            ttl=self.default_ttl if ttl is None else ttl,
            max_ttl=self.max_ttl if max_ttl is None else max_ttl,
            renewable=self.renewable,
        )
        return Response(
            data=dict(data), secret=Secret(lease=lease, internal={**internal, SECRET_TYPE_KEY: self.type})
        )


def secret_type_of(types: Mapping[str, SecretType], secret: Secret) -> SecretType:
    """The declared type a leased secret belongs to, with Vault's error when there is none."""
    found = types.get(str(secret.internal.get(SECRET_TYPE_KEY, "")))
    if found is None:
        raise InvalidRequestError("secret is unsupported by this backend")
    return found
