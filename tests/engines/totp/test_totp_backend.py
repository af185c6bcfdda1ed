"""The TOTP engine in the in-process harness on a manual clock: codes against pyotp (RFC 6238's reference
values too), skew, one use per code, and the otpauth URL and QR code of a generated key."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import pyotp
import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Response
from strongroom.util.clock import ManualClock

START = 1_700_000_010.0
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# RFC 6238 appendix B's test secrets (ASCII) and the 8-digit codes at T = 59 s.
RFC_SECRETS = {
    "SHA1": b"12345678901234567890",
    "SHA256": b"12345678901234567890123456789012",
    "SHA512": b"1234567890123456789012345678901234567890123456789012345678901234",
}
RFC_CODES_AT_59 = {"SHA1": "94287082", "SHA256": "46119246", "SHA512": "90693936"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def totp(clock: ManualClock) -> BackendHarness:
    return await BackendHarness.create(SECRETS_ENGINES["totp"], "totp", clock=clock)


async def data(call: Any) -> Mapping[str, Any]:
    response: Response | None = await call
    assert response is not None
    assert response.data is not None
    return response.data


async def refused(call: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await call
    assert caught.value.errors == (message,)


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256", "SHA512"])
async def test_codes_are_rfc_6238s(totp: BackendHarness, clock: ManualClock, algorithm: str) -> None:
    secret = base64.b32encode(RFC_SECRETS[algorithm]).decode()
    await totp.write("keys/rfc", {"key": secret, "algorithm": algorithm, "digits": 8})
    clock.advance(59 - clock.now())
    answer = await data(totp.read("code/rfc"))
    assert answer == {"code": RFC_CODES_AT_59[algorithm], "generated": 59, "expire_time": 60, "period": "30s"}


async def test_generated_key_agrees_with_pyotp(totp: BackendHarness, clock: ManualClock) -> None:
    made = await data(
        totp.write(
            "keys/gen",
            {"generate": True, "issuer": "ACME Co", "account_name": "jane@example.com", "algorithm": "SHA256",
             "digits": 8, "period": 60, "key_size": 32},
        )
    )  # fmt: skip
    parsed = pyotp.parse_uri(made["url"])
    assert isinstance(parsed, pyotp.TOTP)
    assert (parsed.issuer, parsed.name, parsed.digits, parsed.interval) == (
        "ACME Co",
        "jane@example.com",
        8,
        60,
    )
    assert len(base64.b32decode(parsed.secret + "=" * (-len(parsed.secret) % 8))) == 32
    assert (await data(totp.read("code/gen")))["code"] == parsed.at(clock.now())
    assert await data(totp.write("code/gen", {"code": parsed.at(clock.now())})) == {"valid": True}
    assert "secret" not in str(await data(totp.read("keys/gen")))


async def test_skew_accepts_one_period_either_side(totp: BackendHarness, clock: ManualClock) -> None:
    reference = pyotp.TOTP(SECRET)
    await totp.write("keys/skew1", {"key": SECRET})
    await totp.write("keys/skew0", {"key": SECRET, "skew": 0})
    now = clock.now()
    for offset, with_skew in ((-30, True), (30, True), (-60, False), (60, False)):
        code = reference.at(now + offset)
        assert await data(totp.write("code/skew1", {"code": code})) == {"valid": with_skew}
        assert await data(totp.write("code/skew0", {"code": code})) == {"valid": False}
    assert await data(totp.write("code/skew0", {"code": reference.at(now)})) == {"valid": True}


async def test_a_code_is_accepted_once_per_window(totp: BackendHarness, clock: ManualClock) -> None:
    await totp.write("keys/k", {"key": SECRET})
    await totp.write("keys/other", {"key": SECRET})
    code = pyotp.TOTP(SECRET).at(clock.now())
    assert await data(totp.write("code/k", {"code": code})) == {"valid": True}
    used = "code already used; wait until the next time period"
    await refused(totp.write("code/k", {"code": code}), used)
    # Another key's use of the same digits is its own.
    assert await data(totp.write("code/other", {"code": code})) == {"valid": True}
    # (2 + skew) periods later the code is forgotten (and no longer valid).
    clock.advance(89)
    await refused(totp.write("code/k", {"code": code}), used)
    clock.advance(2)
    assert await data(totp.write("code/k", {"code": code})) == {"valid": False}


async def test_barcode_is_a_png_of_the_requested_size(totp: BackendHarness) -> None:
    made = await data(
        totp.write("keys/qr", {"generate": True, "issuer": "I", "account_name": "a", "qr_size": 150})
    )
    png = base64.b64decode(made["barcode"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert struct.unpack(">II", png[16:24]) == (150, 150)
    idat = png[png.index(b"IDAT") + 4 : png.index(b"IEND") - 8]
    rows = zlib.decompress(idat)
    assert len(rows) == 150 * 151
    # A 41-module symbol (version 6) scaled by 3 and centred: white margin, then the dark corner of the
    # top-left finder pattern at (13, 13).
    assert rows[1] == 0xFF
    assert rows[13 * 151 + 1 + 13] == 0x00
    assert rows[13 * 151 + 1 + 12] == 0xFF
    await refused(
        totp.write("keys/tiny", {"generate": True, "issuer": "I", "account_name": "a", "qr_size": 10}),
        "failed to generate QR code image: can not scale barcode to an image smaller than 41x41",
    )


async def test_secrets_stay_out_of_reads_and_reprs(totp: BackendHarness) -> None:
    await totp.write("keys/k", {"key": SECRET, "issuer": "I"})
    assert SECRET not in str(await data(totp.read("keys/k")))
    assert list(totp.storage.data) == ["key/k"]


async def test_racing_validations_accept_a_code_once(totp: BackendHarness, clock: ManualClock) -> None:
    await totp.write("keys/k", {"key": SECRET})
    code = pyotp.TOTP(SECRET).at(clock.now())
    answers = await asyncio.gather(
        *(totp.write("code/k", {"code": code}) for _ in range(5)), return_exceptions=True
    )
    accepted = [a for a in answers if isinstance(a, Response) and a.data == {"valid": True}]
    refused_ = [a for a in answers if isinstance(a, InvalidRequestError)]
    assert (len(accepted), len(refused_)) == (1, 4)
