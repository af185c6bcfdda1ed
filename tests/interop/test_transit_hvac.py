"""hvac's transit client (`client.secrets.transit.*`) against a real strongroom dev server, over HTTP.

Also checks the ACL meaning of encrypt's upsert: creating a key by encrypting needs "create".
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import hvac
import hvac.exceptions
import pytest

from tests.servers import RunningServer

HELLO = base64.b64encode(b"hello").decode()


@pytest.fixture
def transit(server: RunningServer) -> Iterator[tuple[hvac.Client, str]]:
    client = hvac.Client(url=server.address, token=server.root_token)
    mount = f"transit-{uuid.uuid4().hex[:8]}"
    client.sys.enable_secrets_engine("transit", path=mount)
    yield client, mount
    client.sys.disable_secrets_engine(mount)
    client.adapter.close()


def test_encrypt_rotate_decrypt_rewrap(transit: tuple[hvac.Client, str]) -> None:
    client, mount = transit
    t = client.secrets.transit
    t.create_key("app", mount_point=mount)
    sealed = t.encrypt_data("app", plaintext=HELLO, mount_point=mount)["data"]["ciphertext"]
    assert sealed.startswith("vault:v1:")
    t.rotate_key("app", mount_point=mount)
    assert t.read_key("app", mount_point=mount)["data"]["latest_version"] == 2
    assert t.decrypt_data("app", ciphertext=sealed, mount_point=mount)["data"]["plaintext"] == HELLO
    rewrapped = t.rewrap_data("app", ciphertext=sealed, mount_point=mount)["data"]["ciphertext"]
    assert rewrapped.startswith("vault:v2:")
    assert t.list_keys(mount_point=mount)["data"]["keys"] == ["app"]
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid ciphertext: no prefix"):
        t.decrypt_data("app", ciphertext="garbage", mount_point=mount)


def test_sign_verify_and_data_key(transit: tuple[hvac.Client, str]) -> None:
    client, mount = transit
    t = client.secrets.transit
    t.create_key("signer", key_type="ecdsa-p256", mount_point=mount)
    signature = t.sign_data("signer", hash_input=HELLO, mount_point=mount)["data"]["signature"]
    verified = t.verify_signed_data("signer", hash_input=HELLO, signature=signature, mount_point=mount)
    assert verified["data"]["valid"] is True
    t.create_key("dk", mount_point=mount)
    made = t.generate_data_key("dk", key_type="plaintext", mount_point=mount)["data"]
    opened = t.decrypt_data("dk", ciphertext=made["ciphertext"], mount_point=mount)["data"]["plaintext"]
    assert opened == made["plaintext"]
    assert (
        len(
            t.generate_random_bytes(n_bytes=16, output_format="hex", mount_point=mount)["data"][
                "random_bytes"
            ]
        )
        == 32
    )


def test_upsert_by_encrypt_needs_create(server: RunningServer, transit: tuple[hvac.Client, str]) -> None:
    client, mount = transit
    policy = f"transit-update-{uuid.uuid4().hex[:8]}"
    client.sys.create_or_update_policy(policy, f'path "{mount}/encrypt/*" {{ capabilities = ["update"] }}')
    token = client.auth.token.create(policies=[policy])["auth"]["client_token"]
    limited = hvac.Client(url=server.address, token=token)
    try:
        with pytest.raises(hvac.exceptions.Forbidden):
            limited.secrets.transit.encrypt_data("fresh", plaintext=HELLO, mount_point=mount)
        client.secrets.transit.create_key("fresh", mount_point=mount)
        sealed = limited.secrets.transit.encrypt_data("fresh", plaintext=HELLO, mount_point=mount)
        assert sealed["data"]["key_version"] == 1
    finally:
        limited.adapter.close()
        client.sys.delete_policy(policy)
