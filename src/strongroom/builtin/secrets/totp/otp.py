"""Time-based one-time passwords (RFC 6238) and their otpauth:// URLs, as Vault's TOTP engine makes them.

Layer: builtin (pure functions; stdlib only). Secrets are base32 text, as Vault stores and shows them;
a code is HOTP (RFC 4226) over the counter floor(time / period).
Invariant: a secret appears in no error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

ALGORITHMS = {"SHA1": hashlib.sha1, "SHA256": hashlib.sha256, "SHA512": hashlib.sha512}
_BASE32 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567=")


class TotpError(ValueError):
    """A user error, carried to the client as Vault words it (a 400)."""


@dataclass(frozen=True, slots=True)
class TotpKey:
    """A stored key: its base32 secret and how codes are made from it."""

    key: str = field(repr=False)
    issuer: str = ""
    account_name: str = ""
    period: int = 30
    algorithm: str = "SHA1"
    digits: int = 6
    skew: int = 1

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "issuer": self.issuer,
            "account_name": self.account_name,
            "period": self.period,
            "algorithm": self.algorithm,
            "digits": self.digits,
            "skew": self.skew,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> TotpKey:
        return cls(
            key=str(raw["key"]),
            issuer=str(raw["issuer"]),
            account_name=str(raw["account_name"]),
            period=int(raw["period"]),
            algorithm=str(raw["algorithm"]),
            digits=int(raw["digits"]),
            skew=int(raw["skew"]),
        )


def padded(key: str) -> str:
    """`key` padded with "=" to a multiple of 8 characters (how Vault stores an imported key)."""
    return key + "=" * (-len(key) % 8)


def secret_bytes(key: str) -> bytes:
    """The bytes of a base32 secret, padded and upper-cased first as pquerna/otp does; Go's error (with
    the offset of the first bad character) when it is not base32."""
    text = padded(key.strip()).upper()
    try:
        return base64.b32decode(text)
    except ValueError:
        offset = next((i for i, c in enumerate(text) if c not in _BASE32), text.find("="))
        raise TotpError(f"invalid key value: illegal base32 data at input byte {max(offset, 0)}") from None


def new_secret(size: int) -> str:
    """`size` random bytes as unpadded base32 (pquerna/otp's form of a generated secret)."""
    return base64.b32encode(secrets.token_bytes(size)).decode().rstrip("=")


def code_at(key: TotpKey, timestamp: float) -> str:
    """The code of `key` for the period holding `timestamp`."""
    return hotp(secret_bytes(key.key), int(timestamp) // key.period, key.digits, key.algorithm)


def hotp(secret: bytes, counter: int, digits: int, algorithm: str) -> str:
    """RFC 4226's HOTP value of `counter`, `digits` long."""
    digest = hmac.new(secret, struct.pack(">Q", counter), ALGORITHMS[algorithm]).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def is_valid(key: TotpKey, code: str, timestamp: float) -> bool:
    """Whether `code` is the code of the current period or of one within `key.skew` periods of it."""
    counter = int(timestamp) // key.period
    secret = secret_bytes(key.key)
    return any(
        hmac.compare_digest(hotp(secret, counter + step, key.digits, key.algorithm), code)
        for step in range(-key.skew, key.skew + 1)
        if counter + step >= 0
    )


def otpauth_url(key: TotpKey) -> str:
    """The otpauth:// URL authenticator apps read (pquerna/otp's layout: label "issuer:account", sorted
    query)."""
    label = quote(f"/{key.issuer}:{key.account_name}", safe="/:@&=+$,;")
    query = urlencode(
        {
            "algorithm": key.algorithm,
            "digits": str(key.digits),
            "issuer": key.issuer,
            "period": str(key.period),
            "secret": key.key,
        }
    )
    return f"otpauth://totp{label}?{query}"


@dataclass(frozen=True, slots=True)
class UrlParameters:
    """What an otpauth:// URL says; a field it leaves out is None (the request's value then applies)."""

    issuer: str | None
    account_name: str
    secret: str
    period: int | None
    digits: int | None
    algorithm: str | None


def parse_url(url: str) -> UrlParameters:
    """The parameters of an otpauth:// URL, read as Vault reads them (issuer from the query, else the
    label's prefix)."""
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    label = unquote(parts.path).removeprefix("/")
    prefix, colon, rest = label.partition(":")
    issuer = query.get("issuer") or (prefix if colon else None)
    return UrlParameters(
        issuer=issuer,
        account_name=rest if colon else label,
        secret=query.get("secret", ""),
        period=_url_int(query, "period"),
        digits=_url_int(query, "digits"),
        algorithm=query.get("algorithm") or None,
    )


def _url_int(query: dict[str, str], name: str) -> int | None:
    text = query.get(name, "")
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise TotpError(f"an error occurred while parsing {name} value in url") from None
