"""sys/leases: look up, list, renew, revoke (one, a prefix, by force) and tidy leases; and Vault's legacy
sys/renew, sys/revoke, sys/revoke-prefix and sys/revoke-force.

Layer: core (framework-declared paths over the LeaseManager). Listing and the prefix revocations need sudo
(declared as root paths in core/system/__init__.py).
"""

from __future__ import annotations

import logging
from typing import Any

from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.leases import LeaseEntry
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339

log = logging.getLogger("strongroom.leases")

ROOT_PATHS = (
    "leases/lookup/*",
    "leases/revoke-prefix/*",
    "leases/revoke-force/*",
    "revoke-prefix/*",
    "revoke-force/*",
)
"""The sudo-only paths of this module, for the sys/ backend's special paths."""

_TIDY_STARTED = (
    "Tidy operation successfully started. Any information from the operation will be printed to "
    "strongroom's server logs."
)

_LEASE_ID = {
    "lease_id": Field(FieldType.STRING, "The lease identifier. This is included with a lease."),
    "url_lease_id": Field(FieldType.STRING, "The lease identifier, given in the URL."),
}
_INCREMENT = {
    "increment": Field(FieldType.DURATION, "The desired increment in seconds to the lease", default=0),
}
_SYNC = {
    "sync": Field(
        FieldType.BOOL,
        "Whether or not to perform the revocation synchronously",
        default=True,
    ),
}
_PREFIX = {"prefix": Field(FieldType.STRING, "The path to revoke keys under.")}


def lookup_data(lease: LeaseEntry, now: float) -> dict[str, Any]:
    """The body of sys/leases/lookup for one lease, as Vault shows it."""
    return {
        "expire_time": None if lease.expire_time is None else rfc3339(lease.expire_time),
        "id": lease.lease_id,
        "issue_time": rfc3339(lease.issue_time),
        "last_renewal": None if lease.last_renewal is None else rfc3339(lease.last_renewal),
        "path": lease.path,
        "renewable": not lease.renewal_refusal(now),
        "ttl": lease.remaining_ttl(now),
    }


def _lease_id(data: FieldData) -> str:
    lease_id: str = data.get("lease_id") or data.get("url_lease_id")
    if not lease_id:
        raise InvalidRequestError("lease_id must be specified")
    return lease_id


# Vault answers an asynchronous revocation with a bare 202.
_ACCEPTED = Response(status=202, raw_body=b"")


def paths(services: Services) -> list[Path]:
    """The lease paths."""
    leases = services.leases

    async def lookup(_request: Request, data: FieldData) -> Response:
        lease = await leases.lookup(_lease_id(data))
        if lease is None:
            raise InvalidRequestError("invalid lease")
        return Response(data=lookup_data(lease, leases.clock.now()))

    async def list_prefix(_request: Request, data: FieldData) -> Response:
        return Response(data={"keys": await leases.list(data.get("prefix"))})

    async def renew(_request: Request, data: FieldData) -> Response:
        lease_id = _lease_id(data)
        renewal = await leases.renew(lease_id, data.get("increment"))
        return Response(
            data=None if renewal.data is None else dict(renewal.data),
            warnings=renewal.warnings,
            lease_id=lease_id,
            lease_duration=renewal.ttl,
            renewable=renewal.renewable,
        )

    async def revoke(_request: Request, data: FieldData) -> Response | None:
        sync: bool = data.get("sync")
        await leases.revoke(_lease_id(data), sync=sync)
        return None if sync else _ACCEPTED

    async def revoke_prefix(_request: Request, data: FieldData) -> Response | None:
        sync: bool = data.get("sync")
        await leases.revoke_prefix(data.get("prefix"), sync=sync)
        return None if sync else _ACCEPTED

    async def revoke_force(_request: Request, data: FieldData) -> None:
        await leases.revoke_prefix(data.get("prefix"), force=True)

    async def tidy(_request: Request, _data: FieldData) -> Response:
        fixed = await leases.tidy()
        log.info("lease tidy: %d leases or index entries removed", fixed)
        return Response(warnings=(_TIDY_STARTED,), status=202)

    renew_help = "Renews a lease, requesting to extend the lease."
    revoke_help = "Revokes a lease immediately."
    prefix_help = "Revoke all secrets generated in a given prefix"
    force_help = "Revoke all secrets generated in a given prefix, ignoring errors."
    declared = [
        Path(
            "leases/lookup",
            fields=_LEASE_ID,
            operations={Operation.UPDATE: lookup},
            synopsis="View or list lease metadata.",
        ),
        Path(
            "leases/lookup/{prefix*}",
            fields=_PREFIX,
            operations={Operation.LIST: list_prefix},
            synopsis="View or list lease metadata.",
        ),
        Path(
            "leases/tidy",
            operations={Operation.UPDATE: tidy},
            synopsis="This endpoint performs cleanup tasks that can be run if certain error conditions have "
            "occurred.",
        ),
    ]
    # The sys/leases/ family, then Vault's older names for the same endpoints.
    for base in ("leases/", ""):
        declared += [
            Path(
                f"{base}renew",
                fields={**_LEASE_ID, **_INCREMENT},
                operations={Operation.UPDATE: renew},
                synopsis=renew_help,
            ),
            Path(
                f"{base}renew/{{url_lease_id*}}",
                fields={**_LEASE_ID, **_INCREMENT},
                operations={Operation.UPDATE: renew},
                synopsis=renew_help,
            ),
            Path(
                f"{base}revoke",
                fields={**_LEASE_ID, **_SYNC},
                operations={Operation.UPDATE: revoke},
                synopsis=revoke_help,
            ),
            Path(
                f"{base}revoke/{{url_lease_id*}}",
                fields={**_LEASE_ID, **_SYNC},
                operations={Operation.UPDATE: revoke},
                synopsis=revoke_help,
            ),
            Path(
                f"{base}revoke-prefix/{{prefix*}}",
                fields={**_PREFIX, **_SYNC},
                operations={Operation.UPDATE: revoke_prefix},
                synopsis=prefix_help,
            ),
            Path(
                f"{base}revoke-force/{{prefix*}}",
                fields=_PREFIX,
                operations={Operation.UPDATE: revoke_force},
                synopsis=force_help,
            ),
        ]
    return declared
