"""Reading static seal keys from config: inline hex or base64, files, environment variables."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from strongroom.errors import ConfigError
from strongroom.seal.static import StaticKey, load_static_keys

KEY = bytes(range(32))


def test_inline_hex_and_base64_keys() -> None:
    keys = load_static_keys(
        {
            "current_key_id": "new",
            "current_key": KEY.hex(),
            "previous_key_id": "old",
            "previous_key": base64.b64encode(KEY[::-1]).decode(),
        }
    )
    assert keys.current == StaticKey("new", KEY)
    assert keys.by_id("old") == StaticKey("old", KEY[::-1])
    assert keys.by_id("other") is None
    assert KEY.hex() not in repr(keys)


def test_a_raw_key_file_and_an_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "unseal_key"
    raw.write_bytes(KEY)
    assert load_static_keys({"current_key_id": "1", "current_key": f"file://{raw}"}).current.key == KEY
    text = tmp_path / "unseal_key.txt"
    text.write_text(KEY.hex() + "\n")
    assert load_static_keys({"current_key_id": "1", "current_key": f"file://{text}"}).current.key == KEY
    monkeypatch.setenv("UNSEAL_KEY", base64.b64encode(KEY).decode())
    assert load_static_keys({"current_key_id": "1", "current_key": "env://UNSEAL_KEY"}).current.key == KEY


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs current_key_id and current_key"),
        ({"current_key_id": "1"}, "current_key must be a non-empty string"),
        ({"current_key": KEY.hex()}, "current_key_id must be a non-empty string"),
        ({"current_key_id": "1", "current_key": "abcd"}, "the key must be 32 bytes"),
        ({"current_key_id": "1", "current_key": "env://NOT_SET_ANYWHERE_X"}, "NOT_SET_ANYWHERE_X is not set"),
        ({"current_key_id": "1", "current_key": "file:///nonexistent/key"}, "cannot read /nonexistent/key"),
        ({"current_key_id": "1", "current_key": KEY.hex(), "colour": "red"}, "unknown key 'colour'"),
        (
            {
                "current_key_id": "1",
                "current_key": KEY.hex(),
                "previous_key_id": "1",
                "previous_key": KEY.hex(),
            },
            "previous_key_id must differ",
        ),
    ],
)
def test_unusable_keys_are_refused_without_showing_them(options: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_static_keys(options)
    assert KEY.hex() not in str(caught.value)
