"""The seal configuration: Vault's validation wording and the plaintext record."""

from __future__ import annotations

import orjson
import pytest

from strongroom.errors import InvalidRequestError, StorageError
from strongroom.physical.inmem import InmemBackend
from strongroom.seal.config import SealConfig, load_seal_config, store_seal_config


@pytest.mark.parametrize(
    ("shares", "threshold", "message"),
    [
        (0, 1, "shares must be at least one"),
        (1, 0, "threshold must be at least one"),
        (3, 1, "threshold must be greater than one for multiple shares"),
        (256, 2, "shares must be less than 256"),
        (3, 4, "threshold cannot be larger than shares"),
    ],
)
def test_validation_matches_vault(shares: int, threshold: int, message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        SealConfig(secret_shares=shares, secret_threshold=threshold).validate()
    assert caught.value.errors == (f"invalid seal configuration: {message}",)


@pytest.mark.parametrize(("shares", "threshold"), [(1, 1), (5, 3), (255, 255), (2, 2)])
def test_valid_configurations(shares: int, threshold: int) -> None:
    SealConfig(secret_shares=shares, secret_threshold=threshold).validate()


def test_only_shamir() -> None:
    with pytest.raises(InvalidRequestError, match="unsupported seal type 'awskms'"):
        SealConfig(type="awskms", secret_shares=1, secret_threshold=1).validate()


async def test_stored_as_plaintext_json() -> None:
    physical = InmemBackend()
    assert await load_seal_config(physical) is None
    config = SealConfig(secret_shares=5, secret_threshold=3)
    await store_seal_config(physical, config)
    assert orjson.loads(await physical.get("core/seal-config") or b"") == {
        "type": "shamir",
        "secret_shares": 5,
        "secret_threshold": 3,
        "nonce": "",
    }
    assert await load_seal_config(physical) == config


@pytest.mark.parametrize("raw", [b"garbage", b"[]", b'{"type": "shamir"}', b'{"type":1,"secret_shares":"x"}'])
def test_malformed_record(raw: bytes) -> None:
    with pytest.raises(StorageError, match="stored seal configuration is malformed"):
        SealConfig.from_json(raw)
