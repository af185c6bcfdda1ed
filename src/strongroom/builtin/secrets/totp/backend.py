"""The "totp" secrets engine: keys/<name> (generate or import, read, delete), keys/ (LIST) and
code/<name> (GET makes the current code, POST validates one), Vault-compatible.

Layer: builtin. Imports framework, logical, errors, util and the engine's otp and qr modules.
Storage (inside the mount's view, so the barrier encrypts it): key/<name> holds a TotpKey as JSON.
Invariant: a key's secret leaves only in the otpauth URL (and barcode) of the answer that generated it.
Invariant: a code is accepted at most once: every validation attempt, right or wrong, marks the code
used for (2 + skew) periods, as Vault does, so it cannot be replayed within its window.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson

from strongroom.builtin.secrets.totp import otp
from strongroom.builtin.secrets.totp.otp import TotpError, TotpKey
from strongroom.errors import InvalidRequestError, NotFoundError
from strongroom.framework import Field, FieldData, FieldType, FrameworkBackend, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Backend, BackendConfig, Operation, Request, Response, Storage
from strongroom.util.clock import Clock
from strongroom.util.durations import format_duration

HELP = """
The TOTP backend dynamically generates time-based one-time use passwords.
"""

KEY_PREFIX = "key/"
# Vault's GenericNameWithAtRegex: a key name outside it is an unsupported path.
NAME = re.compile(r"\w(([\w.@-]+)?\w)?")

KEY_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the key."),
    "generate": Field(FieldType.BOOL, "Whether the key is generated here or passed in (key or url).", False),
    "exported": Field(FieldType.BOOL, "Whether a generated key's url and QR code are returned.", True),
    "key_size": Field(FieldType.INT, "The size in bytes of a generated key.", 20),
    "key": Field(FieldType.STRING, "The shared base32 key of an imported key."),
    "issuer": Field(FieldType.STRING, "The name of the key's issuing organization."),
    "account_name": Field(FieldType.STRING, "The name of the account associated with the key."),
    "period": Field(FieldType.DURATION, "The length of one code's validity period.", 30),
    "algorithm": Field(FieldType.STRING, "The hash algorithm: SHA1, SHA256 or SHA512.", "SHA1"),
    "digits": Field(FieldType.INT, "The number of digits of a code: 6 or 8.", 6),
    "skew": Field(FieldType.INT, "The number of periods of delay allowed when validating: 0 or 1.", 1),
    "qr_size": Field(FieldType.INT, "The pixel size of the square QR code; 0 returns none.", 200),
    "url": Field(FieldType.STRING, "An otpauth:// URL holding every parameter of an imported key."),
}
CODE_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the key."),
    "code": Field(FieldType.STRING, "TOTP code to be validated."),
}
LIST_FIELDS = {
    "after": Field(FieldType.STRING, "List the entries after this one (it need not exist)."),
    "limit": Field(FieldType.INT, "The number of entries to return; all when 0 or less."),
}


class UsedCodes:
    """The codes validated lately, per key, each until its window has passed (in memory, as Vault)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until: dict[tuple[str, str], float] = {}

    def used(self, name: str, code: str) -> bool:
        now = self._clock.now()
        self._until = {entry: until for entry, until in self._until.items() if until > now}
        return (name, code) in self._until

    def mark(self, name: str, code: str, seconds: int) -> None:
        self._until[(name, code)] = self._clock.now() + seconds


def _name(data: FieldData) -> str:
    name: str = data.get("name")
    if not NAME.fullmatch(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    return name


def _storage(request: Request) -> Storage:
    if request.storage is None:
        raise InvalidRequestError("no storage bound to the request")
    return request.storage


async def _load(storage: Storage, name: str) -> TotpKey | None:
    raw = await storage.get(KEY_PREFIX + name)
    return None if raw is None else TotpKey.from_json(orjson.loads(raw))


def _key_from(data: FieldData) -> tuple[TotpKey, bool]:
    """The key a write describes (a generated one gets its fresh secret), and whether it was generated;
    Vault's checks in Vault's order."""
    generate: bool = data.get("generate")
    secret: str = data.get("key")
    url: str = data.get("url")
    if generate and secret:
        raise TotpError("a key should not be passed if generate is true")
    if generate and url:
        raise TotpError("a url should not be passed if generate is true")
    values: dict[str, Any] = {
        name: data.get(name) for name in ("issuer", "account_name", "period", "algorithm", "digits")
    }
    if url:
        parsed = otp.parse_url(url)
        secret = parsed.secret
        values["account_name"] = parsed.account_name
        for name in ("issuer", "period", "digits", "algorithm"):
            if getattr(parsed, name) is not None:
                values[name] = getattr(parsed, name)
    if values["digits"] not in (6, 8):
        raise TotpError("the digits value can only be 6 or 8")
    if values["algorithm"] not in otp.ALGORITHMS:
        raise TotpError("the algorithm value is not valid")
    if values["period"] <= 0:
        raise TotpError("the period value must be greater than zero")
    skew: int = data.get("skew")
    if skew not in (0, 1):
        raise TotpError("the skew value must be 0 or 1")
    if data.get("qr_size") < 0:
        raise TotpError("the qr_size value must be greater than or equal to zero")
    key_size: int = data.get("key_size")
    if key_size <= 0:
        raise TotpError("the key_size value must be greater than zero")
    if generate:
        if not values["account_name"]:
            raise TotpError("the account_name value is required for generated keys")
        if not values["issuer"]:
            raise TotpError("the issuer value is required for generated keys")
        return TotpKey(key=otp.new_secret(key_size), skew=skew, **values), True
    if not secret:
        raise TotpError("the key value is required")
    secret = otp.padded(secret)
    otp.secret_bytes(secret)
    return TotpKey(key=secret, skew=skew, **values), False


def paths(clock: Clock) -> list[Path]:
    """The key and code paths."""
    used = UsedCodes(clock)

    async def write_key(request: Request, data: FieldData) -> Response | None:
        name = _name(data)
        try:
            key, generated = _key_from(data)
            answer: dict[str, Any] = {}
            if generated and data.get("exported"):
                answer["url"] = otp.otpauth_url(key)
                if data.get("qr_size"):
                    # Imported here: segno loads only on a server that draws a barcode.
                    from strongroom.builtin.secrets.totp.qr import qr_png

                    png = qr_png(answer["url"], data.get("qr_size"))
                    answer["barcode"] = base64.b64encode(png).decode()
        except TotpError as exc:
            raise InvalidRequestError(str(exc)) from None
        await _storage(request).put(KEY_PREFIX + name, orjson.dumps(key.to_json()))
        return Response(data=answer) if answer else None

    async def read_key(request: Request, data: FieldData) -> Response | None:
        key = await _load(_storage(request), _name(data))
        if key is None:
            return None
        return Response(
            data={
                "issuer": key.issuer,
                "account_name": key.account_name,
                "period": key.period,
                "algorithm": key.algorithm,
                "digits": key.digits,
            }
        )

    async def delete_key(request: Request, data: FieldData) -> Response | None:
        await _storage(request).delete(KEY_PREFIX + _name(data))
        return None

    async def list_keys(request: Request, data: FieldData) -> Response | None:
        keys = sorted(await _storage(request).list(KEY_PREFIX))
        after: str = data.get("after")
        if after:
            keys = [key for key in keys if key > after]
        limit: int = data.get("limit")
        if limit > 0:
            keys = keys[:limit]
        return Response(data={"keys": keys} if keys else {})

    async def known_key(request: Request, name: str) -> TotpKey:
        key = await _load(_storage(request), name)
        if key is None:
            raise InvalidRequestError(f"unknown key: {name}")
        return key

    async def generate_code(request: Request, data: FieldData) -> Response | None:
        name = _name(data)
        key = await known_key(request, name)
        now = int(clock.now())
        try:
            code = otp.code_at(key, now)
        except TotpError as exc:
            raise InvalidRequestError(str(exc)) from None
        return Response(
            data={
                "code": code,
                "generated": now,
                "expire_time": now // key.period * key.period + key.period,
                "period": format_duration(key.period),
            }
        )

    async def validate_code(request: Request, data: FieldData) -> Response | None:
        name = _name(data)
        key = await known_key(request, name)
        code: str = data.get("code")
        if not code:
            raise InvalidRequestError("the code value is required")
        if code.strip() != code or len(code) != key.digits:
            raise InvalidRequestError("invalid number of digits for the code")
        # No await from this check to the mark below: a racing request for the same code sees the mark.
        if used.used(name, code):
            raise InvalidRequestError("code already used; wait until the next time period")
        try:
            valid = otp.is_valid(key, code, clock.now())
        except TotpError as exc:
            raise InvalidRequestError(str(exc)) from None
        used.mark(name, code, key.period * (2 + key.skew))
        return Response(data={"valid": valid})

    return [
        Path(
            "keys/?",
            fields=LIST_FIELDS,
            operations={Operation.LIST: list_keys},
            synopsis="Manage the keys that can be created with this backend.",
        ),
        Path(
            "keys/{name}",
            fields=KEY_FIELDS,
            operations={
                Operation.READ: read_key,
                Operation.CREATE: write_key,
                Operation.UPDATE: write_key,
                Operation.DELETE: delete_key,
            },
            synopsis="Manage the keys that can be created with this backend.",
            description="Generate a key (with its otpauth URL and QR code) or import one by key or URL.",
        ),
        Path(
            "code/{name}",
            fields=CODE_FIELDS,
            operations={Operation.READ: generate_code, Operation.UPDATE: validate_code},
            synopsis="Request a time-based one-time password or validate one for a key.",
            description="GET generates the current code of a key; POST validates a code (once).",
        ),
    ]


async def totp_factory(config: BackendConfig) -> Backend:
    """A totp engine over the mount's storage."""
    return FrameworkBackend(paths(config.clock), help=HELP)
