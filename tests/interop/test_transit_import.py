"""Transit BYOK across strongroom and OpenBao: one key, wrapped for each server's wrapping key, imported
into both; what one server encrypts or signs with it, the other decrypts or verifies.

Refusals are compared with OpenBao's words (OpenBao answers most of them 500, strongroom 400).
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

from tests.servers import RunningServer

HELLO = "aGVsbG8="
_COUNTER = itertools.count()
Pair = tuple[httpx.Client, httpx.Client, str]


@pytest.fixture
def pair(server: RunningServer, bao: RunningServer) -> Iterator[Pair]:
    """(strongroom client, OpenBao client, a fresh transit mount on both)."""
    mount = f"byok{next(_COUNTER)}"
    with server.client() as ours, bao.client() as theirs:
        for client in (ours, theirs):
            assert client.post(f"/v1/sys/mounts/{mount}", json={"type": "transit"}).status_code == 204
        yield ours, theirs, mount


def _wrapped(client: httpx.Client, mount: str, target: bytes, oaep_hash: hashes.HashAlgorithm) -> str:
    """`target` wrapped for the server's wrapping key, as Vault's import expects it."""
    answer = client.get(f"/v1/{mount}/wrapping_key")
    assert answer.status_code == 200, answer.text
    public = serialization.load_pem_public_key(answer.json()["data"]["public_key"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    assert public.key_size == 4096
    ephemeral = os.urandom(32)
    oaep = padding.OAEP(mgf=padding.MGF1(oaep_hash), algorithm=oaep_hash, label=None)
    blob = public.encrypt(ephemeral, oaep) + aes_key_wrap_with_padding(ephemeral, target)
    return base64.b64encode(blob).decode()


def _import(client: httpx.Client, mount: str, name: str, target: bytes, **fields: object) -> httpx.Response:
    oaep_hash = {"SHA1": hashes.SHA1(), "SHA512": hashes.SHA512()}.get(str(fields.get("hash_function")))
    ciphertext = _wrapped(client, mount, target, oaep_hash or hashes.SHA256())
    return client.post(f"/v1/{mount}/keys/{name}/import", json={"ciphertext": ciphertext, **fields})


def _pkcs8(private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize("hash_function", ["SHA256", "SHA1", "SHA512"])
def test_an_aes_key_imported_into_both_decrypts_what_the_other_encrypts(
    pair: Pair, hash_function: str
) -> None:
    ours, theirs, mount = pair
    key = os.urandom(32)
    for client in (ours, theirs):
        answer = _import(client, mount, "aes", key, hash_function=hash_function)
        assert answer.status_code == 204, answer.text
        read = client.get(f"/v1/{mount}/keys/aes").json()["data"]
        assert read["imported_key"] is True
        assert read["imported_key_allow_rotation"] is False
    for source, target in ((ours, theirs), (theirs, ours)):
        ciphertext = source.post(f"/v1/{mount}/encrypt/aes", json={"plaintext": HELLO}).json()["data"][
            "ciphertext"
        ]
        answer = target.post(f"/v1/{mount}/decrypt/aes", json={"ciphertext": ciphertext})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["plaintext"] == HELLO


def test_import_version_adds_the_same_second_version_on_both(pair: Pair) -> None:
    ours, theirs, mount = pair
    first, second = os.urandom(16), os.urandom(16)
    for client in (ours, theirs):
        assert _import(client, mount, "v", first, type="aes128-gcm96").status_code == 204
        added = client.post(
            f"/v1/{mount}/keys/v/import_version",
            json={"ciphertext": _wrapped(client, mount, second, hashes.SHA256())},
        )
        assert added.status_code == 204, added.text
        assert client.get(f"/v1/{mount}/keys/v").json()["data"]["latest_version"] == 2
    ciphertext = theirs.post(f"/v1/{mount}/encrypt/v", json={"plaintext": HELLO}).json()["data"]["ciphertext"]
    assert ciphertext.startswith("vault:v2:")
    answer = ours.post(f"/v1/{mount}/decrypt/v", json={"ciphertext": ciphertext})
    assert answer.json()["data"]["plaintext"] == HELLO


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_an_asymmetric_key_imported_into_both_verifies_what_the_other_signs(
    pair: Pair, key_type: str
) -> None:
    ours, theirs, mount = pair
    private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    if key_type == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif key_type.startswith("ecdsa"):
        private = ec.generate_private_key(ec.SECP256R1() if key_type.endswith("256") else ec.SECP384R1())
    else:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for client in (ours, theirs):
        answer = _import(client, mount, "sig", _pkcs8(private), type=key_type)
        assert answer.status_code == 204, answer.text
    keys = [c.get(f"/v1/{mount}/keys/sig").json()["data"]["keys"]["1"]["public_key"] for c in (ours, theirs)]
    assert keys[0] == keys[1]
    for source, target in ((ours, theirs), (theirs, ours)):
        signature = source.post(f"/v1/{mount}/sign/sig", json={"input": HELLO}).json()["data"]["signature"]
        answer = target.post(f"/v1/{mount}/verify/sig", json={"input": HELLO, "signature": signature})
        assert answer.json()["data"]["valid"] is True


def _errors(client: httpx.Client, path: str, body: object) -> tuple[int, str]:
    answer = client.post(path, json=body)
    return answer.status_code, " ".join(answer.json().get("errors", []))


def test_refusals_say_what_openbao_says(pair: Pair) -> None:
    ours, theirs, mount = pair
    for client in (ours, theirs):
        client.post(f"/v1/{mount}/keys/made")
        assert _import(client, mount, "imp", os.urandom(32)).status_code == 204
    short = base64.b64encode(b"x" * 100).decode()
    p384 = _pkcs8(ec.generate_private_key(ec.SECP384R1()))
    # (path, body, a key to wrap for each server into the body's ciphertext)
    cases: list[tuple[str, dict[str, object], bytes | None]] = [
        ("keys/new/import", {}, None),
        ("keys/new/import", {"ciphertext": short}, None),
        ("keys/new/import", {"ciphertext": "!!"}, None),
        ("keys/new/import", {"ciphertext": short, "type": "foo"}, None),
        ("keys/new/import", {"ciphertext": short, "hash_function": "MD5"}, None),
        ("keys/new/import", {"convergent_encryption": True}, None),
        ("keys/new/import", {"ciphertext": short, "auto_rotate_period": "2h"}, None),
        ("keys/made/import", {"ciphertext": short}, None),
        ("keys/made/import_version", {"ciphertext": short}, None),
        ("keys/nope/import_version", {"ciphertext": short}, None),
        ("keys/imp/rotate", {}, None),
        ("keys/new/import", {}, os.urandom(16)),
        ("keys/new/import", {"type": "ecdsa-p256"}, p384),
        ("keys/new/import", {"type": "rsa-2048"}, p384),
    ]
    for path, body, target in cases:
        bodies = [
            body
            if target is None
            else {**body, "ciphertext": _wrapped(client, mount, target, hashes.SHA256())}
            for client in (ours, theirs)
        ]
        status, text = _errors(ours, f"/v1/{mount}/{path}", bodies[0])
        bao_status, bao_text = _errors(theirs, f"/v1/{mount}/{path}", bodies[1])
        assert status == 400, (path, text)
        assert bao_status in (400, 500), (path, bao_text)
        assert text, path
        assert text in bao_text, (path, text, bao_text)


def _public_pem(private: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _refusal(client: httpx.Client, method: str, path: str, body: object = None) -> str:
    answer = client.request(method, path, json=body)
    assert answer.status_code in (400, 500), answer.text
    return " ".join(answer.json()["errors"])


def test_a_public_key_alone_verifies_and_takes_its_private_key_later(pair: Pair) -> None:
    ours, theirs, mount = pair
    signer = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    data = b"hello"
    signature = "vault:v1:" + base64.b64encode(signer.sign(data, ec.ECDSA(hashes.SHA256()))).decode()
    for client in (ours, theirs):
        options = {"type": "ecdsa-p256", "public_key": _public_pem(signer), "exportable": True}
        created = client.post(f"/v1/{mount}/keys/pub/import", json=options)
        assert created.status_code == 204, created.text
        verified = client.post(f"/v1/{mount}/verify/pub", json={"input": HELLO, "signature": signature})
        assert verified.json()["data"]["valid"] is True
    exports = [c.get(f"/v1/{mount}/export/signing-key/pub").json()["data"]["keys"] for c in (ours, theirs)]
    assert exports[0] == exports[1] == {"1": ""}
    steps: list[tuple[str, str, object]] = [
        ("POST", "sign/pub", {"input": HELLO}),
        ("POST", "keys/pub/import_version", {"public_key": _public_pem(signer), "version": 1}),
        ("POST", "keys/pub/import", {"public_key": "not pem", "type": "ecdsa-p256"}),
        ("POST", "keys/edd/import", {"type": "ed25519", "derived": True, "public_key": _public_pem(signer)}),
        ("POST", "keys/rsa/import", {"type": "rsa-2048", "public_key": _public_pem(signer)}),
    ]
    for method, path, body in steps:
        mine = _refusal(ours, method, f"/v1/{mount}/{path}", body)
        assert mine in _refusal(theirs, method, f"/v1/{mount}/{path}", body), path
    for client in (ours, theirs):
        wrong = {"ciphertext": _wrapped(client, mount, _pkcs8(other), hashes.SHA256()), "version": 1}
        assert "cannot import key, key pair does not match" in _refusal(
            client, "POST", f"/v1/{mount}/keys/pub/import_version", wrong
        )
        right = {"ciphertext": _wrapped(client, mount, _pkcs8(signer), hashes.SHA256()), "version": 1}
        assert client.post(f"/v1/{mount}/keys/pub/import_version", json=right).status_code == 204
    made = ours.post(f"/v1/{mount}/sign/pub", json={"input": HELLO}).json()["data"]["signature"]
    assert made.startswith("vault:v1:")
    answer = theirs.post(f"/v1/{mount}/verify/pub", json={"input": HELLO, "signature": made})
    assert answer.json()["data"]["valid"] is True


def test_an_rsa_public_key_encrypts_and_its_private_key_decrypts_after_import_version(pair: Pair) -> None:
    ours, theirs, mount = pair
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sealed = {}
    for client in (ours, theirs):
        options = {"type": "rsa-2048", "public_key": _public_pem(private)}
        assert client.post(f"/v1/{mount}/keys/r/import", json=options).status_code == 204
        sealed[client] = client.post(f"/v1/{mount}/encrypt/r", json={"plaintext": HELLO}).json()["data"][
            "ciphertext"
        ]
    refused = _refusal(ours, "POST", f"/v1/{mount}/decrypt/r", {"ciphertext": sealed[ours]})
    assert refused in _refusal(theirs, "POST", f"/v1/{mount}/decrypt/r", {"ciphertext": sealed[ours]})
    for client in (ours, theirs):
        completed = {"ciphertext": _wrapped(client, mount, _pkcs8(private), hashes.SHA256())}
        assert client.post(f"/v1/{mount}/keys/r/import_version", json=completed).status_code == 204
        assert client.get(f"/v1/{mount}/keys/r").json()["data"]["latest_version"] == 1
    for client, ciphertext in ((ours, sealed[theirs]), (theirs, sealed[ours])):
        opened = client.post(f"/v1/{mount}/decrypt/r", json={"ciphertext": ciphertext})
        assert opened.json()["data"]["plaintext"] == HELLO


@pytest.mark.parametrize("direction", ["to_bao", "from_bao"])
def test_a_public_only_key_moves_by_backup(pair: Pair, direction: str) -> None:
    ours, theirs, mount = pair
    source, target = (ours, theirs) if direction == "to_bao" else (theirs, ours)
    signer = ec.generate_private_key(ec.SECP384R1())
    options = {"type": "ecdsa-p384", "public_key": _public_pem(signer), "exportable": True}
    assert (
        source.post(
            f"/v1/{mount}/keys/b/import", json={**options, "allow_plaintext_backup": True}
        ).status_code
        == 204
    )
    taken = source.get(f"/v1/{mount}/backup/b").json()["data"]["backup"]
    assert target.post(f"/v1/{mount}/restore", json={"backup": taken}).status_code == 204
    signature = "vault:v1:" + base64.b64encode(signer.sign(b"hello", ec.ECDSA(hashes.SHA256()))).decode()
    answer = target.post(f"/v1/{mount}/verify/b", json={"input": HELLO, "signature": signature})
    assert answer.json()["data"]["valid"] is True
    read = target.get(f"/v1/{mount}/keys/b").json()["data"]
    assert read["imported_key"] is True
    assert read["keys"]["1"]["public_key"] == _public_pem(signer)
