"""The pki engine's records for one mount: roles, issuers and their keys, issued certificates,
revocations and CRLs. Layer: builtin.

Imports logical (Storage), errors, util and the engine's models, keys and certs. Every value goes through the
mount's storage view, so the barrier encrypts private keys like every other record.

Invariant: changes that read-modify-write (issuer creation and defaults, revocations, CRL numbers, tidy)
run under `lock`.
Invariant: an issuer is the default only if it has a key; an issuer is used for a purpose only if its usage
names that purpose.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
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
    KEYS_CONFIG,
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

CRL_SIGNING = "crl-signing"
EXPIRED_REVOCATION = (
    "certificate with serial {serial} already expired; refusing to add to CRL. Enable "
    "'AllowExpiredCertRevocation' to allow revoking expired certificates."
)


_GO_DURATION = re.compile(r"-?(\d+(\.\d*)?(ns|us|µs|ms|s|m|h))+")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)")
_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


_MAX_DURATION_SECONDS = (2**63 - 1) / 1e9


def go_seconds(text: str) -> float:
    """parseutil.ParseDurationSecond, how Vault reads config/crl's durations: a number of seconds, or a Go
    duration ("72h", "1h30m", "-1s"); ValueError with Go's words otherwise."""
    value = text.strip()
    if re.fullmatch(r"-?\d+", value):
        if abs(int(value)) >= 2**63:  # not an int64: Go then tries ParseDuration, which wants a unit
            raise ValueError(f'time: invalid duration "{text}"')
        if abs(int(value)) > _MAX_DURATION_SECONDS:
            raise ValueError("multiplication of durations resulted in overflow, one operand may be too large")
        return float(value)
    if not _GO_DURATION.fullmatch(value):
        raise ValueError(f'time: invalid duration "{text}"')
    seconds = sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_PART.findall(value))
    if seconds > _MAX_DURATION_SECONDS:  # past Go's time.Duration (int64 nanoseconds)
        raise ValueError(f'time: invalid duration "{text}"')
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

    async def roles(self) -> list[Role]:
        found = [await self.role(name) for name in await self.role_names()]
        return [role for role in found if role is not None]

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
        await put_json(self._storage, ISSUERS_CONFIG, {**await self.issuers_config(), "default": issuer_id})

    async def issuers_config(self) -> dict[str, Any]:
        """config/issuers as a read shows it: the default issuer's id and whether it follows the latest."""
        raw = await get_json(self._storage, ISSUERS_CONFIG)
        raw = raw if isinstance(raw, dict) else {}
        return {
            "default": str(raw.get("default", "")),
            "default_follows_latest_issuer": bool(raw.get("default_follows_latest_issuer", False)),
        }

    async def set_default_follows_latest_issuer(self, follows: bool) -> None:
        config = await self.issuers_config()
        await put_json(self._storage, ISSUERS_CONFIG, {**config, "default_follows_latest_issuer": follows})

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
        """Store `issuer`; when the mount has no default issuer yet, one with a key becomes it."""
        await put_json(self._storage, ISSUER_PREFIX + issuer.id, issuer.to_json())
        if issuer.key_id and not await self.default_issuer_id():
            await self.set_default_issuer(issuer.id)

    async def follow_latest(self, issuer_id: str) -> None:
        """Make a new issuer the default when config/issuers says the default follows the latest."""
        if (await self.issuers_config())["default_follows_latest_issuer"]:
            await self.set_default_issuer(issuer_id)

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

    async def signing_issuer(self, ref: str, usage: str = "") -> SigningIssuer:
        """The issuer `ref` names with its key, or 400 (Vault's words when the mount has no CA yet, when
        the issuer's usage lacks `usage`, when it has no key)."""
        issuer = await self.resolve_issuer(ref)
        if issuer is None:
            if ref == "default":
                raise InvalidRequestError("no default issuer currently configured")
            raise InvalidRequestError(f"unable to find PKI issuer for reference: {ref}")
        if usage and usage not in issuer.usage:
            named = f"id:{issuer.id}" + (f" / name:{issuer.name}" if issuer.name else "")
            raise InvalidRequestError(
                f"error while attempting to use issuer {issuer.id}: requested usage {usage} for issuer "
                f"[{named}] but only had usage {','.join(issuer.usage)}"
            )
        entry = await self.key(issuer.key_id) if issuer.key_id else None
        if entry is None:
            raise InvalidRequestError(
                f"unable to fetch corresponding key for issuer {issuer.id}; unable to use this issuer for "
                "signing"
            )
        return SigningIssuer(issuer, load_certificate(issuer.certificate), load_key(entry.private_key))

    async def delete_issuer(self, issuer_id: str) -> bool:
        """Remove an issuer and its CRL; whether it was the default (which is then unset)."""
        was_default = await self.default_issuer_id() == issuer_id
        if was_default:
            await self.set_default_issuer("")
        await self._storage.delete(ISSUER_PREFIX + issuer_id)
        await self._storage.delete(CRL_PREFIX + issuer_id)
        return was_default

    async def rebuild_chains(self) -> None:
        """Recompute every issuer's ca_chain from the mount's issuers: itself, then each parent that signed
        the one before, up to a self-signed root or the first parent the mount does not hold. A manual
        chain is taken as given."""
        issuers = await self.issuers()
        by_id = {issuer.id: issuer for issuer in issuers}
        certificates = {issuer.id: load_certificate(issuer.certificate) for issuer in issuers}
        for issuer in issuers:
            if issuer.manual_chain:
                chain = [by_id[ref].certificate for ref in issuer.manual_chain if ref in by_id]
            else:
                chain = [issuer.certificate]
                seen = {issuer.id}
                current = certificates[issuer.id]
                while (parent := _parent_of(current, certificates, seen)) is not None:
                    seen.add(parent)
                    chain.append(by_id[parent].certificate)
                    current = certificates[parent]
            if tuple(chain) != issuer.ca_chain:
                await put_json(
                    self._storage, ISSUER_PREFIX + issuer.id, replace(issuer, ca_chain=tuple(chain)).to_json()
                )

    # Keys (config/keys holds the default).
    async def keys(self) -> list[KeyEntry]:
        found = [await self.key(key_id) for key_id in await self._storage.list(KEY_PREFIX)]
        return [entry for entry in found if entry is not None]

    async def default_key_id(self) -> str:
        raw = await get_json(self._storage, KEYS_CONFIG)
        return str(raw.get("default", "")) if isinstance(raw, dict) else ""

    async def set_default_key(self, key_id: str) -> None:
        await put_json(self._storage, KEYS_CONFIG, {"default": key_id})

    async def add_key(self, key: KeyEntry) -> None:
        """Store a new key; when the mount has no default key yet, it becomes it."""
        await self.save_key(key)
        if not await self.default_key_id():
            await self.set_default_key(key.id)

    async def resolve_key(self, ref: str) -> KeyEntry | None:
        """The key a key_ref names: "default", an id, or a name."""
        if ref == "default":
            ref = await self.default_key_id()
            if not ref:
                return None
        found = await self.key(ref)
        if found is not None:
            return found
        return next((entry for entry in await self.keys() if ref and entry.name == ref), None)

    async def delete_key(self, key_id: str) -> bool:
        """Remove a key; whether it was the default (which is then unset)."""
        was_default = await self.default_key_id() == key_id
        if was_default:
            await self.set_default_key("")
        await self._storage.delete(KEY_PREFIX + key_id)
        return was_default

    async def urls(self) -> Urls:
        raw = await get_json(self._storage, URLS_CONFIG)
        if not isinstance(raw, dict):
            return Urls()
        lists = {name: tuple(raw.get(name, ())) for name in URL_LISTS}
        return Urls(**lists, enable_templating=bool(raw.get("enable_templating", False)))

    async def urls_for(self, issuer: Issuer) -> Urls:
        """The URLs certificates signed by `issuer` carry: its own AIA settings when it has any, else
        config/urls."""
        own = Urls(issuer.issuing_certificates, issuer.crl_distribution_points, issuer.ocsp_servers)
        return own if own != Urls() else await self.urls()

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

    async def issuing_urls(self, issuer: Issuer) -> Urls:
        """The URLs what `issuer` signs now carries (`urls_for`), templated; 400 when they cannot be."""
        path, aia_path = await self.cluster_config()
        urls = await self.urls_for(issuer)
        try:
            return urls.resolved(cluster_path=path, aia_path=aia_path, issuer_id=issuer.id)
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
            warnings: tuple[str, ...] = ()
            if not config.auto_rebuild:
                if not config.disable:
                    warnings = await self.rebuild_crls((record.issuer_id,))
            elif config.enable_delta:
                await put_json(self._storage, DELTA_WAL_PREFIX + storage_serial(serial), {})
            return Revocation(record, warnings)

    # CRLs.
    async def crl_config(self) -> CrlConfig:
        raw = await get_json(self._storage, CRL_CONFIG)
        return CrlConfig() if raw is None else CrlConfig.from_json(raw)

    async def save_crl_config(self, config: CrlConfig) -> None:
        await put_json(self._storage, CRL_CONFIG, config.to_json())

    async def crl(self, issuer_id: str) -> bytes | None:
        raw = await get_json(self._storage, CRL_PREFIX + issuer_id)
        return None if raw is None else base64.b64decode(raw["der"])

    async def _next_crl_number(self, issuer_id: str) -> tuple[int, dict[str, Any]]:
        """The next number of the issuer's CRLs (complete and delta CRLs count together, as in Vault)."""
        previous = await get_json(self._storage, CRL_PREFIX + issuer_id)
        if not isinstance(previous, dict):
            return 1, {}
        return int(previous["number"]) + 1, previous

    async def rebuild_crls(self, issuer_ids: Iterable[str]) -> tuple[str, ...]:
        """Sign new CRLs for the issuers named that still exist and hold a key; one that may not sign CRLs
        (no crl-signing usage) is skipped with Vault's warning, numbered as Vault numbers them."""
        warnings: list[str] = []
        for issuer_id in dict.fromkeys(issuer_ids):
            issuer = await self.issuer(issuer_id)
            if issuer is None or not issuer.key_id:
                continue
            if CRL_SIGNING not in issuer.usage:
                warnings.append(
                    f"Warning {len(warnings) + 1} during CRL rebuild: warning from local CRL rebuild: Issuer "
                    "equivalency set with associated keys lacked an issuer with CRL Signing KeyUsage; "
                    f"refusing to rebuild CRL for this group of issuers: {issuer.id}"
                )
                continue
            await self.rebuild_crl(issuer.id)
        return tuple(warnings)

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
            freshest=(await self.issuing_urls(signing.issuer)).delta_crl_distribution_points,
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


def _parent_of(
    certificate: x509.Certificate, certificates: dict[str, x509.Certificate], seen: set[str]
) -> str | None:
    """The id of the issuer (not yet in `seen`) whose key signed `certificate`; None for a self-signed one."""
    if certificate.issuer == certificate.subject and signed_by(certificate, certificate):
        return None
    for issuer_id, candidate in certificates.items():
        if (
            issuer_id not in seen
            and candidate.subject == certificate.issuer
            and signed_by(certificate, candidate)
        ):
            return issuer_id
    return None


def signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    """Whether `issuer` (its name and key) signed `certificate`."""
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
