"""The pki engine's records for one mount: roles, issuers and their keys, issued certificates,
revocations and CRLs. Layer: builtin.

Imports logical (Storage), errors, util and the engine's models, keys and certs. Every value goes through the
mount's storage view, so the barrier encrypts private keys like every other record.

Invariant: changes that read-modify-write (issuer creation and defaults, revocations, CRL numbers, tidy)
run under `lock`.
"""

from __future__ import annotations

import asyncio
import base64
import re
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from strongroom.builtin.secrets.pki.certs import URL_LISTS, Urls, build_crl, load_certificate
from strongroom.builtin.secrets.pki.keys import PrivateKey, load_key, public_key_der
from strongroom.builtin.secrets.pki.models import (
    CERT_PREFIX,
    CLUSTER_CONFIG,
    CRL_CONFIG,
    CRL_PREFIX,
    DELTA_CRL_PREFIX,
    DELTA_WAL_PREFIX,
    ISSUER_PREFIX,
    ISSUERS_CONFIG,
    KEY_PREFIX,
    REVOKED_PREFIX,
    ROLE_PREFIX,
    URLS_CONFIG,
    CertRecord,
    CrlConfig,
    Issuer,
    KeyEntry,
    Role,
    storage_serial,
)
from strongroom.errors import InvalidRequestError
from strongroom.logical import Storage, get_json, put_json
from strongroom.util.clock import Clock

EXPIRED_REVOCATION = (
    "certificate with serial {serial} already expired; refusing to add to CRL. Enable "
    "'AllowExpiredCertRevocation' to allow revoking expired certificates."
)


_GO_DURATION = re.compile(r"-?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_seconds(text: str) -> float:
    """parseutil.ParseDurationSecond, how Vault reads config/crl's durations: a number of seconds, or a Go
    duration ("72h", "1h30m", "-1s"); ValueError with Go's words otherwise."""
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        return float(value)
    if not _GO_DURATION.fullmatch(value):
        raise ValueError(f'time: invalid duration "{text}"')
    seconds = sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(value))
    return -seconds if value.startswith("-") else seconds


def crl_seconds(duration: str) -> float:
    """A config/crl duration (checked when written) in seconds, never negative."""
    return max(0.0, go_seconds(duration))


@dataclass(frozen=True, slots=True)
class Revocation:
    """What a revocation did: the revoked record (None when refused) and Vault's warnings."""

    record: CertRecord | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SigningIssuer:
    """An issuer ready to sign: its record, certificate and private key."""

    issuer: Issuer
    certificate: x509.Certificate
    key: PrivateKey


class PkiStore:
    """Typed access to one mount's pki records."""

    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock
        self.lock = asyncio.Lock()

    # Roles.
    async def role(self, name: str) -> Role | None:
        raw = await get_json(self._storage, ROLE_PREFIX + name)
        return None if raw is None else Role.from_json(raw)

    async def save_role(self, role: Role) -> None:
        await put_json(self._storage, ROLE_PREFIX + role.name, role.to_json())

    async def delete_role(self, name: str) -> None:
        await self._storage.delete(ROLE_PREFIX + name)

    async def role_names(self) -> list[str]:
        return await self._storage.list(ROLE_PREFIX)

    # Issuers and keys.
    async def issuer(self, issuer_id: str) -> Issuer | None:
        raw = await get_json(self._storage, ISSUER_PREFIX + issuer_id)
        return None if raw is None else Issuer.from_json(raw)

    async def issuers(self) -> list[Issuer]:
        found = [await self.issuer(name) for name in await self._storage.list(ISSUER_PREFIX)]
        return [issuer for issuer in found if issuer is not None]

    async def default_issuer_id(self) -> str:
        raw = await get_json(self._storage, ISSUERS_CONFIG)
        return str(raw.get("default", "")) if isinstance(raw, dict) else ""

    async def set_default_issuer(self, issuer_id: str) -> None:
        await put_json(self._storage, ISSUERS_CONFIG, {"default": issuer_id})

    async def resolve_issuer(self, ref: str) -> Issuer | None:
        """The issuer an issuer_ref names: "default", an id, or a name."""
        if ref == "default":
            ref = await self.default_issuer_id()
            if not ref:
                return None
        found = await self.issuer(ref)
        if found is not None:
            return found
        return next((issuer for issuer in await self.issuers() if ref and issuer.name == ref), None)

    async def save_issuer(self, issuer: Issuer) -> None:
        """Store `issuer`; the first issuer of a mount becomes its default."""
        await put_json(self._storage, ISSUER_PREFIX + issuer.id, issuer.to_json())
        if not await self.default_issuer_id():
            await self.set_default_issuer(issuer.id)

    async def key(self, key_id: str) -> KeyEntry | None:
        raw = await get_json(self._storage, KEY_PREFIX + key_id)
        return None if raw is None else KeyEntry.from_json(raw)

    async def save_key(self, key: KeyEntry) -> None:
        await put_json(self._storage, KEY_PREFIX + key.id, key.to_json())

    async def key_for(self, certificate: x509.Certificate) -> KeyEntry | None:
        """The stored key whose public half is the certificate's."""
        wanted = public_key_der(certificate.public_key())  # type: ignore[arg-type]
        for key_id in await self._storage.list(KEY_PREFIX):
            entry = await self.key(key_id)
            if entry is not None and public_key_der(load_key(entry.private_key)) == wanted:
                return entry
        return None

    async def signing_issuer(self, ref: str) -> SigningIssuer:
        """The issuer `ref` names with its key, or 400 (Vault's words when the mount has no CA yet)."""
        issuer = await self.resolve_issuer(ref)
        if issuer is None:
            if ref == "default":
                raise InvalidRequestError("no default issuer currently configured")
            raise InvalidRequestError(f"unable to find PKI issuer for reference: {ref}")
        entry = await self.key(issuer.key_id)
        if entry is None:
            raise InvalidRequestError(f"issuer {issuer.id} has no private key")
        return SigningIssuer(issuer, load_certificate(issuer.certificate), load_key(entry.private_key))

    async def urls(self) -> Urls:
        raw = await get_json(self._storage, URLS_CONFIG)
        if not isinstance(raw, dict):
            return Urls()
        lists = {name: tuple(raw.get(name, ())) for name in URL_LISTS}
        return Urls(**lists, enable_templating=bool(raw.get("enable_templating", False)))

    async def save_urls(self, urls: Urls) -> None:
        record: dict[str, Any] = {name: list(getattr(urls, name)) for name in URL_LISTS}
        await put_json(self._storage, URLS_CONFIG, {**record, "enable_templating": urls.enable_templating})

    async def cluster_config(self) -> tuple[str, str]:
        """config/cluster: (path, aia_path), what {{cluster_path}} and {{cluster_aia_path}} stand for."""
        raw = await get_json(self._storage, CLUSTER_CONFIG)
        if not isinstance(raw, dict):
            return "", ""
        return str(raw.get("path", "")), str(raw.get("aia_path", ""))

    async def save_cluster_config(self, path: str, aia_path: str) -> None:
        await put_json(self._storage, CLUSTER_CONFIG, {"path": path, "aia_path": aia_path})

    async def issuing_urls(self, issuer_id: str) -> Urls:
        """The URLs what `issuer_id` signs now carries: config/urls, templated; 400 when it cannot be."""
        path, aia_path = await self.cluster_config()
        try:
            return (await self.urls()).resolved(cluster_path=path, aia_path=aia_path, issuer_id=issuer_id)
        except ValueError as exc:
            raise InvalidRequestError(f"unable to fetch AIA URL information: {exc}") from None

    # Issued certificates and revocations.
    async def cert(self, serial: str) -> CertRecord | None:
        raw = await get_json(self._storage, CERT_PREFIX + storage_serial(serial))
        return None if raw is None else CertRecord.from_json(raw)

    async def save_cert(self, record: CertRecord) -> None:
        await put_json(self._storage, CERT_PREFIX + storage_serial(record.serial), record.to_json())

    async def delete_cert(self, serial: str) -> None:
        await self._storage.delete(CERT_PREFIX + storage_serial(serial))

    async def cert_serials(self) -> list[str]:
        """Stored serials in Vault's colon form."""
        return [key.replace("-", ":") for key in await self._storage.list(CERT_PREFIX)]

    async def revoked_serials(self) -> list[str]:
        return [key.replace("-", ":") for key in await self._storage.list(REVOKED_PREFIX)]

    async def mark_revoked(self, record: CertRecord) -> None:
        await put_json(
            self._storage,
            REVOKED_PREFIX + storage_serial(record.serial),
            # The expiry too, so tidy can judge a revocation whose certificate record is gone.
            {
                "revocation_time": record.revocation_time,
                "issuer_id": record.issuer_id,
                "not_after": record.not_after,
            },
        )
        await self.save_cert(record)

    async def unmark_revoked(self, serial: str) -> None:
        await self._storage.delete(REVOKED_PREFIX + storage_serial(serial))

    async def revocation(self, serial: str) -> tuple[str, float] | None:
        """One revocation, by colon serial: (issuer id, revocation time), or None when not revoked."""
        raw: Any = await get_json(self._storage, REVOKED_PREFIX + storage_serial(serial))
        if not isinstance(raw, dict):
            return None
        return str(raw.get("issuer_id", "")), float(raw["revocation_time"])

    async def revocation_expiry(self, serial: str) -> float | None:
        """When the revoked certificate `serial` expires (None: not revoked, or revoked before expiries were
        kept with revocations; then its certificate record says)."""
        raw: Any = await get_json(self._storage, REVOKED_PREFIX + storage_serial(serial))
        if not isinstance(raw, dict):
            return None
        if "not_after" in raw:
            return float(raw["not_after"])
        record = await self.cert(serial)
        return None if record is None else record.not_after

    async def revoked_entries(self) -> dict[str, tuple[str, float]]:
        """Every revocation: colon serial -> (issuer id, revocation time)."""
        found: dict[str, tuple[str, float]] = {}
        for serial in await self.revoked_serials():
            raw: Any = await get_json(self._storage, REVOKED_PREFIX + storage_serial(serial))
            if isinstance(raw, dict):
                found[serial] = (str(raw.get("issuer_id", "")), float(raw["revocation_time"]))
        return found

    async def revoke(self, serial: str, now: float) -> Revocation:
        """Revoke a stored certificate (again: no change). Without auto_rebuild its issuer's CRL is signed
        anew at once; with it and delta CRLs, the revocation waits in the delta WAL for the next delta CRL.
        An expired certificate is refused with Vault's warning unless allow_expired_cert_revocation."""
        async with self.lock:
            record = await self.cert(serial)
            if record is None:
                raise InvalidRequestError(f"certificate with serial {serial} not found.")
            if record.revocation_time:
                return Revocation(record)
            for issuer in await self.issuers():
                if issuer.certificate.strip() == record.certificate.strip():
                    raise InvalidRequestError(
                        f"adding issuer (id: {issuer.id}) to its own CRL is not allowed"
                    )
            config = await self.crl_config()
            if record.not_after < now + 2 and not config.allow_expired_cert_revocation:
                return Revocation(None, (EXPIRED_REVOCATION.format(serial=serial),))
            record = replace(record, revocation_time=now)
            await self.mark_revoked(record)
            if not config.auto_rebuild:
                if not config.disable and await self.issuer(record.issuer_id) is not None:
                    await self.rebuild_crl(record.issuer_id)
            elif config.enable_delta:
                await put_json(self._storage, DELTA_WAL_PREFIX + storage_serial(serial), {})
            return Revocation(record)

    # CRLs.
    async def crl_config(self) -> CrlConfig:
        raw = await get_json(self._storage, CRL_CONFIG)
        return CrlConfig() if raw is None else CrlConfig.from_json(raw)

    async def save_crl_config(self, config: CrlConfig) -> None:
        await put_json(self._storage, CRL_CONFIG, config.to_json())

    async def crl(self, issuer_id: str) -> bytes | None:
        raw = await get_json(self._storage, CRL_PREFIX + issuer_id)
        return None if raw is None else base64.b64decode(raw["der"])

    async def delta_crl(self, issuer_id: str) -> bytes | None:
        raw = await get_json(self._storage, DELTA_CRL_PREFIX + issuer_id)
        return None if raw is None else base64.b64decode(raw["der"])

    async def _next_crl_number(self, issuer_id: str) -> tuple[int, dict[str, Any]]:
        """The next number of the issuer's CRLs (complete and delta CRLs count together, as in Vault)."""
        previous = await get_json(self._storage, CRL_PREFIX + issuer_id)
        if not isinstance(previous, dict):
            return 1, {}
        return int(previous["number"]) + 1, previous

    async def rebuild_crl(self, issuer_id: str) -> bytes:
        """Sign a new complete CRL for `issuer_id` listing its revoked certificates (none while CRLs are
        disabled), then a new delta CRL after it; the delta WAL of the issuer is cleared."""
        config = await self.crl_config()
        signing = await self.signing_issuer(issuer_id)
        revoked: list[tuple[int, float]] = []
        if not config.disable:
            revoked = [
                (int(serial.replace(":", ""), 16), when)
                for serial, (owner, when) in (await self.revoked_entries()).items()
                if owner == issuer_id
            ]
        number, _ = await self._next_crl_number(issuer_id)
        now = self._clock.now()
        next_update = now + crl_seconds(config.expiry)
        crl = build_crl(
            signing.certificate,
            signing.key,
            revoked=revoked,
            number=number,
            now=now,
            next_update=next_update,
            freshest=(await self.issuing_urls(issuer_id)).delta_crl_distribution_points,
        )
        der = crl.public_bytes(Encoding.DER)
        record = {
            "number": number,
            "complete_number": number,
            "next_update": next_update,
            "der": base64.b64encode(der).decode(),
        }
        await put_json(self._storage, CRL_PREFIX + issuer_id, record)
        entries = await self.revoked_entries()
        for serial in await self._wal_serials():
            if entries.get(serial, ("", 0.0))[0] in (issuer_id, ""):
                await self._storage.delete(DELTA_WAL_PREFIX + storage_serial(serial))
        await self.rebuild_delta_crl(issuer_id)
        return der

    async def _wal_serials(self) -> list[str]:
        return [key.replace("-", ":") for key in await self._storage.list(DELTA_WAL_PREFIX)]

    async def rebuild_delta_crl(self, issuer_id: str) -> bytes:
        """Sign a new delta CRL for `issuer_id`: the revocations of the delta WAL, against the issuer's last
        complete CRL (Delta CRL Indicator)."""
        config = await self.crl_config()
        signing = await self.signing_issuer(issuer_id)
        number, previous = await self._next_crl_number(issuer_id)
        wal = set(await self._wal_serials())
        revoked = [
            (int(serial.replace(":", ""), 16), when)
            for serial, (owner, when) in (await self.revoked_entries()).items()
            if owner == issuer_id and serial in wal and not config.disable
        ]
        now = self._clock.now()
        crl = build_crl(
            signing.certificate,
            signing.key,
            revoked=revoked,
            number=number,
            now=now,
            next_update=now + crl_seconds(config.expiry),
            delta_of=int(previous.get("complete_number", number - 1)) or 1,
        )
        der = crl.public_bytes(Encoding.DER)
        await put_json(self._storage, CRL_PREFIX + issuer_id, {**previous, "number": number})
        await put_json(
            self._storage,
            DELTA_CRL_PREFIX + issuer_id,
            {"der": base64.b64encode(der).decode(), "built": now, "wal": sorted(wal)},
        )
        return der

    async def current_crl(self, issuer_id: str) -> bytes:
        """The issuer's complete CRL: built now when it never was, or (with auto_rebuild) when it expires
        within the grace period; kept as it is while CRLs are disabled."""
        raw = await get_json(self._storage, CRL_PREFIX + issuer_id)
        if not isinstance(raw, dict):
            return await self.rebuild_crl(issuer_id)
        config = await self.crl_config()
        if config.auto_rebuild and not config.disable:
            grace = crl_seconds(config.auto_rebuild_grace_period)
            if self._clock.now() > float(raw.get("next_update", 0)) - grace:
                return await self.rebuild_crl(issuer_id)
        return base64.b64decode(raw["der"])

    async def current_delta_crl(self, issuer_id: str) -> bytes:
        """The issuer's delta CRL, signed anew once delta_rebuild_interval has passed since the last one
        when revocations wait in the delta WAL (Vault's periodic delta rebuild, done when asked)."""
        await self.current_crl(issuer_id)
        raw = await get_json(self._storage, DELTA_CRL_PREFIX + issuer_id)
        if not isinstance(raw, dict):
            return await self.rebuild_delta_crl(issuer_id)
        config = await self.crl_config()
        if config.enable_delta and not config.disable:
            due = float(raw.get("built", 0)) + crl_seconds(config.delta_rebuild_interval)
            if self._clock.now() >= due and set(await self._wal_serials()) - set(raw.get("wal", ())):
                return await self.rebuild_delta_crl(issuer_id)
        return base64.b64decode(raw["der"])
