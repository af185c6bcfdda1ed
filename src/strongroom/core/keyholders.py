"""Operations that need a quorum of unseal key holders: rekey (new unseal shares) and generate-root.

Layer: core. Each operation collects shares under a nonce; once enough are in and they open the root key,
it acts once and forgets the shares.
Invariant: shares, the combined key, the OTP and the new root token never reach a log or an error message;
the root token leaves only XORed with the OTP the caller chose or was given.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.seal import SealConfig, SealManager
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


class Rekey:
    """New unseal key shares (and threshold), authorized by a quorum of the current ones."""

    def __init__(self, seal: SealManager) -> None:
        self._seal = seal
        self._attempt: _Attempt | None = None
        self._shares = 0
        self._threshold = 0

    def status(self) -> dict[str, Any]:
        """Vault's rekey status body."""
        attempt = self._attempt
        return {
            "nonce": attempt.nonce if attempt else "",
            "started": attempt is not None,
            "t": self._threshold if attempt else 0,
            "n": self._shares if attempt else 0,
            "progress": len(attempt.parts) if attempt else 0,
            "required": attempt.required if attempt else 0,
            "pgp_fingerprints": None,
            "backup": False,
            "verification_required": False,
        }

    @property
    def in_progress(self) -> bool:
        """True while a rekey gathers shares."""
        return self._attempt is not None

    async def rotation_status(self) -> dict[str, Any]:
        """OpenBao's sys/rotate/root/init body: the seal's threshold as `required`, the attempt when one is
        in progress."""
        attempt = self._attempt
        body: dict[str, Any] = {
            "started": False, "t": 0, "n": 0, "required": await self._seal.threshold(),
        }  # fmt: skip
        if attempt is not None:
            body |= {
                "nonce": attempt.nonce, "started": True, "t": self._threshold, "n": self._shares,
                "progress": len(attempt.parts), "verification_required": False, "verification_nonce": "",
            }  # fmt: skip
        return body

    async def start(self, secret_shares: int, secret_threshold: int) -> dict[str, Any]:
        """Begin a rekey to `secret_shares` shares with `secret_threshold` needed."""
        if self._attempt is not None:
            raise InvalidRequestError("rekey already in progress")
        SealConfig(type="shamir", secret_shares=secret_shares, secret_threshold=secret_threshold).validate()
        self._shares, self._threshold = secret_shares, secret_threshold
        self._attempt = _Attempt(nonce=new_uuid(), required=await self._seal.threshold())
        return self.status()

    async def update(self, share: bytes, nonce: str) -> dict[str, Any]:
        """Add one current share; with the last one, return the new shares."""
        attempt = self._attempt
        if attempt is None:
            raise InvalidRequestError("no rekey in progress")
        if not attempt.add(share, nonce):
            return self.status()
        parts, self._attempt = attempt.parts, None
        shares = await self._seal.rekey(parts, self._shares, self._threshold)
        return {
            "complete": True,
            "nonce": attempt.nonce,
            "keys": [s.hex() for s in shares],
            "keys_base64": [base64.b64encode(s).decode() for s in shares],
            "pgp_fingerprints": None,
            "backup": False,
            "verification_required": False,
        }

    def cancel(self) -> None:
        """Abandon the rekey in progress."""
        self._attempt = None


class GenerateRoot:
    """A new root token, authorized by a quorum of unseal key holders and encoded with a one-time pad."""

    def __init__(self, seal: SealManager, create_root_token: Callable[[], Awaitable[str]]) -> None:
        self._seal = seal
        self._create_root_token = create_root_token
        self._attempt: _Attempt | None = None
        self._otp = ""

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
            "pgp_fingerprint": "",
            "otp": otp,
            "otp_length": TOKEN_LENGTH,
            "complete": bool(encoded),
        }

    async def start(self, otp: str) -> dict[str, Any]:
        """Begin; with no `otp` one is generated and returned (only in this answer)."""
        if self._attempt is not None:
            raise InvalidRequestError("root generation already in progress")
        generated = ""
        if not otp:
            otp = generated = base62(TOKEN_LENGTH)
        elif len(otp) != TOKEN_LENGTH:
            raise InvalidRequestError(f"OTP string is wrong length: expected {TOKEN_LENGTH} characters")
        self._otp = otp
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
        encoded = base64.b64encode(
            bytes(a ^ b for a, b in zip(token.encode(), self._otp.encode(), strict=True))
        )
        self._otp = ""
        answer = await self.status(encoded=encoded.decode().rstrip("="))
        answer |= {"nonce": attempt.nonce, "progress": len(attempt.parts), "required": attempt.required}
        return answer

    def cancel(self) -> None:
        """Abandon the root generation in progress."""
        self._attempt = None
        self._otp = ""
