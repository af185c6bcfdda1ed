"""The SSH engine in the in-process harness: where the CA key lives, and what answers never carry."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock


@pytest.fixture
async def ssh() -> BackendHarness:
    return await BackendHarness.create(SECRETS_ENGINES["ssh"], "ssh", clock=ManualClock(1_700_000_000.0))


async def test_the_ca_private_key_stays_in_its_record(ssh: BackendHarness) -> None:
    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    written = await ssh.write("config/ca", {"public_key": public.decode(), "private_key": private})
    assert written is not None
    assert private not in repr(written)
    read = await ssh.read("config/ca")
    assert read is not None
    assert read.data is not None
    assert set(read.data) == {"issuer_id", "issuer_name", "public_key"}
    assert list(ssh.storage.data) == ["config/ca"]
    # The third line of an OpenSSH key's body holds key material (the first ones are a fixed header).
    body = private.split("\n")[3]
    assert body.encode() in ssh.storage.data["config/ca"]
    await ssh.write("roles/r", {"key_type": "ca", "allow_user_certificates": True, "allowed_users": "*"})
    issued = await ssh.write("issue/r", {"key_type": "ed25519", "valid_principals": "a"})
    assert issued is not None
    assert issued.data is not None
    assert body not in repr(issued.data)
    # The issued key is in the answer only, never stored.
    issued_body = str(issued.data["private_key"]).split("\n")[3]
    assert all(issued_body.encode() not in value for value in ssh.storage.data.values())


async def test_weak_and_unknown_ca_keys_are_refused(ssh: BackendHarness) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await ssh.write("config/ca", {"key_type": "rsa", "key_bits": 1024})
    assert caught.value.errors == ("refusing to generate weak rsa key: 1024 bits < 2048 bits",)
    with pytest.raises(InvalidRequestError) as caught:
        await ssh.write("config/ca", {"key_type": "dsa"})
    assert caught.value.errors == ("unknown ssh key pair algorithm: dsa",)
