"""The transit engine in-process: key lifecycle, every operation, and Vault's refusals."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Response
from strongroom.util.clock import ManualClock

HELLO = base64.b64encode(b"hello").decode()


async def data(call: Any) -> dict[str, Any]:
    response = await call
    assert isinstance(response, Response)
    assert response.data is not None
    return dict(response.data)


async def refused(call: Any, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await call
    assert caught.value.errors == (message,)


async def test_create_read_list_delete(transit: BackendHarness) -> None:
    created = await data(transit.write("keys/k1"))
    assert created["type"] == "aes256-gcm96"
    assert created["keys"] == {"1": 1_700_000_000}
    assert created["supports_encryption"]
    assert not created["supports_signing"]
    assert await data(transit.read("keys/k1")) == created
    assert await data(transit.list("keys")) == {"keys": ["k1"]}
    assert await transit.read("keys/nope") is None
    await refused(transit.delete("keys/k1"), "error deleting policy k1: deletion is not allowed for this key")
    await data(transit.write("keys/k1/config", {"deletion_allowed": True}))
    assert await transit.delete("keys/k1") is None
    assert await transit.read("keys/k1") is None
    assert await transit.list("keys") is None


async def test_key_material_is_stored_only_in_its_record(transit: BackendHarness) -> None:
    await transit.write("keys/k1", {"exportable": True})
    exported = await data(transit.read("export/encryption-key/k1"))
    key = base64.b64decode(exported["keys"]["1"])
    assert list(transit.storage.data) == ["policy/k1"]
    assert key.hex().encode() in transit.storage.data["policy/k1"]
    assert key.hex() not in repr(await data(transit.read("keys/k1")))


async def test_ciphertext_layout_is_vaults(transit: BackendHarness) -> None:
    await transit.write("keys/k1", {"exportable": True})
    key = base64.b64decode((await data(transit.read("export/encryption-key/k1")))["keys"]["1"])
    sealed = (await data(transit.write("encrypt/k1", {"plaintext": HELLO})))["ciphertext"]
    assert sealed.startswith("vault:v1:")
    raw = base64.b64decode(sealed.removeprefix("vault:v1:"))
    assert AESGCM(key).decrypt(raw[:12], raw[12:], None) == b"hello"


async def test_asymmetric_read_shows_public_keys(transit: BackendHarness) -> None:
    ed = await data(transit.write("keys/ed", {"type": "ed25519"}))
    entry = ed["keys"]["1"]
    assert entry["name"] == "ed25519"
    assert len(base64.b64decode(entry["public_key"])) == 32
    assert entry["creation_time"] == "2023-11-14T22:13:20Z"
    ec = await data(transit.write("keys/ec", {"type": "ecdsa-p384"}))
    assert ec["keys"]["1"]["name"] == "P-384"
    assert ec["keys"]["1"]["public_key"].startswith("-----BEGIN PUBLIC KEY-----")
    assert not ec["supports_derivation"]
    assert ec["supports_signing"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "foo"}, "unknown key type foo"),
        ({"convergent_encryption": True}, "convergent encryption requires derivation to be enabled"),
        ({"auto_rotate_period": "30m"}, "auto rotate period must be 0 to disable or at least an hour"),
        ({"key_size": 16}, "key_size is not valid for algorithm aes256-gcm96"),
        (
            {"type": "ecdsa-p256", "derived": True},
            "key derivation and convergent encryption not supported for keys of type ecdsa-p256",
        ),
    ],
)
async def test_create_refusals(transit: BackendHarness, body: dict[str, Any], message: str) -> None:
    await refused(transit.write("keys/bad", body), message)
    assert await transit.read("keys/bad") is None


async def test_rotation_and_min_versions(transit: BackendHarness) -> None:
    await transit.write("keys/k")
    first = (await data(transit.write("encrypt/k", {"plaintext": HELLO})))["ciphertext"]
    rotated = await data(transit.write("keys/k/rotate"))
    assert rotated["latest_version"] == 2
    second = await data(transit.write("encrypt/k", {"plaintext": HELLO}))
    assert second["key_version"] == 2
    assert second["ciphertext"].startswith("vault:v2:")
    rewrapped = await data(transit.write("rewrap/k", {"ciphertext": first}))
    assert rewrapped["key_version"] == 2
    await transit.write("keys/k/config", {"min_decryption_version": 2})
    await refused(
        transit.write("decrypt/k", {"ciphertext": first}),
        "ciphertext or signature version is disallowed by policy (too old)",
    )
    assert (await data(transit.write("decrypt/k", {"ciphertext": rewrapped["ciphertext"]})))[
        "plaintext"
    ] == HELLO
    assert list((await data(transit.read("keys/k")))["keys"]) == ["2"]
    await refused(
        transit.write("keys/k/config", {"min_decryption_version": 5}),
        "cannot set min decryption version of 5, latest key version is 2",
    )
    await transit.write("keys/k/config", {"min_encryption_version": 2})
    await refused(
        transit.write("encrypt/k", {"plaintext": HELLO, "key_version": 1}),
        "requested version for encryption is less than the minimum encryption key version",
    )
    trimmed = await data(transit.write("keys/k/trim", {"min_available_version": 2}))
    assert trimmed["min_available_version"] == 2
    await refused(
        transit.write("keys/k/trim", {"min_available_version": 1}),
        "minimum available version cannot be decremented",
    )
    await refused(transit.write("keys/nope/rotate"), "key not found")


async def test_auto_rotation_happens_on_next_use(transit: BackendHarness, clock: ManualClock) -> None:
    await transit.write("keys/k", {"auto_rotate_period": "1h"})
    clock.advance(3599)
    assert (await data(transit.read("keys/k")))["latest_version"] == 1
    clock.advance(1)
    assert (await data(transit.write("encrypt/k", {"plaintext": HELLO})))["key_version"] == 2


async def test_encrypt_upserts_and_refuses(transit: BackendHarness) -> None:
    await data(transit.write("encrypt/new", {"plaintext": HELLO, "type": "chacha20-poly1305"}))
    assert (await data(transit.read("keys/new")))["type"] == "chacha20-poly1305"
    await refused(
        transit.write("encrypt/x", {"plaintext": HELLO, "type": "ed25519"}), "unknown key type ed25519"
    )
    await refused(transit.write("encrypt/new", {}), "missing plaintext to encrypt")
    await refused(
        transit.write("encrypt/new", {"plaintext": "not base64!"}), "illegal base64 data at input byte 3"
    )
    await refused(transit.write("decrypt/none", {"ciphertext": "vault:v1:AAAA"}), "encryption key not found")
    await refused(transit.write("decrypt/new", {"ciphertext": "garbage"}), "invalid ciphertext: no prefix")
    await refused(transit.write("decrypt/new", {"ciphertext": "vault:v1:AAAA"}), "invalid ciphertext length")


async def test_derived_and_convergent(transit: BackendHarness) -> None:
    await transit.write("keys/d", {"derived": True, "convergent_encryption": True})
    one = await data(transit.write("encrypt/d", {"plaintext": HELLO, "context": "Y3R4"}))
    two = await data(transit.write("encrypt/d", {"plaintext": HELLO, "context": "Y3R4"}))
    other = await data(transit.write("encrypt/d", {"plaintext": HELLO, "context": "b3RoZXI="}))
    assert one["ciphertext"] == two["ciphertext"] != other["ciphertext"]
    with pytest.raises(InvalidRequestError):
        await transit.write("decrypt/d", {"ciphertext": one["ciphertext"], "context": "b3RoZXI="})
    plain = await data(transit.write("decrypt/d", {"ciphertext": one["ciphertext"], "context": "Y3R4"}))
    assert plain == {"plaintext": HELLO}
    view = await data(transit.read("keys/d"))
    assert view["kdf"] == "hkdf_sha256"
    assert view["convergent_encryption"] is True


async def test_batch_encrypt_decrypt(transit: BackendHarness) -> None:
    batch = [{"plaintext": HELLO, "reference": "a"}, {"plaintext": "!!"}]
    response = await transit.write("encrypt/b", {"batch_input": batch})
    assert response is not None
    assert response.status == 400
    assert response.data is not None
    ok, bad = response.data["batch_results"]
    assert ok["reference"] == "a"
    assert ok["key_version"] == 1
    assert bad == {"error": "illegal base64 data at input byte 0", "reference": ""}
    decrypted = await data(transit.write("decrypt/b", {"batch_input": [{"ciphertext": ok["ciphertext"]}]}))
    assert decrypted == {"batch_results": [{"plaintext": HELLO, "reference": ""}]}


@pytest.mark.parametrize("key_type", ["ed25519", "ecdsa-p256", "ecdsa-p384", "rsa-2048"])
async def test_sign_and_verify(transit: BackendHarness, key_type: str) -> None:
    await transit.write("keys/s", {"type": key_type})
    signed = await data(transit.write("sign/s/sha2-384", {"input": HELLO}))
    assert signed["key_version"] == 1
    good = {"input": HELLO, "signature": signed["signature"]}
    assert await data(transit.write("verify/s/sha2-384", good)) == {"valid": True}
    forged = {"input": base64.b64encode(b"other").decode(), "signature": signed["signature"]}
    assert await data(transit.write("verify/s/sha2-384", forged)) == {"valid": False}


async def test_rsa_pkcs1_and_ecdsa_jws(transit: BackendHarness) -> None:
    await transit.write("keys/r", {"type": "rsa-2048"})
    body = {"input": HELLO, "signature_algorithm": "pkcs1v15"}
    signature = (await data(transit.write("sign/r", body)))["signature"]
    assert await data(transit.write("verify/r", {**body, "signature": signature})) == {"valid": True}
    assert await data(transit.write("verify/r", {"input": HELLO, "signature": signature})) == {"valid": False}
    await refused(
        transit.write("sign/r", {"input": HELLO, "signature_algorithm": "foo"}),
        "unsupported rsa signature algorithm foo",
    )
    await transit.write("keys/e", {"type": "ecdsa-p256"})
    jws = {"input": HELLO, "marshaling_algorithm": "jws"}
    signature = (await data(transit.write("sign/e", jws)))["signature"]
    assert "=" not in signature
    assert len(base64.urlsafe_b64decode(signature[9:] + "==")) == 64
    assert await data(transit.write("verify/e", {**jws, "signature": signature})) == {"valid": True}


async def test_hmac_and_verify(transit: BackendHarness) -> None:
    await transit.write("keys/h")
    mac = (await data(transit.write("hmac/h", {"input": HELLO})))["hmac"]
    assert mac.startswith("vault:v1:")
    assert len(base64.b64decode(mac[9:])) == 32
    assert await data(transit.write("verify/h", {"input": HELLO, "hmac": mac})) == {"valid": True}
    assert await data(transit.write("verify/h/sha2-512", {"input": HELLO, "hmac": mac})) == {"valid": False}
    await refused(transit.write("hmac/h", {}), "missing input for HMAC")
    await refused(transit.write("sign/h", {"input": HELLO}), "key type aes256-gcm96 does not support signing")


async def test_datakey(transit: BackendHarness) -> None:
    await transit.write("keys/k")
    made = await data(transit.write("datakey/plaintext/k", {"bits": 512}))
    assert len(base64.b64decode(made["plaintext"])) == 64
    opened = await data(transit.write("decrypt/k", {"ciphertext": made["ciphertext"]}))
    assert opened["plaintext"] == made["plaintext"]
    wrapped = await data(transit.write("datakey/wrapped/k"))
    assert set(wrapped) == {"ciphertext", "key_version"}
    await refused(transit.write("datakey/wrapped/k", {"bits": 100}), "invalid bit length")


async def test_random_and_hash(transit: BackendHarness) -> None:
    assert len(base64.b64decode((await data(transit.write("random")))["random_bytes"])) == 32
    assert len((await data(transit.write("random/8", {"format": "hex"})))["random_bytes"]) == 16
    assert len(base64.b64decode((await data(transit.write("random/all/4")))["random_bytes"])) == 4
    await refused(transit.write("random/0"), "'bytes' cannot be less than 1")
    summed = await data(transit.write("hash", {"input": HELLO}))
    assert summed == {"sum": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"}
    await refused(transit.write("hash/md5", {"input": HELLO}), "unsupported algorithm md5")


async def test_export(transit: BackendHarness) -> None:
    await transit.write("keys/p", {"type": "ecdsa-p256"})
    await refused(transit.read("export/signing-key/p"), "private key material is not exportable")
    public = await data(transit.read("export/public-key/p"))
    assert public["keys"]["1"].startswith("-----BEGIN PUBLIC KEY-----")
    await transit.write("keys/x", {"type": "rsa-2048", "exportable": True})
    await transit.write("keys/x/rotate")
    exported = await data(transit.read("export/signing-key/x"))
    assert list(exported["keys"]) == ["1", "2"]
    assert exported["keys"]["2"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert list((await data(transit.read("export/hmac-key/x/latest")))["keys"]) == ["2"]
    await refused(transit.read("export/hmac-key/x/9"), "version does not exist or cannot be found")
    await refused(transit.read("export/foo/x"), "invalid export type: foo")
    assert await transit.read("export/signing-key/nope") is None
