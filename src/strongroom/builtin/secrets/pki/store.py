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
from dataclasses import dataclass, replace
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from strongroom.builtin.secrets.pki.certs import Urls, build_crl, load_certificate
from strongroom.builtin.secrets.pki.keys import PrivateKey, load_key, public_key_der
from strongroom.builtin.secrets.pki.models import (
    CERT_PREFIX,
    CRL_PREFIX,
    ISSUER_PREFIX,
    ISSUERS_CONFIG,
    KEY_PREFIX,
    REVOKED_PREFIX,
    ROLE_PREFIX,
    URLS_CONFIG,
    CertRecord,
    Issuer,
    KeyEntry,
    Role,
    storage_serial,
)
from strongroom.errors import InvalidRequestError
from strongroom.logical import Storage, get_json, put_json
from strongroom.util.clock import Clock

# Vault's config/crl default expiry: a CRL's nextUpdate is this long after it was built.
CRL_EXPIRY = 72 * 3600


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
        return Urls(**{k: tuple(v) for k, v in raw.items()})

    async def save_urls(self, urls: Urls) -> None:
        await put_json(
            self._storage,
            URLS_CONFIG,
            {
                "issuing_certificates": list(urls.issuing_certificates),
                "crl_distribution_points": list(urls.crl_distribution_points),
                "ocsp_servers": list(urls.ocsp_servers),
            },
        )

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
            {"revocation_time": record.revocation_time, "issuer_id": record.issuer_id},
        )
        await self.save_cert(record)

    async def unmark_revoked(self, serial: str) -> None:
        await self._storage.delete(REVOKED_PREFIX + storage_serial(serial))

    async def revoke(self, serial: str, now: float) -> CertRecord:
        """Revoke a stored certificate (again: no change) and sign a new CRL for its issuer."""
        async with self.lock:
            record = await self.cert(serial)
            if record is None:
                raise InvalidRequestError(f"certificate with serial {serial} not found.")
            if record.revocation_time:
                return record
            for issuer in await self.issuers():
                if issuer.certificate.strip() == record.certificate.strip():
                    raise InvalidRequestError(
                        f"adding issuer (id: {issuer.id}) to its own CRL is not allowed"
                    )
            record = replace(record, revocation_time=now)
            await self.mark_revoked(record)
            if await self.issuer(record.issuer_id) is not None:
                await self.rebuild_crl(record.issuer_id)
            return record

    # CRLs.
    async def crl(self, issuer_id: str) -> bytes | None:
        raw = await get_json(self._storage, CRL_PREFIX + issuer_id)
        return None if raw is None else base64.b64decode(raw["der"])

    async def rebuild_crl(self, issuer_id: str) -> bytes:
        """Sign a new CRL for `issuer_id` listing its revoked certificates; its number is one more."""
        signing = await self.signing_issuer(issuer_id)
        revoked: list[tuple[int, float]] = []
        for serial in await self.revoked_serials():
            raw: Any = await get_json(self._storage, REVOKED_PREFIX + storage_serial(serial))
            if isinstance(raw, dict) and raw.get("issuer_id") == issuer_id:
                revoked.append((int(serial.replace(":", ""), 16), float(raw["revocation_time"])))
        previous = await get_json(self._storage, CRL_PREFIX + issuer_id)
        number = int(previous["number"]) + 1 if isinstance(previous, dict) else 1
        now = self._clock.now()
        crl = build_crl(
            signing.certificate,
            signing.key,
            revoked=revoked,
            number=number,
            now=now,
            next_update=now + CRL_EXPIRY,
        )
        der = crl.public_bytes(Encoding.DER)
        await put_json(
            self._storage, CRL_PREFIX + issuer_id, {"number": number, "der": base64.b64encode(der).decode()}
        )
        return der

    async def current_crl(self, issuer_id: str) -> bytes:
        """The issuer's CRL, built now when it never was."""
        return await self.crl(issuer_id) or await self.rebuild_crl(issuer_id)
