"""config/crl, crl, crl/pem, crl/delta, crl/delta/pem, crl/rotate and crl/rotate-delta: how CRLs are built
and where they are read. Layer: builtin.

Imports framework, logical, errors, util and the engine's modules. The CRL paths need no token (Vault's
unauthenticated paths). Vault rebuilds CRLs near their expiry (auto_rebuild) and delta CRLs every
delta_rebuild_interval from a periodic function; here the same checks run when a CRL is read, so a reader
never sees a CRL the periodic function would already have replaced.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from strongroom.builtin.secrets.pki.common import NO_CONTENT
from strongroom.builtin.secrets.pki.keys import pem_text
from strongroom.builtin.secrets.pki.models import CrlConfig
from strongroom.builtin.secrets.pki.store import PkiStore, go_seconds
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Handler, Path
from strongroom.logical import Operation, Request, Response

DELTA_DISABLED = "requested rebuild of delta CRL when delta CRL is not enabled; this is a no-op"
DELTA_WITHOUT_AUTO_REBUILD = (
    "Delta CRLs cannot be enabled when auto rebuilding is disabled as the complete CRL is always regenerated!"
)
_DURATIONS = ("expiry", "ocsp_expiry", "auto_rebuild_grace_period", "delta_rebuild_interval")
_DESCRIPTIONS = {
    "expiry": "The amount of time the generated CRL should be valid; defaults to 72 hours",
    "disable": "If set to true, disables generating the CRL entirely.",
    "ocsp_disable": "If set to true, ocsp unauthorized responses will be returned.",
    "ocsp_expiry": (
        "The amount of time an OCSP response will be valid (controls the NextUpdate field); defaults to "
        "12 hours"
    ),
    "auto_rebuild": "If set to true, enables automatic rebuilding of the CRL",
    "auto_rebuild_grace_period": (
        "The time before the CRL expires to automatically rebuild it, when enabled. Must be shorter than "
        "the CRL expiry. Defaults to 12h."
    ),
    "enable_delta": "Whether to enable delta CRLs between authoritative CRL rebuilds",
    "delta_rebuild_interval": (
        "The time between delta CRL rebuilds if a new revocation has occurred. Must be shorter than the CRL "
        "expiry. Defaults to 15m."
    ),
    "allow_expired_cert_revocation": "If set to true, allows the revocation of expired certificates.",
}


def _go_text(seconds: float) -> str:
    """Go's Duration.String() for the negative durations Vault quotes back."""
    sign, rest = ("-", -seconds) if seconds < 0 else ("", seconds)
    hours, rest = divmod(int(rest), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes}m{secs}s"
    return f"{sign}{minutes}m{secs}s" if minutes else f"{sign}{secs}s"


def config_data(config: CrlConfig) -> dict[str, Any]:
    return dict(sorted(asdict(config).items()))


def _checked(config: CrlConfig) -> None:
    """Vault's cross-field rules for config/crl."""
    expiry = go_seconds(config.expiry)
    if config.auto_rebuild and go_seconds(config.auto_rebuild_grace_period) >= expiry:
        raise InvalidRequestError(
            f"CRL auto-rebuilding grace period ({config.auto_rebuild_grace_period}) must be strictly shorter "
            f"than CRL expiry ({config.expiry}) value when auto-rebuilding of CRLs is enabled"
        )
    if config.enable_delta and go_seconds(config.delta_rebuild_interval) >= expiry:
        raise InvalidRequestError(
            f"CRL delta rebuild window ({config.delta_rebuild_interval}) must be strictly shorter than CRL "
            f"expiry ({config.expiry}) value when delta CRLs are enabled"
        )
    if not config.auto_rebuild and config.enable_delta:
        raise InvalidRequestError(DELTA_WITHOUT_AUTO_REBUILD)


def paths(store: PkiStore) -> list[Path]:
    """The CRL configuration, fetch and rotation paths."""

    async def rebuild_all() -> None:
        async with store.lock:
            for issuer in await store.issuers():
                if issuer.key_id:
                    await store.rebuild_crl(issuer.id)

    async def read_config(request: Request, data: FieldData) -> Response | None:
        return Response(data=config_data(await store.crl_config()))

    async def write_config(request: Request, data: FieldData) -> Response | None:
        old = await store.crl_config()
        changes: dict[str, Any] = {}
        for name in _DESCRIPTIONS:
            value, supplied = data.get_ok(name)
            if not supplied:
                continue
            if name in _DURATIONS:
                try:
                    seconds = go_seconds(value)
                except ValueError as exc:
                    raise InvalidRequestError(f"given {name} could not be decoded: {exc}") from None
                if name == "ocsp_expiry" and seconds < 0:
                    raise InvalidRequestError(
                        f"ocsp_expiry must be greater than or equal to 0 got: {_go_text(seconds)}"
                    )
            changes[name] = value
        config = replace(old, **changes)
        _checked(config)
        await store.save_crl_config(config)
        if (
            old.disable != config.disable
            or (old.auto_rebuild and not config.auto_rebuild)
            or old.enable_delta != config.enable_delta
        ):
            await rebuild_all()
        return Response(data=config_data(config))

    async def default_crl(delta: bool) -> bytes | None:
        issuer = await store.resolve_issuer("default")
        if issuer is None:
            return None
        async with store.lock:
            if delta:
                return await store.current_delta_crl(issuer.id)
            return await store.current_crl(issuer.id)

    def fetch(*, delta: bool, pem: bool) -> Handler:
        async def handler(request: Request, data: FieldData) -> Response | None:
            der = await default_crl(delta)
            if der is None:
                return NO_CONTENT
            if pem:
                body = pem_text("X509 CRL", der).encode()
                return Response(raw_body=body, content_type="application/x-pem-file")
            return Response(raw_body=der, content_type="application/pkix-crl")

        return handler

    async def rotate(request: Request, data: FieldData) -> Response | None:
        config = await store.crl_config()
        if not config.disable:
            await rebuild_all()
        return Response(data={"success": True})

    async def rotate_delta(request: Request, data: FieldData) -> Response | None:
        config = await store.crl_config()
        if config.enable_delta and not config.disable:
            async with store.lock:
                for issuer in await store.issuers():
                    if issuer.key_id:
                        await store.rebuild_delta_crl(issuer.id)
        return Response(data={"success": True}, warnings=() if config.enable_delta else (DELTA_DISABLED,))

    defaults = CrlConfig()
    config_fields = {
        name: Field(
            FieldType.STRING if name in _DURATIONS else FieldType.BOOL,
            description,
            getattr(defaults, name) if name in _DURATIONS else False,
        )
        for name, description in _DESCRIPTIONS.items()
    }
    config_fields["ocsp_expiry"] = Field(FieldType.STRING, _DESCRIPTIONS["ocsp_expiry"], "1h")
    return [
        Path(
            "config/crl",
            fields=config_fields,
            operations={Operation.READ: read_config, Operation.UPDATE: write_config},
            synopsis="Configure the CRL expiration.",
            description="This endpoint allows configuration of the CRL lifetime.",
        ),
        Path(
            "crl",
            operations={Operation.READ: fetch(delta=False, pem=False)},
            synopsis="Fetch the CRL (DER).",
        ),
        Path(
            "crl/pem",
            operations={Operation.READ: fetch(delta=False, pem=True)},
            synopsis="Fetch the CRL (PEM).",
        ),
        Path(
            "crl/delta",
            operations={Operation.READ: fetch(delta=True, pem=False)},
            synopsis="Fetch the delta CRL (DER).",
        ),
        Path(
            "crl/delta/pem",
            operations={Operation.READ: fetch(delta=True, pem=True)},
            synopsis="Fetch the delta CRL (PEM).",
        ),
        Path(
            "crl/rotate",
            operations={Operation.READ: rotate},
            synopsis="Force a rebuild of the CRL.",
            description="Signs a new CRL for every issuer, with the next CRL number.",
        ),
        Path(
            "crl/rotate-delta",
            operations={Operation.READ: rotate_delta},
            synopsis="Force a rebuild of the delta CRL.",
            description="Signs a new delta CRL for every issuer from the revocations since the last CRL.",
        ),
    ]
