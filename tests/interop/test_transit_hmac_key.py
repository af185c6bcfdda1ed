"""The transit `hmac` key type against OpenBao: the same requests to both, answers compared; an HMAC key
imported into both, or moved by backup, gives the same HMACs on both.

OpenBao answers some refusals (a missing key_size, derivation asked for) with a 500 and its multierror
wrapping; strongroom answers the same words with a 400 (the cause is the caller's).
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from tests.servers import RunningServer

HELLO = "aGVsbG8="
WRAPPED = "1 error occurred:\n\t* "
_COUNTER = itertools.count()
Pair = tuple[httpx.Client, httpx.Client, str]


@pytest.fixture
def pair(server: RunningServer, bao: RunningServer) -> Iterator[Pair]:
    """(strongroom client, OpenBao client, a fresh transit mount on both)."""
    mount = f"hmackey{next(_COUNTER)}"
    with server.client() as ours, bao.client() as theirs:
        for client in (ours, theirs):
            assert client.post(f"/v1/sys/mounts/{mount}", json={"type": "transit"}).status_code == 204
        yield ours, theirs, mount


def _shape(answer: httpx.Response) -> tuple[int, Any]:
    """Status and body with what differs by nature (ids, times, MACs) left out."""
    if not answer.content:
        return answer.status_code, None
    body = answer.json()
    if "errors" in body:
        if answer.status_code == 500 and body["errors"][0].startswith(WRAPPED):
            # OpenBao's 500 for a caller's mistake: strongroom answers the same words with a 400.
            return 400, [body["errors"][0].removeprefix(WRAPPED).strip()]
        return answer.status_code, body["errors"]
    data = dict(body["data"])
    data.pop("keys", None)
    data.pop("hmac", None)
    return answer.status_code, data


STEPS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "keys/h", {"type": "hmac", "key_size": 48, "exportable": True}),
    ("GET", "keys/h", None),
    ("POST", "keys/small", {"type": "hmac", "key_size": 16}),
    ("POST", "keys/big", {"type": "hmac", "key_size": 600}),
    ("POST", "keys/aes", {"key_size": 32}),
    ("POST", "keys/hd", {"type": "hmac", "key_size": 32, "derived": True}),
    ("POST", "encrypt/h", {"plaintext": HELLO}),
    ("POST", "decrypt/h", {"ciphertext": "vault:v1:AAAA"}),
    ("POST", "rewrap/h", {"ciphertext": "vault:v1:AAAA"}),
    ("POST", "datakey/plaintext/h", {}),
    ("POST", "sign/h", {"input": HELLO}),
    ("POST", "verify/h", {"input": HELLO, "signature": "vault:v1:AAAA"}),
    ("POST", "hmac/h", {"input": HELLO}),
    ("POST", "hmac/h/sha2-512", {"input": HELLO}),
    ("GET", "export/encryption-key/h", None),
    ("GET", "export/signing-key/h", None),
    ("POST", "encrypt/up", {"plaintext": HELLO, "type": "hmac"}),
    ("POST", "keys/h/rotate", {}),
    ("GET", "keys/h", None),
]


def test_requests_answer_as_openbao_does(pair: Pair) -> None:
    ours, theirs, mount = pair
    for method, path, body in STEPS:
        mine = _shape(ours.request(method, f"/v1/{mount}/{path}", json=body))
        reference = _shape(theirs.request(method, f"/v1/{mount}/{path}", json=body))
        assert mine == reference, (path, mine, reference)
    exported = ours.get(f"/v1/{mount}/export/hmac-key/h").json()["data"]["keys"]
    assert sorted(exported) == ["1", "2"]
    assert all(len(base64.b64decode(key)) == 48 for key in exported.values())


def test_missing_key_size_is_refused_with_openbao_words(pair: Pair) -> None:
    ours, theirs, mount = pair
    mine = ours.post(f"/v1/{mount}/keys/nosize", json={"type": "hmac"})
    reference = theirs.post(f"/v1/{mount}/keys/nosize", json={"type": "hmac"})
    assert mine.status_code == 400
    assert mine.json()["errors"][0] in reference.json()["errors"][0]


def _wrapped(client: httpx.Client, mount: str, target: bytes) -> str:
    pem = client.get(f"/v1/{mount}/wrapping_key").json()["data"]["public_key"]
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    ephemeral = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(
        public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, target)
    ).decode()


def test_an_imported_hmac_key_gives_the_same_hmacs_on_both(pair: Pair) -> None:
    ours, theirs, mount = pair
    key = os.urandom(40)
    for client in (ours, theirs):
        answer = client.post(
            f"/v1/{mount}/keys/imp/import", json={"type": "hmac", "ciphertext": _wrapped(client, mount, key)}
        )
        assert answer.status_code == 204, answer.text
        assert client.get(f"/v1/{mount}/keys/imp").json()["data"]["key_size"] == 40
    macs = [
        c.post(f"/v1/{mount}/hmac/imp", json={"input": HELLO}).json()["data"]["hmac"] for c in (ours, theirs)
    ]
    assert macs[0] == macs[1]
    short = ours.post(
        f"/v1/{mount}/keys/short/import",
        json={"type": "hmac", "ciphertext": _wrapped(ours, mount, os.urandom(8))},
    )
    assert short.json()["errors"] == ["error importing key: invalid key size 8 bytes for key type hmac"]


@pytest.mark.parametrize("direction", ["to_bao", "from_bao"])
def test_an_hmac_key_moved_by_backup_gives_the_same_hmacs(pair: Pair, direction: str) -> None:
    ours, theirs, mount = pair
    source, target = (ours, theirs) if direction == "to_bao" else (theirs, ours)
    options = {"type": "hmac", "key_size": 64, "exportable": True, "allow_plaintext_backup": True}
    source.post(f"/v1/{mount}/keys/b", json=options)
    source.post(f"/v1/{mount}/keys/b/rotate")
    mac = source.post(f"/v1/{mount}/hmac/b", json={"input": HELLO, "key_version": 1}).json()["data"]["hmac"]
    taken = source.get(f"/v1/{mount}/backup/b").json()["data"]["backup"]
    assert target.post(f"/v1/{mount}/restore", json={"backup": taken}).status_code == 204
    answer = target.post(f"/v1/{mount}/verify/b", json={"input": HELLO, "hmac": mac})
    assert answer.json()["data"]["valid"] is True
    read = target.get(f"/v1/{mount}/keys/b").json()["data"]
    assert read["type"] == "hmac"
    assert read["key_size"] == 64
    assert read["latest_version"] == 2
