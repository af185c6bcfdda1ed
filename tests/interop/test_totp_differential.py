"""Differential test of the TOTP engine: one script of requests to strongroom and to OpenBao, compared.

Runs on the session servers, on a fresh mount of its own on each. Generated secrets, codes and times
differ by nature: a URL's secret and a code are masked to their shape, a barcode to its PNG size.
"""

from __future__ import annotations

import base64
import os
import re
import struct
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer, bao_binary

M = "difftotp"
SECRET = "JBSWY3DPEHPK3PXP"
URL = (
    "otpauth://totp/ACME%20Co:jane@example.com?secret="
    + SECRET
    + "&issuer=ACME+Co&algorithm=SHA256&digits=8&period=60"
)
GEN = {"generate": True, "issuer": "Vault", "account_name": "jane@example.com"}


def post(name: str, path: str, body: Any = None) -> Step:
    return Step(name, "POST", f"/v1/{M}/{path}", body={} if body is None else body)


def get(name: str, path: str) -> Step:
    return Step(name, "GET", f"/v1/{M}/{path}")


STEPS: list[Step] = [
    Step("enable", "POST", f"/v1/sys/mounts/{M}", body={"type": "totp"}),
    Step("list empty", "LIST", f"/v1/{M}/keys"),
    post("generate", "keys/gen", GEN),
    post("generate without barcode", "keys/gen0", {**GEN, "qr_size": 0}),
    post("generate not exported", "keys/gen1", {**GEN, "exported": False}),
    post("generate sha512 8 digits", "keys/gen2", {**GEN, "algorithm": "SHA512", "digits": 8, "period": "1m",
                                                   "key_size": 32, "qr_size": 100}),
    get("read generated", "keys/gen"),
    get("read sha512", "keys/gen2"),
    post("generate without account", "keys/bad", {"generate": True, "issuer": "Vault"}),
    post("generate without issuer", "keys/bad", {"generate": True, "account_name": "a"}),
    post("generate with key", "keys/bad", {**GEN, "key": SECRET}),
    post("generate with url", "keys/bad", {**GEN, "url": URL}),
    post("seven digits", "keys/bad", {**GEN, "digits": 7}),
    post("unknown algorithm", "keys/bad", {**GEN, "algorithm": "MD5"}),
    post("lower-case algorithm", "keys/bad", {**GEN, "algorithm": "sha1"}),
    post("zero period", "keys/bad", {**GEN, "period": 0}),
    post("skew two", "keys/bad", {**GEN, "skew": 2}),
    post("negative qr_size", "keys/bad", {**GEN, "qr_size": -1}),
    post("zero key_size", "keys/bad", {**GEN, "key_size": 0}),
    post("barcode too small", "keys/bad", {**GEN, "qr_size": 10}),
    post("bad digits type", "keys/bad", {**GEN, "digits": "six"}),
    post("import without key", "keys/bad", {}),
    post("import bad base32", "keys/bad", {"key": "ABC!DEFG"}),
    post("import bad base32 at 9", "keys/bad", {"key": "ABCDEFGH1"}),
    post("import by key", "keys/imp", {"key": SECRET, "issuer": "Me", "account_name": "me"}),
    post("import lower-case unpadded", "keys/imp2", {"key": "jbswy3dpehpk3pxpab"}),
    post("import by url", "keys/url", {"url": URL}),
    post("import url without issuer", "keys/url2", {"url": f"otpauth://totp/Org:bob?secret={SECRET}"}),
    post("import url plain label", "keys/url3", {"url": f"otpauth://totp/bob?secret={SECRET}&digits=8"}),
    post("import url bad period", "keys/bad", {"url": f"otpauth://totp/bob?secret={SECRET}&period=x"}),
    post("import url bad digits", "keys/bad", {"url": f"otpauth://totp/bob?secret={SECRET}&digits=x"}),
    post("import url seven digits", "keys/bad", {"url": f"otpauth://totp/bob?secret={SECRET}&digits=7"}),
    post("import url without secret", "keys/bad", {"url": "otpauth://totp/bob?digits=6"}),
    get("read imported", "keys/imp"),
    get("read imported lower-case", "keys/imp2"),
    get("read by url", "keys/url"),
    get("read url without issuer", "keys/url2"),
    get("read url plain label", "keys/url3"),
    get("read missing", "keys/nope"),
    Step("list keys", "LIST", f"/v1/{M}/keys"),
    Step("list keys after", "LIST", f"/v1/{M}/keys?after=imp&limit=2"),
    get("code", "code/imp"),
    get("code of url key", "code/url"),
    get("code missing key", "code/nope"),
    post("validate missing key", "code/nope", {"code": "123456"}),
    post("validate without code", "code/imp", {}),
    post("validate short code", "code/imp", {"code": "12345"}),
    post("validate spaced code", "code/imp", {"code": "12345 "}),
    post("validate wrong code", "code/imp", {"code": "000000"}),
    post("validate wrong code again", "code/imp", {"code": "000000"}),
    post("validate eight digits", "code/url", {"code": "00000000"}),
    Step("delete", "DELETE", f"/v1/{M}/keys/imp"),
    get("read deleted", "keys/imp"),
    Step("delete missing", "DELETE", f"/v1/{M}/keys/imp"),
    get("bad name", "keys/-bad-"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
]  # fmt: skip

_SECRET_PARAM = re.compile(r"secret=[A-Z2-7]+")


def _png_size(b64: str) -> str:
    raw = base64.b64decode(b64)
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", raw[16:24])
    return f"<png {width}x{height}>"


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, str) and key == "url":
        return _SECRET_PARAM.sub(lambda m: f"secret=<{len(m.group()) - 7} chars>", value)
    if isinstance(value, str) and key == "barcode":
        return _png_size(value)
    if key == "code" and isinstance(value, str):
        return f"<{len(value)} digits>" if value.isdigit() else value
    if key in ("generated", "expire_time") and isinstance(value, int):
        return f"<{key}>"
    return value


def _masked(answers: list[Answer]) -> list[Answer]:
    return [Answer(a.status, _mask(a.body)) for a in answers]


INTENDED: list[Intended] = [
    Intended(
        "barcode too small", "status", "OpenBao answers a QR code too big to fit with a 500; a 400 here"
    ),
    Intended("barcode too small", "errors[0]", "OpenBao: 'failed to generate QR code image: ...' as a 500"),
]


def test_totp_matches_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(run(server, STEPS))
    theirs = _masked(run(bao, STEPS))
    assert_alike(STEPS, ours, theirs, INTENDED)


@pytest.mark.parametrize("which", ["strongroom", "openbao"])
def test_codes_agree_with_pyotp(server: RunningServer, bao: RunningServer, which: str) -> None:
    """Both servers' codes are pyotp's, and each accepts pyotp's code once (so the script's masked codes
    are right on both sides, not merely alike)."""
    target = server if which == "strongroom" else bao
    secret = base64.b32encode(os.urandom(20)).decode()
    reference = pyotp.TOTP(secret, digits=8, digest="sha256", interval=60)
    with target.client() as client:
        assert client.post("/v1/sys/mounts/pyotp", json={"type": "totp"}).status_code == 204
        try:
            body = {"key": secret, "algorithm": "SHA256", "digits": 8, "period": 60}
            assert client.post("/v1/pyotp/keys/k", json=body).status_code == 204
            answer = client.get("/v1/pyotp/code/k").json()["data"]
            assert answer["code"] == reference.at(answer["generated"])
            assert answer["expire_time"] - answer["generated"] <= 60
            code = reference.now()
            assert client.post("/v1/pyotp/code/k", json={"code": code}).json()["data"] == {"valid": True}
            again = client.post("/v1/pyotp/code/k", json={"code": code})
            assert again.status_code == 400
        finally:
            client.delete("/v1/sys/mounts/pyotp")


def test_bao_cli_drives_totp(server: RunningServer, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}

    def bao_cli(*args: str) -> str:
        done = subprocess.run(
            [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    bao_cli("secrets", "enable", "-path=clitotp", "totp")
    try:
        out = bao_cli("write", "-field=url", "clitotp/keys/k", "generate=true", "issuer=I", "account_name=a")
        reference = pyotp.parse_uri(out.strip())
        before = time.time()
        code = bao_cli("read", "-field=code", "clitotp/code/k").strip()
        assert code in (reference.at(before), reference.now())
        assert bao_cli("write", "-field=valid", "clitotp/code/k", f"code={reference.now()}").strip() == "true"
    finally:
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": server.root_token}) as client:
            client.delete("/v1/sys/mounts/clitotp")
