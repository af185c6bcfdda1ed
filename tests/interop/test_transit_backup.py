"""Transit backup and restore across strongroom and OpenBao: a backup taken on one restores on the other.

Each key is used on the server it was made on (encrypt or sign), backed up there, restored on the other
server and used there (decrypt or verify), in both directions; refusals are compared with OpenBao's words
(OpenBao answers them 500, strongroom 400: the causes are the caller's).
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Iterator

import httpx
import pytest

from tests.servers import RunningServer

HELLO = "aGVsbG8="
_COUNTER = itertools.count()


@pytest.fixture
def pair(server: RunningServer, bao: RunningServer) -> Iterator[tuple[httpx.Client, httpx.Client, str]]:
    """(strongroom client, OpenBao client, a fresh transit mount on both)."""
    mount = f"backup{next(_COUNTER)}"
    with server.client() as ours, bao.client() as theirs:
        for client in (ours, theirs):
            assert client.post(f"/v1/sys/mounts/{mount}", json={"type": "transit"}).status_code == 204
        yield ours, theirs, mount


def _move(source: httpx.Client, target: httpx.Client, mount: str, name: str, key_type: str) -> str:
    """Create `name` on source (two versions), back it up and restore it on target; the backup."""
    created = source.post(
        f"/v1/{mount}/keys/{name}",
        json={"type": key_type, "exportable": True, "allow_plaintext_backup": True},
    )
    assert created.status_code in (200, 204), created.text
    assert source.post(f"/v1/{mount}/keys/{name}/rotate").status_code in (200, 204)
    answer = source.get(f"/v1/{mount}/backup/{name}")
    assert answer.status_code == 200, answer.text
    taken = answer.json()["data"]["backup"]
    restored = target.post(f"/v1/{mount}/restore", json={"backup": taken})
    assert restored.status_code == 204, restored.text
    return str(taken)


@pytest.mark.parametrize("direction", ["to_bao", "from_bao"])
@pytest.mark.parametrize("key_type", ["aes256-gcm96", "rsa-2048"])
def test_ciphertext_made_before_the_backup_decrypts_after_the_restore(
    pair: tuple[httpx.Client, httpx.Client, str], direction: str, key_type: str
) -> None:
    ours, theirs, mount = pair
    source, target = (ours, theirs) if direction == "to_bao" else (theirs, ours)
    source.post(
        f"/v1/{mount}/keys/k", json={"type": key_type, "exportable": True, "allow_plaintext_backup": True}
    )
    old = source.post(f"/v1/{mount}/encrypt/k", json={"plaintext": HELLO}).json()["data"]["ciphertext"]
    _move(source, target, mount, "k", key_type)
    new = source.post(f"/v1/{mount}/encrypt/k", json={"plaintext": HELLO}).json()["data"]["ciphertext"]
    assert old.startswith("vault:v1:")
    assert new.startswith("vault:v2:")
    for ciphertext in (old, new):
        answer = target.post(f"/v1/{mount}/decrypt/k", json={"ciphertext": ciphertext})
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["plaintext"] == HELLO
    read = target.get(f"/v1/{mount}/keys/k").json()["data"]
    assert read["latest_version"] == 2
    assert read["type"] == key_type
    assert read["restore_info"]["version"] == 2
    assert read["backup_info"]["version"] == 2


@pytest.mark.parametrize("direction", ["to_bao", "from_bao"])
@pytest.mark.parametrize("key_type", ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "ed25519"])
def test_signature_made_before_the_backup_verifies_after_the_restore(
    pair: tuple[httpx.Client, httpx.Client, str], direction: str, key_type: str
) -> None:
    ours, theirs, mount = pair
    source, target = (ours, theirs) if direction == "to_bao" else (theirs, ours)
    _move(source, target, mount, "s", key_type)
    signature = source.post(f"/v1/{mount}/sign/s", json={"input": HELLO}).json()["data"]["signature"]
    answer = target.post(f"/v1/{mount}/verify/s", json={"input": HELLO, "signature": signature})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["valid"] is True
    wrong = target.post(f"/v1/{mount}/verify/s", json={"input": "Ynll", "signature": signature})
    assert wrong.json()["data"]["valid"] is False
    keys = {c: c.get(f"/v1/{mount}/keys/s").json()["data"]["keys"] for c in (ours, theirs)}
    assert keys[ours]["2"]["public_key"] == keys[theirs]["2"]["public_key"]


def test_hmac_key_travels_with_the_backup(pair: tuple[httpx.Client, httpx.Client, str]) -> None:
    ours, theirs, mount = pair
    _move(theirs, ours, mount, "h", "aes256-gcm96")
    macs = [
        c.post(f"/v1/{mount}/hmac/h", json={"input": HELLO}).json()["data"]["hmac"] for c in (ours, theirs)
    ]
    assert macs[0] == macs[1]


def _errors(client: httpx.Client, method: str, path: str, body: object = None) -> tuple[int, str]:
    answer = client.request(method, path, json=body)
    return answer.status_code, " ".join(answer.json().get("errors", []))


def test_refusals_say_what_openbao_says(pair: tuple[httpx.Client, httpx.Client, str]) -> None:
    ours, theirs, mount = pair
    for client in (ours, theirs):
        client.post(f"/v1/{mount}/keys/plain")
        client.post(f"/v1/{mount}/keys/noplain", json={"exportable": True})
        client.post(f"/v1/{mount}/keys/ok", json={"exportable": True, "allow_plaintext_backup": True})
    cases: list[tuple[str, str, object]] = [
        ("GET", "backup/plain", None),
        ("GET", "backup/noplain", None),
        ("GET", "backup/missing", None),
        ("POST", "restore", {}),
        ("POST", "restore/a/b", {"backup": "e30="}),
    ]
    for method, path, body in cases:
        status, text = _errors(ours, method, f"/v1/{mount}/{path}", body)
        _bao_status, bao_text = _errors(theirs, method, f"/v1/{mount}/{path}", body)
        assert status == 400, (path, text)
        assert text in bao_text, (path, text, bao_text)
    taken = {c: c.get(f"/v1/{mount}/backup/ok").json()["data"]["backup"] for c in (ours, theirs)}
    for client in (ours, theirs):
        status, text = _errors(client, "POST", f"/v1/{mount}/restore", {"backup": taken[client]})
        assert 'key "ok" already exists' in text
        assert (
            client.post(f"/v1/{mount}/restore", json={"backup": taken[client], "force": True}).status_code
            == 204
        )
        renamed = client.post(f"/v1/{mount}/restore/copy", json={"backup": taken[client]})
        assert renamed.status_code == 204
        assert client.get(f"/v1/{mount}/keys/copy").json()["data"]["name"] == "copy"
    status, _ = _errors(ours, "POST", f"/v1/{mount}/restore", {"backup": "not base64!"})
    assert status == 400


@pytest.mark.parametrize("direction", ["to_bao", "from_bao"])
def test_a_convergent_key_gives_the_same_ciphertext_on_both_after_the_move(
    pair: tuple[httpx.Client, httpx.Client, str], direction: str
) -> None:
    ours, theirs, mount = pair
    source, target = (ours, theirs) if direction == "to_bao" else (theirs, ours)
    options = {
        "derived": True,
        "convergent_encryption": True,
        "exportable": True,
        "allow_plaintext_backup": True,
    }
    assert source.post(f"/v1/{mount}/keys/c", json=options).status_code in (200, 204)
    taken = source.get(f"/v1/{mount}/backup/c").json()["data"]["backup"]
    assert target.post(f"/v1/{mount}/restore", json={"backup": taken}).status_code == 204
    request = {"plaintext": HELLO, "context": "Y3R4"}
    made = [
        c.post(f"/v1/{mount}/encrypt/c", json=request).json()["data"]["ciphertext"] for c in (source, target)
    ]
    assert made[0] == made[1]
    opened = target.post(f"/v1/{mount}/decrypt/c", json={"ciphertext": made[0], "context": "Y3R4"})
    assert opened.json()["data"]["plaintext"] == HELLO


@pytest.mark.parametrize("direction", ["to_bao", "from_bao"])
def test_a_derived_ed25519_key_signs_alike_on_both_after_the_move(
    pair: tuple[httpx.Client, httpx.Client, str], direction: str
) -> None:
    ours, theirs, mount = pair
    source, target = (ours, theirs) if direction == "to_bao" else (theirs, ours)
    options = {"type": "ed25519", "derived": True, "exportable": True, "allow_plaintext_backup": True}
    assert source.post(f"/v1/{mount}/keys/d", json=options).status_code in (200, 204)
    taken = source.get(f"/v1/{mount}/backup/d").json()["data"]["backup"]
    assert target.post(f"/v1/{mount}/restore", json={"backup": taken}).status_code == 204
    request = {"input": HELLO, "context": "Y3R4"}
    made = [c.post(f"/v1/{mount}/sign/d", json=request).json()["data"]["signature"] for c in (source, target)]
    assert made[0] == made[1]  # ed25519 signatures are deterministic: equal keys sign equal bytes
    verified = target.post(f"/v1/{mount}/verify/d", json={**request, "signature": made[0]})
    assert verified.json()["data"]["valid"] is True


MALFORMED = [
    "[]",
    "{}",
    '{"policy": []}',
    '{"policy": {"type": 0}}',
    '{"policy": {"name": "m", "type": [1], "latest_version": 1}}',
    '{"policy": {"name": "m", "type": 0, "latest_version": 1, "keys": []}}',
    '{"policy": {"name": "m", "type": 0, "latest_version": 1, "keys": {"1": {"hmac_key": 5}}}}',
    '{"policy": {"name": "m", "type": 1, "latest_version": 1, "keys": {"1": {"hmac_key": "", "ec_d": 1}}}}',
    '{"policy": {"name": "m", "type": 0, "latest_version": 2, "keys": {}}, "archived_keys": {"keys": [7]}}',
    '{"policy": {"name": "", "type": 0, "latest_version": 1, "keys": {"1": {"hmac_key": "AA=="}}}}',
    '{"policy": {"name": "m", "type": 99, "latest_version": 1}}',
    '{"policy": {"name": "m", "type": 0, "derived": true, "kdf": 0, "latest_version": 1}}',
]


@pytest.mark.parametrize("document", MALFORMED)
def test_a_malformed_backup_is_a_400(root: httpx.Client, document: str) -> None:
    mount = f"backup{next(_COUNTER)}"
    assert root.post(f"/v1/sys/mounts/{mount}", json={"type": "transit"}).status_code == 204
    encoded = base64.b64encode(document.encode()).decode()
    answer = root.post(f"/v1/{mount}/restore", json={"backup": encoded})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0].startswith("invalid backup")
