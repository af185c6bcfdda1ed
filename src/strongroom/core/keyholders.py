"""Operations that need a quorum of unseal key holders: rekey (new unseal shares) and generate-root.

Layer: core. Each operation collects shares under a nonce; once enough are in and they open the root key,
it acts once and forgets the shares.
Invariant: shares, the combined key, the OTP and the new root token never reach a log or an error message;
the root token leaves only XORed with the OTP the caller chose or was given, or encrypted to the PGP key the
caller gave (unseal shares too, when the caller gives their holders' keys).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from strongroom.crypto.pgp import PGPKeyError, PublicKey, parse_public_key
from strongroom.errors import InvalidRequestError
from strongroom.seal import SealConfig, SealManager
from strongroom.seal.manager import PendingRekey
from strongroom.util.ids import base62, new_uuid, service_token_id
from strongroom.util.keytext import hex_or_base64

TOKEN_LENGTH = len(service_token_id())


@dataclass(slots=True)
class _Attempt:
    """One quorum being gathered. Mutable: shares arrive one request at a time."""

    nonce: str
    required: int
    parts: list[bytes] = field(default_factory=list)

    def add(self, share: bytes, nonce: str) -> bool:
        """Record `share` (a repeat is ignored); True once `required` shares are in."""
        if not hmac.compare_digest(nonce.encode(), self.nonce.encode()):
            raise InvalidRequestError("incorrect nonce")
        if not any(hmac.compare_digest(part, share) for part in self.parts):
            self.parts.append(share)
        return len(self.parts) >= self.required


def decode_key(text: str) -> bytes:
    """A key share given as hex or base64, as Vault accepts it."""
    key = hex_or_base64(text)
    if key is None:
        raise InvalidRequestError("'key' must be a valid hex or base64 string")
    return key


def decode_token(encoded: str, otp: str) -> str:
    """The root token in a generate-root answer: `encoded` (unpadded base64) XORed with the OTP.

    Raises InvalidRequestError with OpenBao's wording (sys/decode-token) when the two do not fit together.
    """
    try:
        raw = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidRequestError("error decoding base64'd token: illegal base64 data") from None
    pad = otp.encode()
    if len(raw) != len(pad):
        raise InvalidRequestError(
            f"error xoring token: length of byte slices is not equivalent: {len(raw)} != {len(pad)}"
        )
    return bytes(a ^ b for a, b in zip(raw, pad, strict=True)).decode(errors="replace")


def holder_keys(texts: object, name: str, shares: int, threshold: int) -> list[PublicKey]:
    """The share holders' public keys (`name` is the request field), one per share, validated as Vault
    validates a seal configuration with PGP keys: the counts first, then each key."""
    if texts is None or texts == []:
        return []
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise InvalidRequestError(f"'{name}' must be a list of base64-encoded PGP public keys")
    SealConfig(type="shamir", secret_shares=shares, secret_threshold=threshold).validate()
    if len(texts) != shares:
        raise InvalidRequestError(
            "invalid seal configuration: "
            "count mismatch between number of provided PGP keys and number of shares"
        )
    try:
        return [parse_public_key(text) for text in texts]
    except PGPKeyError as exc:
        raise InvalidRequestError(f"invalid seal configuration: {exc}") from None


def holder_key(text: object, name: str) -> PublicKey | None:
    """One public key (a root token's), or None when `text` is empty."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise InvalidRequestError(f"'{name}' must be a base64-encoded PGP public key")
    try:
        return parse_public_key(text)
    except PGPKeyError as exc:
        raise InvalidRequestError(str(exc)) from None


def encrypt_shares(keys: list[PublicKey], shares: tuple[bytes, ...] | list[bytes]) -> list[bytes]:
    """Each share, hex-encoded as Vault encodes it before encryption, encrypted to its holder's key."""
    return [key.encrypt(share.hex().encode()) for key, share in zip(keys, shares, strict=True)]


@dataclass(frozen=True, slots=True)
class _RekeyPlan:
    """What a rekey was started with."""

    shares: int
    threshold: int
    holders: tuple[PublicKey, ...] = ()
    backup: bool = False
    verification: bool = False


class Rekey:
    """New unseal key shares (and threshold), authorized by a quorum of the current ones.

    With holders' PGP keys the new shares leave encrypted to them (and, with `backup`, are kept for
    sys/rekey/backup); with verification they come into force only once a quorum of them is given back.
    """

    def __init__(self, seal: SealManager) -> None:
        self._seal = seal
        self._attempt: _Attempt | None = None
        self._plan = _RekeyPlan(0, 0)
        self._pending: PendingRekey | None = None
        self._backup: bytes | None = None
        self._verify: _Attempt | None = None
        self._verified_nonce = ""  # the rekey's nonce, still shown while its new shares await verification

    def status(self) -> dict[str, Any]:
        """Vault's rekey status body."""
        attempt, plan = self._attempt or self._verify, self._plan
        return {
            "nonce": self._attempt.nonce if self._attempt else self._verified_nonce if self._verify else "",
            "started": attempt is not None,
            "t": plan.threshold if attempt else 0,
            "n": plan.shares if attempt else 0,
            "progress": len(self._attempt.parts) if self._attempt else 0,
            "required": self._attempt.required if self._attempt else 0,
            "pgp_fingerprints": [h.fingerprint for h in plan.holders] if attempt and plan.holders else None,
            "backup": plan.backup if attempt else False,
            "verification_required": plan.verification if attempt else False,
        } | ({"verification_nonce": self._verify.nonce} if self._verify else {})

    def verification_status(self) -> dict[str, Any]:
        """Vault's sys/rekey/verify status body."""
        verify, plan = self._verify, self._plan
        return {
            "nonce": verify.nonce if verify else "",
            "started": verify is not None,
            "t": plan.threshold if verify else 0,
            "n": plan.shares if verify else 0,
            "progress": len(verify.parts) if verify else 0,
        }

    @property
    def in_progress(self) -> bool:
        """True while a rekey gathers shares or awaits verification."""
        return self._attempt is not None or self._verify is not None

    async def rotation_status(self) -> dict[str, Any]:
        """OpenBao's sys/rotate/root/init body: the seal's threshold as `required`, the attempt when one is
        in progress."""
        body: dict[str, Any] = {
            "started": False, "t": 0, "n": 0, "required": await self._seal.threshold(),
        }  # fmt: skip
        if self.in_progress:
            status = self.status() | {"verification_nonce": self._verify.nonce if self._verify else ""}
            body |= {name: status[name] for name in _ROTATION_FIELDS}
        return body

    async def start(
        self,
        secret_shares: int,
        secret_threshold: int,
        *,
        pgp_keys: object = None,
        backup: bool = False,
        require_verification: bool = False,
    ) -> dict[str, Any]:
        """Begin a rekey to `secret_shares` shares with `secret_threshold` needed."""
        if self.in_progress:
            raise InvalidRequestError("rekey already in progress")
        if backup and not pgp_keys:
            raise InvalidRequestError(
                "cannot request a backup of the new keys without providing PGP keys for encryption"
            )
        if isinstance(pgp_keys, list) and pgp_keys and len(pgp_keys) != secret_shares:
            raise InvalidRequestError("incorrect number of PGP keys for rekey")
        SealConfig(type="shamir", secret_shares=secret_shares, secret_threshold=secret_threshold).validate()
        holders = holder_keys(pgp_keys, "pgp_keys", secret_shares, secret_threshold)
        self._plan = _RekeyPlan(secret_shares, secret_threshold, tuple(holders), backup, require_verification)
        self._attempt = _Attempt(nonce=new_uuid(), required=await self._seal.threshold())
        return self.status()

    async def update(self, share: bytes, nonce: str) -> dict[str, Any]:
        """Add one current share; with the last one, return the new shares (in force unless they await
        verification)."""
        attempt, plan = self._attempt, self._plan
        if attempt is None:
            if self._verify is not None:
                raise InvalidRequestError(
                    "rekey operation already finished; verification must be performed; "
                    f"nonce for the verification operation is {self._verify.nonce!r}"
                )
            raise InvalidRequestError("no rekey in progress")
        if not attempt.add(share, nonce):
            return self.status()
        shares, pending = await self._seal.prepare_rekey(attempt.parts, plan.shares, plan.threshold)
        self._attempt, self._verified_nonce = None, attempt.nonce
        fingerprints = [h.fingerprint for h in plan.holders] or None
        handed = encrypt_shares(list(plan.holders), shares) if plan.holders else shares
        answer: dict[str, Any] = {
            "complete": True,
            "nonce": attempt.nonce,
            "keys": [s.hex() for s in handed],
            "keys_base64": [base64.b64encode(s).decode() for s in handed],
            "pgp_fingerprints": fingerprints,
            "backup": plan.backup,
            "verification_required": plan.verification,
        }
        backup = _backup_record(attempt.nonce, fingerprints or [], handed) if plan.backup else None
        if plan.verification:
            self._pending, self._backup = pending, backup
            self._verify = _Attempt(nonce=new_uuid(), required=plan.threshold)
            return answer | {"verification_nonce": self._verify.nonce}
        await self._seal.commit_rekey(pending, backup)
        return answer

    async def verify(self, share: bytes, nonce: str) -> dict[str, Any]:
        """Add one of the new shares; with a quorum of them, put them in force."""
        verify, pending = self._verify, self._pending
        if verify is None or pending is None:
            raise InvalidRequestError("no rekey verification in progress")
        if not verify.add(share, nonce):
            return self.verification_status()
        if not self._seal.shares_match(pending, verify.parts):
            verify.parts.clear()
            raise InvalidRequestError("rekey verification failed: the shares do not combine to the new key")
        await self._seal.commit_rekey(pending, self._backup)
        self.cancel()
        return {"nonce": verify.nonce, "complete": True}

    def cancel_verification(self) -> dict[str, Any]:
        """Start the verification over with a new nonce (Vault's DELETE sys/rekey/verify)."""
        if self._verify is None:
            raise InvalidRequestError("no rekey verification in progress")
        self._verify = _Attempt(nonce=new_uuid(), required=self._plan.threshold)
        return self.verification_status()

    async def backup(self) -> dict[str, Any] | None:
        """The kept PGP-encrypted shares (Vault's sys/rekey/backup body), or None."""
        raw = await self._seal.rekey_backup()
        if raw is None:
            return None
        record = orjson.loads(raw)
        keys: dict[str, list[str]] = record.get("keys") or {}
        return {
            "nonce": record.get("nonce", ""),
            "keys": keys,
            "keys_base64": {
                fp: [base64.b64encode(bytes.fromhex(k)).decode() for k in ks] for fp, ks in keys.items()
            },
        }

    async def delete_backup(self) -> None:
        await self._seal.delete_rekey_backup()

    def cancel(self) -> None:
        """Abandon the rekey in progress, verification included."""
        self._attempt, self._verify, self._pending, self._backup = None, None, None, None


_ROTATION_FIELDS = ("nonce", "started", "t", "n", "progress", "verification_required", "verification_nonce")


def _backup_record(nonce: str, fingerprints: list[str], shares: list[bytes]) -> bytes:
    """Vault's backup record: the hex-encoded encrypted shares by their holder's fingerprint."""
    keys: dict[str, list[str]] = {}
    for fingerprint, share in zip(fingerprints, shares, strict=True):
        keys.setdefault(fingerprint, []).append(share.hex())
    return orjson.dumps({"nonce": nonce, "keys": keys})


class GenerateRoot:
    """A new root token, authorized by a quorum of unseal key holders and encoded with a one-time pad."""

    def __init__(self, seal: SealManager, create_root_token: Callable[[], Awaitable[str]]) -> None:
        self._seal = seal
        self._create_root_token = create_root_token
        self._attempt: _Attempt | None = None
        self._otp = ""
        self._holder: PublicKey | None = None

    async def status(self, *, otp: str = "", encoded: str = "") -> dict[str, Any]:
        """Vault's generate-root status body; `required` is the seal's threshold even when idle."""
        attempt = self._attempt
        return {
            "started": attempt is not None or bool(encoded),
            "nonce": attempt.nonce if attempt else "",
            "progress": len(attempt.parts) if attempt else 0,
            "required": attempt.required if attempt else await self._seal.threshold(),
            "encoded_token": encoded,
            "encoded_root_token": encoded,
            "pgp_fingerprint": self._holder.fingerprint if self._holder else "",
            "otp": otp,
            "otp_length": TOKEN_LENGTH,
            "complete": bool(encoded),
        }

    async def start(self, otp: str, pgp_key: str = "") -> dict[str, Any]:
        """Begin. The token will leave XORed with `otp`, or else encrypted to `pgp_key` (base64 of a public
        key); with neither an OTP is generated and returned (only in this answer)."""
        if self._attempt is not None:
            raise InvalidRequestError("root generation already in progress")
        generated, holder = "", None
        if otp and len(otp) != TOKEN_LENGTH:
            raise InvalidRequestError(f"OTP string is wrong length: expected {TOKEN_LENGTH} characters")
        if not otp and pgp_key:
            try:
                holder = parse_public_key(pgp_key)
            except PGPKeyError as exc:
                raise InvalidRequestError(f"error parsing PGP key: {exc}") from None
        elif not otp:
            otp = generated = base62(TOKEN_LENGTH)
        self._otp, self._holder = otp, holder
        self._attempt = _Attempt(nonce=new_uuid(), required=await self._seal.threshold())
        return await self.status(otp=generated)

    async def update(self, share: bytes, nonce: str) -> dict[str, Any]:
        """Add one share; with the last one, create the root token and return it encoded with the OTP."""
        attempt = self._attempt
        if attempt is None:
            raise InvalidRequestError("no root generation in progress")
        if not attempt.add(share, nonce):
            return await self.status()
        self._attempt = None
        await self._seal.verify_shares(attempt.parts)
        token = await self._create_root_token()
        if self._holder is not None:
            # Padded base64 of the OpenPGP message, as Vault encodes it (the OTP form is unpadded).
            encoded = base64.b64encode(self._holder.encrypt(token.encode())).decode()
        else:
            xored = bytes(a ^ b for a, b in zip(token.encode(), self._otp.encode(), strict=True))
            encoded = base64.b64encode(xored).decode().rstrip("=")
        answer = await self.status(encoded=encoded)
        self._otp, self._holder = "", None
        answer |= {"nonce": attempt.nonce, "progress": len(attempt.parts), "required": attempt.required}
        return answer

    def cancel(self) -> None:
        """Abandon the root generation in progress."""
        self._attempt = None
        self._otp, self._holder = "", None
