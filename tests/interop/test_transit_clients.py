"""Transit backup/restore and BYOK from real clients: hvac's backup_key/restore_key, and the reference
`bao transit import` / `import-version` commands importing the same key into strongroom and into OpenBao.
"""

from __future__ import annotations

import base64
import itertools
import os
from pathlib import Path

import httpx
import hvac
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli.dual import run_bao
from tests.servers import RunningServer

HELLO = "aGVsbG8="
_COUNTER = itertools.count()


def _mount(*servers: RunningServer) -> str:
    name = f"clients{next(_COUNTER)}"
    for server in servers:
        with server.client() as http:
            assert http.post(f"/v1/sys/mounts/{name}", json={"type": "transit"}).status_code == 204
    return name


def test_hvac_backs_up_and_restores_under_a_new_name(server: RunningServer) -> None:
    mount = _mount(server)
    client = hvac.Client(url=server.address, token=server.root_token)
    t = client.secrets.transit
    t.create_key("app", exportable=True, allow_plaintext_backup=True, mount_point=mount)
    sealed = t.encrypt_data("app", plaintext=HELLO, mount_point=mount)["data"]["ciphertext"]
    backup = t.backup_key("app", mount_point=mount)["data"]["backup"]
    t.restore_key(backup, name="copy", mount_point=mount)
    assert t.decrypt_data("copy", ciphertext=sealed, mount_point=mount)["data"]["plaintext"] == HELLO
    with pytest.raises(hvac.exceptions.InvalidRequest, match='key "copy" already exists'):
        t.restore_key(backup, name="copy", mount_point=mount)
    t.restore_key(backup, name="copy", force=True, mount_point=mount)
    client.adapter.close()


def test_bao_transit_import_brings_one_key_into_both(
    server: RunningServer, bao: RunningServer, tmp_path: Path
) -> None:
    mount = _mount(server, bao)
    first, second = os.urandom(32), os.urandom(32)
    signer = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for target in (server, bao):
        run = run_bao(target.address, tmp_path / "home")
        for args in (
            ("transit", "import", f"{mount}/keys/aes", base64.b64encode(first).decode(), "type=aes256-gcm96"),
            ("transit", "import-version", f"{mount}/keys/aes", base64.b64encode(second).decode()),
            ("transit", "import", f"{mount}/keys/ec", base64.b64encode(signer).decode(), "type=ecdsa-p256"),
        ):
            done = run(*args)
            assert done.code == 0, (target.address, args[1], done.err)
    with server.client() as ours, bao.client() as theirs:
        for source, sink in ((ours, theirs), (theirs, ours)):
            sealed = _data(source.post(f"/v1/{mount}/encrypt/aes", json={"plaintext": HELLO}))["ciphertext"]
            assert sealed.startswith("vault:v2:")
            assert (
                _data(sink.post(f"/v1/{mount}/decrypt/aes", json={"ciphertext": sealed}))["plaintext"]
                == HELLO
            )
            signature = _data(source.post(f"/v1/{mount}/sign/ec", json={"input": HELLO}))["signature"]
            verified = sink.post(f"/v1/{mount}/verify/ec", json={"input": HELLO, "signature": signature})
            assert _data(verified)["valid"] is True


def _data(answer: httpx.Response) -> dict[str, object]:
    assert answer.status_code == 200, answer.text
    data: dict[str, object] = answer.json()["data"]
    return data
