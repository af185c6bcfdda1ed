"""Transit CMAC (Vault Enterprise's aes128/192/256-cmac key types and cmac/<name>; OpenBao has none): tags
checked against the RFC 4493 test vectors with the key brought in by BYOK, and against an independent
computation for generated keys.
"""

from __future__ import annotations

import base64
import itertools
import os

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

_COUNTER = itertools.count()
MESSAGE = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
# RFC 4493 section 4 (AES-128) and NIST SP 800-38B D.3 (AES-256), example 2.
VECTORS = {
    "aes128-cmac": ("2b7e151628aed2a6abf7158809cf4f3c", "070a16b46b4d4144f79bdd9dd04a287c"),
    "aes256-cmac": (
        "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        "28a7023f452e8f82bd4bf28d8c37c35c",
    ),
}


@pytest.fixture
def mount(root: httpx.Client) -> str:
    name = f"cmac{next(_COUNTER)}"
    assert root.post(f"/v1/sys/mounts/{name}", json={"type": "transit"}).status_code == 204
    return name


def _wrapped(client: httpx.Client, mount: str, target: bytes) -> str:
    pem = client.get(f"/v1/{mount}/wrapping_key").json()["data"]["public_key"]
    public = serialization.load_pem_public_key(pem.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    ephemeral = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    return base64.b64encode(
        public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, target)
    ).decode()


def _tag(answer: httpx.Response) -> bytes:
    assert answer.status_code == 200, answer.text
    value = answer.json()["data"]["cmac"]
    assert value.startswith("vault:v1:")
    return base64.b64decode(value.removeprefix("vault:v1:"))


@pytest.mark.parametrize("key_type", sorted(VECTORS))
def test_cmac_of_an_imported_key_matches_the_published_vector(
    root: httpx.Client, mount: str, key_type: str
) -> None:
    key, tag = VECTORS[key_type]
    imported = root.post(
        f"/v1/{mount}/keys/k/import",
        json={"type": key_type, "ciphertext": _wrapped(root, mount, bytes.fromhex(key))},
    )
    assert imported.status_code == 204, imported.text
    data = base64.b64encode(MESSAGE).decode()
    assert _tag(root.post(f"/v1/{mount}/cmac/k", json={"input": data})).hex() == tag
    assert _tag(root.post(f"/v1/{mount}/cmac/k", json={"input": data, "mac_length": 8})).hex() == tag[:16]
    assert _tag(root.post(f"/v1/{mount}/cmac/k/4", json={"input": data, "mac_length": 8})).hex() == tag[:8]
    batch = root.post(
        f"/v1/{mount}/cmac/k", json={"batch_input": [{"input": data, "reference": "a"}, {"input": "!!"}]}
    ).json()["data"]["batch_results"]
    assert batch[0]["cmac"] == "vault:v1:" + base64.b64encode(bytes.fromhex(tag)).decode()
    assert batch[0]["reference"] == "a"
    assert "error" in batch[1]
    full = "vault:v1:" + base64.b64encode(bytes.fromhex(tag)).decode()
    short = "vault:v1:" + base64.b64encode(bytes.fromhex(tag[:16])).decode()
    for cmac, length, valid in ((full, 0, True), (short, 8, True), (short, 0, False), (full, 8, False)):
        answer = root.post(f"/v1/{mount}/verify/k", json={"input": data, "cmac": cmac, "mac_length": length})
        assert answer.json()["data"]["valid"] is valid, (length, cmac)


def test_generated_cmac_keys_rotate_and_refuse_what_they_cannot_do(root: httpx.Client, mount: str) -> None:
    created = root.post(f"/v1/{mount}/keys/g", json={"type": "aes192-cmac", "exportable": True})
    assert created.status_code == 200, created.text
    view = created.json()["data"]
    assert view["type"] == "aes192-cmac"
    assert not view["supports_encryption"]
    assert not view["supports_signing"]
    root.post(f"/v1/{mount}/keys/g/rotate")
    answer = root.post(f"/v1/{mount}/cmac/g", json={"input": "aGVsbG8="}).json()["data"]["cmac"]
    assert answer.startswith("vault:v2:")
    assert len(base64.b64decode(answer.removeprefix("vault:v2:"))) == 16
    root.post(f"/v1/{mount}/keys/gcm")
    refusals = [
        ("cmac/gcm", {"input": "aGVsbG8="}, "CMAC is not supported for key type aes256-gcm96"),
        (
            "cmac/g",
            {"input": "aGVsbG8=", "mac_length": 17},
            "mac_length cannot be larger than the cipher's block size",
        ),
        ("cmac/g", {}, "missing input for CMAC"),
        ("cmac/nope", {"input": "aGVsbG8="}, "encryption key not found"),
        ("encrypt/g", {"plaintext": "aGVsbG8="}, "message encryption not supported for key type aes192-cmac"),
        (
            "cmac/g",
            {"input": "aGVsbG8=", "key_version": 3},
            "key version does not exist; latest key version is 2",
        ),
    ]
    for path, body, words in refusals:
        answer = root.post(f"/v1/{mount}/{path}", json=body)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["errors"] == [words]
    root.post(f"/v1/{mount}/keys/g/config", json={"allow_plaintext_backup": True})
    backup = root.get(f"/v1/{mount}/backup/g")
    assert backup.status_code == 400
    assert backup.json()["errors"] == ["backup is not supported for keys of type aes192-cmac"]
    exported = root.get(f"/v1/{mount}/export/encryption-key/g")
    assert exported.status_code == 400
