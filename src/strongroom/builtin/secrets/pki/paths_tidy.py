"""tidy, tidy-status and tidy-cancel: removing expired certificates and revocations. Layer: builtin.

Imports framework, logical, errors, util and the engine's store. Tidy runs to completion before it answers
(Vault runs it in the background and answers 202 at once; the answer here is the same 202, tidy-status is
already final, and tidy-cancel always finds nothing running).
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util import ids
from strongroom.util.clock import Clock, rfc3339

TIDY_STARTED = (
    "Tidy operation successfully started. Any information from the operation will be printed to OpenBao's "
    "server logs."
)
TIDY_NOTHING = (
    "Manual tidy requested but no tidy operations were set. Enable at least one tidy operation to be run "
    "(tidy_cert_store / tidy_revoked_certs / tidy_invalid_certs / tidy_revoked_cert_issuer_associations / "
    "tidy_expired_issuers / tidy_move_legacy_ca_bundle / tidy_acme)."
)
NOTHING_TO_CANCEL = "Tidy operation cannot be cancelled as none is currently running."
DEFAULT_SAFETY_BUFFER = 72 * 3600
ISSUER_SAFETY_BUFFER = 365 * 24 * 3600
ACME_SAFETY_BUFFER = 30 * 24 * 3600
_FLAGS = (
    "tidy_cert_store",
    "tidy_revoked_certs",
    "tidy_invalid_certs",
    "tidy_revoked_cert_issuer_associations",
    "tidy_expired_issuers",
    "tidy_move_legacy_ca_bundle",
    "tidy_acme",
)
# tidy-status before any tidy: every field Vault reports, unset.
_INACTIVE: dict[str, Any] = {
    **dict.fromkeys(
        (
            "acme_account_deleted_count", "acme_account_revoked_count", "acme_account_safety_buffer",
            "acme_orders_deleted_count", "cert_store_deleted_count", "current_cert_store_count",
            "current_revoked_cert_count", "error", "issuer_safety_buffer", "message",
            "missing_issuer_cert_count", "page_size", "pause_duration", "revoked_cert_deleted_count",
            "revoked_safety_buffer", "safety_buffer", "time_finished", "time_started",
            "total_acme_account_count", *_FLAGS,
        )
    ),
    "state": "Inactive",
}  # fmt: skip


def _buffers(data: FieldData) -> tuple[int, int]:
    """(safety_buffer, revoked_safety_buffer), checked as Vault checks them."""
    safety = int(data.get("safety_buffer"))
    revoked, supplied = data.get_ok("revoked_safety_buffer")
    revoked = int(revoked) if supplied else safety
    if safety < 1:
        raise InvalidRequestError("safety_buffer must be greater than zero")
    if revoked < 1:
        raise InvalidRequestError("revokedSafetyBuffer must be greater than zero")
    for name in ("issuer_safety_buffer", "acme_account_safety_buffer"):
        if int(data.get(name)) < 1:
            raise InvalidRequestError(f"{name} must be greater than zero")
    page_size = int(data.get("page_size"))
    if 0 < page_size < 5:
        raise InvalidRequestError("page_size must be greater than five")
    return safety, revoked


def paths(store: PkiStore, clock: Clock) -> list[Path]:
    """The tidy paths."""
    status: dict[str, Any] = {**_INACTIVE, "internal_backend_uuid": ids.new_uuid()}

    async def tidy_store(
        *, cert_store: bool, revoked: bool, safety: int, revoked_safety: int
    ) -> tuple[int, int]:
        """Delete certificates expired longer than their buffer ago: (certificates, revocations) deleted."""
        deleted = revoked_deleted = 0
        now = clock.now()
        async with store.lock:
            revoked_serials = set(await store.revoked_serials())
            touched: set[str] = set()
            for serial in await store.cert_serials():
                record = await store.cert(serial)
                if record is None:
                    continue
                if serial in revoked_serials:
                    if not revoked or record.not_after > now - revoked_safety:
                        continue
                    await store.unmark_revoked(serial)
                    touched.add(record.issuer_id)
                    revoked_deleted += 1
                elif not cert_store or record.not_after > now - safety:
                    continue
                await store.delete_cert(serial)
                deleted += 1
            for issuer_id in touched:
                if await store.issuer(issuer_id) is not None:
                    await store.rebuild_crl(issuer_id)
        return deleted, revoked_deleted

    async def tidy(request: Request, data: FieldData) -> Response | None:
        safety, revoked_safety = _buffers(data)
        flags = {name: bool(data.get(name)) for name in _FLAGS}
        flags["tidy_revoked_certs"] = flags["tidy_revoked_certs"] or bool(data.get("tidy_revocation_list"))
        started = clock.now()
        deleted, revoked_deleted = await tidy_store(
            cert_store=flags["tidy_cert_store"],
            revoked=flags["tidy_revoked_certs"],
            safety=safety,
            revoked_safety=revoked_safety,
        )
        status.update(
            flags,
            state="Finished",
            error=None,
            message=None,
            safety_buffer=safety,
            revoked_safety_buffer=revoked_safety,
            issuer_safety_buffer=data.get("issuer_safety_buffer"),
            acme_account_safety_buffer=data.get("acme_account_safety_buffer"),
            pause_duration=data.get("pause_duration") or "0s",
            page_size=data.get("page_size"),
            cert_store_deleted_count=deleted,
            revoked_cert_deleted_count=revoked_deleted,
            missing_issuer_cert_count=0,
            total_acme_account_count=0,
            acme_account_deleted_count=0,
            acme_account_revoked_count=0,
            acme_orders_deleted_count=0,
            time_started=rfc3339(started),
            time_finished=rfc3339(clock.now()),
            last_auto_tidy_finished=rfc3339(started),
        )
        warning = TIDY_STARTED if any(flags.values()) else TIDY_NOTHING
        return Response(warnings=(warning,), status=202)

    async def tidy_status(request: Request, data: FieldData) -> Response | None:
        return Response(data=dict(sorted(status.items())))

    async def tidy_cancel(request: Request, data: FieldData) -> Response | None:
        return Response(warnings=(NOTHING_TO_CANCEL,))

    def flag(description: str) -> Field:
        return Field(FieldType.BOOL, description, False)

    tidy_fields = {
        "tidy_cert_store": flag("Set to true to enable tidying up the certificate store"),
        "tidy_revoked_certs": flag(
            "Set to true to expire all revoked and expired certificates, removing them both from the CRL "
            "and from storage."
        ),
        "tidy_revocation_list": flag("Deprecated; synonym for 'tidy_revoked_certs'."),
        "tidy_invalid_certs": flag("Accepted for compatibility; this server stores no invalid certificates."),
        "tidy_revoked_cert_issuer_associations": flag(
            "Accepted for compatibility; revocations are stored with their issuer."
        ),
        "tidy_expired_issuers": flag("Accepted for compatibility; expired issuers are kept."),
        "tidy_move_legacy_ca_bundle": flag("Accepted for compatibility; there is no legacy CA bundle."),
        "tidy_acme": flag("Accepted for compatibility; this server has no ACME accounts."),
        "safety_buffer": Field(
            FieldType.DURATION,
            "The amount of extra time that must have passed beyond certificate expiration before it is "
            "removed from the backend storage.",
            DEFAULT_SAFETY_BUFFER,
        ),
        "revoked_safety_buffer": Field(
            FieldType.DURATION,
            "The amount of time that must pass after a revoked certificate expires before it is removed; "
            "defaults to safety_buffer.",
        ),
        "issuer_safety_buffer": Field(
            FieldType.DURATION, "The amount of time an expired issuer is kept.", ISSUER_SAFETY_BUFFER
        ),
        "acme_account_safety_buffer": Field(
            FieldType.DURATION, "The amount of time an ACME account is kept.", ACME_SAFETY_BUFFER
        ),
        "pause_duration": Field(FieldType.STRING, "The pause between certificates (accepted; unused).", "0s"),
        "page_size": Field(FieldType.INT, "How many certificates are read at once (accepted; unused).", 1000),
    }
    return [
        Path(
            "tidy",
            fields=tidy_fields,
            operations={Operation.UPDATE: tidy},
            synopsis="Tidy up the backend by removing expired certificates, revocation information, or both.",
            description="Removes certificates that expired more than safety_buffer ago.",
        ),
        Path(
            "tidy-status",
            operations={Operation.READ: tidy_status},
            synopsis="Returns the status of the tidy operation.",
            description="The outcome of the last tidy.",
        ),
        Path(
            "tidy-cancel",
            operations={Operation.UPDATE: tidy_cancel},
            synopsis="Cancels a currently running tidy operation.",
            description="Tidy finishes before it answers here, so there is never one to cancel.",
        ),
    ]
