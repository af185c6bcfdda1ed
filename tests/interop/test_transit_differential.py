"""Differential test of transit: one script of requests to strongroom and to OpenBao, answers compared.

Runs on the session servers, on a fresh mount of its own on each. Ciphertexts, signatures, HMACs, public
keys, random bytes and key creation times differ by nature: they are masked to their shape ("vault:v2:"
prefix kept) before the comparison. Every difference kept on purpose is in INTENDED with its reason.
"""

from __future__ import annotations

import re
from typing import Any

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

M = "difftransit"
HELLO = "aGVsbG8="
CT, SIG = "data.ciphertext", "data.signature"
JWS = {"marshaling_algorithm": "jws"}
PKCS1 = {"signature_algorithm": "pkcs1v15"}
BAD_CT = "vault:v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{M}/{path}", body={} if body is None else body, **kw)


def get(name: str, path: str) -> Step:
    return Step(name, "GET", f"/v1/{M}/{path}")


STEPS: list[Step] = [
    Step("enable", "POST", f"/v1/sys/mounts/{M}", body={"type": "transit"}),
    Step("list empty", "LIST", f"/v1/{M}/keys"),
    post("create aes", "keys/aes"),
    get("read aes", "keys/aes"),
    get("read missing", "keys/nope"),
    post("create ed", "keys/ed", {"type": "ed25519", "exportable": True}),
    post("create ec", "keys/ec", {"type": "ecdsa-p256"}),
    post("create rsa", "keys/rsa", {"type": "rsa-2048"}),
    post("create derived", "keys/der", {"type": "aes256-gcm96", "derived": True}),
    post("create chacha", "keys/cc", {"type": "chacha20-poly1305"}),
    post("bad type", "keys/bad", {"type": "foo"}),
    post("convergent without derived", "keys/bad", {"convergent_encryption": True}),
    post("short rotate period", "keys/bad", {"auto_rotate_period": "30m"}),
    post("key_size on aes", "keys/bad", {"key_size": 16}),
    post("bad bool", "keys/bad", {"exportable": "nope"}),
    post("create existing returns it", "keys/aes", {"type": "ed25519"}),
    Step("list keys", "LIST", f"/v1/{M}/keys"),
    post("encrypt", "encrypt/aes", {"plaintext": HELLO}, save={"ct1": "data.ciphertext"}),
    post("decrypt", "decrypt/aes", {"ciphertext": "${ct1}"}),
    post("encrypt too new version", "encrypt/aes", {"plaintext": HELLO, "key_version": 2}),
    post("encrypt bad base64", "encrypt/aes", {"plaintext": "not base64!"}),
    post("encrypt missing plaintext", "encrypt/aes", {}),
    post("encrypt upsert", "encrypt/upserted", {"plaintext": HELLO}),
    get("read upserted", "keys/upserted"),
    post("encrypt upsert bad type", "encrypt/up2", {"plaintext": HELLO, "type": "ed25519"}),
    post("encrypt with ed25519", "encrypt/ed", {"plaintext": HELLO}),
    post("encrypt derived without context", "encrypt/der", {"plaintext": HELLO}),
    post("encrypt derived", "encrypt/der", {"plaintext": HELLO, "context": "Y3R4"}, save={"dct": CT}),
    post("decrypt derived", "decrypt/der", {"ciphertext": "${dct}", "context": "Y3R4"}),
    post("encrypt chacha", "encrypt/cc", {"plaintext": HELLO}, save={"cct": "data.ciphertext"}),
    post("decrypt chacha", "decrypt/cc", {"ciphertext": "${cct}"}),
    post("encrypt rsa", "encrypt/rsa", {"plaintext": HELLO}, save={"rct": "data.ciphertext"}),
    post("decrypt rsa", "decrypt/rsa", {"ciphertext": "${rct}"}),
    post("encrypt batch", "encrypt/aes", {"batch_input": [{"plaintext": HELLO}, {"plaintext": "!!"}]}),
    post("decrypt batch", "decrypt/aes", {"batch_input": [{"ciphertext": "${ct1}", "reference": "r"}]}),
    post("decrypt batch error", "decrypt/aes", {"batch_input": [{"ciphertext": "garbage"}]}),
    post("decrypt short", "decrypt/aes", {"ciphertext": "vault:v1:AAAA"}),
    post("decrypt no prefix", "decrypt/aes", {"ciphertext": "garbage"}),
    post("decrypt too new", "decrypt/aes", {"ciphertext": BAD_CT.replace("v1", "v9")}),
    post("decrypt tampered", "decrypt/aes", {"ciphertext": BAD_CT}),
    post("decrypt bad version", "decrypt/aes", {"ciphertext": "vault:vx:AAAA"}),
    post("decrypt bad base64", "decrypt/aes", {"ciphertext": "vault:v1:!!!"}),
    post("decrypt missing", "decrypt/aes", {}),
    post("decrypt unknown key", "decrypt/nope", {"ciphertext": "vault:v1:AAAA"}),
    post("rotate", "keys/aes/rotate"),
    post("rotate missing", "keys/nope/rotate"),
    post("rewrap", "rewrap/aes", {"ciphertext": "${ct1}"}, save={"ct2": "data.ciphertext"}),
    post("decrypt rewrapped", "decrypt/aes", {"ciphertext": "${ct2}"}),
    post("config min decryption", "keys/aes/config", {"min_decryption_version": 2}),
    post("decrypt too old", "decrypt/aes", {"ciphertext": "${ct1}"}),
    post("config too high", "keys/aes/config", {"min_decryption_version": 5}),
    post("config enc too high", "keys/aes/config", {"min_encryption_version": 5}),
    post("config enc below dec", "keys/aes/config", {"min_encryption_version": 1}),
    post("config rotate period", "keys/aes/config", {"auto_rotate_period": "10m"}),
    post("config missing key", "keys/nope/config", {"deletion_allowed": True}),
    post("config exportable", "keys/aes/config", {"exportable": True, "deletion_allowed": True}),
    post("config exportable stays", "keys/aes/config", {"exportable": False}),
    post("trim missing param", "keys/aes/trim"),
    post("trim without min encryption", "keys/aes/trim", {"min_available_version": 1}),
    post("config min encryption", "keys/aes/config", {"min_encryption_version": 2}),
    post("trim too far", "keys/aes/trim", {"min_available_version": 3}),
    post("trim", "keys/aes/trim", {"min_available_version": 2}),
    post("trim decrement", "keys/aes/trim", {"min_available_version": 1}),
    post("trim missing key", "keys/nope/trim", {"min_available_version": 1}),
    post("datakey plaintext", "datakey/plaintext/aes"),
    post("datakey wrapped", "datakey/wrapped/aes", {"bits": 128}),
    post("datakey bad bits", "datakey/wrapped/aes", {"bits": 100}),
    post("datakey bad kind", "datakey/foo/aes"),
    post("datakey unknown key", "datakey/plaintext/nope"),
    post("datakey ed25519", "datakey/plaintext/ed"),
    post("hmac", "hmac/aes", {"input": HELLO}, save={"mac": "data.hmac"}),
    post("hmac sha2-512", "hmac/aes/sha2-512", {"input": HELLO}),
    post("hmac missing input", "hmac/aes", {}),
    post("hmac unknown key", "hmac/nope", {"input": HELLO}),
    post("hmac too new", "hmac/aes", {"input": HELLO, "key_version": 7}),
    post("hmac batch", "hmac/aes", {"batch_input": [{"input": HELLO}, {"input": "!"}]}),
    post("verify hmac", "verify/aes", {"input": HELLO, "hmac": "${mac}"}),
    post("verify hmac other algorithm", "verify/aes/sha2-512", {"input": HELLO, "hmac": "${mac}"}),
    post("verify hmac too old", "verify/aes", {"input": HELLO, "hmac": "vault:v1:AAAA"}),
    post("verify hmac no prefix", "verify/aes", {"input": HELLO, "hmac": "garbage"}),
    post("verify nothing", "verify/aes", {"input": HELLO}),
    post("sign ed25519", "sign/ed", {"input": HELLO}, save={"sig": "data.signature"}),
    post("verify ed25519", "verify/ed", {"input": HELLO, "signature": "${sig}"}),
    post("verify ed25519 other input", "verify/ed", {"input": "aGk=", "signature": "${sig}"}),
    post("sign ecdsa", "sign/ec", {"input": HELLO}, save={"esig": "data.signature"}),
    post("verify ecdsa", "verify/ec", {"input": HELLO, "signature": "${esig}"}),
    post("verify ecdsa garbage", "verify/ec", {"input": HELLO, "signature": "vault:v1:AAAA"}),
    post("sign ecdsa jws", "sign/ec", {"input": HELLO, **JWS}, save={"jws": SIG}),
    post("verify ecdsa jws", "verify/ec", {"input": HELLO, "signature": "${jws}", **JWS}),
    post("sign rsa pss", "sign/rsa/sha2-512", {"input": HELLO}, save={"rsig": "data.signature"}),
    post("verify rsa pss", "verify/rsa/sha2-512", {"input": HELLO, "signature": "${rsig}"}),
    post("sign rsa pkcs1", "sign/rsa", {"input": HELLO, **PKCS1}, save={"psig": SIG}),
    post("verify rsa pkcs1", "verify/rsa", {"input": HELLO, "signature": "${psig}", **PKCS1}),
    post("verify rsa wrong scheme", "verify/rsa", {"input": HELLO, "signature": "${psig}"}),
    post("sign with aes", "sign/aes", {"input": HELLO}),
    post("sign unknown key", "sign/nope", {"input": HELLO}),
    post("verify signature too new", "verify/ec", {"input": HELLO, "signature": "vault:v7:AAAA"}),
    post("sign batch", "sign/ed", {"batch_input": [{"input": HELLO}, {"input": "!"}]}),
    post("random", "random"),
    post("random 8 hex", "random/8", {"format": "hex"}),
    post("random bad segment", "random/hex"),
    post("random zero", "random/0"),
    post("random too many", "random/200000"),
    post("random bad format", "random", {"format": "foo"}),
    get("random read", "random"),
    post("hash", "hash", {"input": HELLO}),
    post("hash sha3", "hash/sha3-256", {"input": HELLO, "format": "base64"}),
    post("hash bad algorithm", "hash/md5", {"input": HELLO}),
    post("hash missing", "hash"),
    post("hash bad format", "hash", {"input": HELLO, "format": "foo"}),
    post("hash bad input", "hash", {"input": "!!"}),
    get("export aes", "export/encryption-key/aes"),
    get("export aes hmac latest", "export/hmac-key/aes/latest"),
    get("export not exportable", "export/encryption-key/ec"),
    get("export public ec", "export/public-key/ec"),
    get("export ed signing", "export/signing-key/ed/1"),
    get("export ed encryption", "export/encryption-key/ed"),
    get("export aes signing", "export/signing-key/aes"),
    get("export bad type", "export/foo/aes"),
    get("export missing key", "export/signing-key/nope"),
    get("export bad version", "export/hmac-key/aes/abc"),
    get("export absent version", "export/hmac-key/aes/9"),
    Step("delete not allowed", "DELETE", f"/v1/{M}/keys/ed"),
    Step("delete missing", "DELETE", f"/v1/{M}/keys/nope"),
    Step("delete", "DELETE", f"/v1/{M}/keys/aes"),
    get("read deleted", "keys/aes"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
]  # fmt: skip

_ENVELOPE = re.compile(r"^(vault:v\d+:).+$", re.S)
_OPAQUE = frozenset({"public_key", "random_bytes"})


def _mask(value: Any, key: str = "", opaque_plaintext: bool = False) -> Any:
    if isinstance(value, dict):
        if key == "keys" and all(isinstance(v, int) for v in value.values()):
            return dict.fromkeys(value, "<time>")
        return {k: _mask(v, k, opaque_plaintext) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key, opaque_plaintext) for v in value]
    if isinstance(value, str) and value:
        found = _ENVELOPE.match(value)
        if found and key in ("ciphertext", "signature", "hmac"):
            return found.group(1) + "<opaque>"
        if key in _OPAQUE or (key == "plaintext" and opaque_plaintext):
            return f"<{key}>"
    return value


def _masked(steps: list[Step], answers: list[Answer]) -> list[Answer]:
    result = []
    for step, answer in zip(steps, answers, strict=True):
        body = answer.body
        if step.name.startswith("export") and isinstance(body, dict) and isinstance(body.get("data"), dict):
            body = {**body, "data": {**body["data"], "keys": sorted(body["data"].get("keys", {}))}}
        result.append(Answer(answer.status, _mask(body, opaque_plaintext=step.name.startswith("datakey"))))
    return result


INTENDED: list[Intended] = []


def test_transit_matches_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(STEPS, run(server, STEPS))
    theirs = _masked(STEPS, run(bao, STEPS))
    assert_alike(STEPS, ours, theirs, INTENDED)
