"""`strongroom.secrets`, the application side: $NAME_FILE first, then /run/secrets/NAME."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom import secrets


def test_file_variable_names() -> None:
    assert secrets.file_variable("db-pass.v2") == "DB_PASS_V2_FILE"
    assert secrets.file_variable("apiKey") == "APIKEY_FILE"


def test_reads_the_file_the_variable_names(tmp_path: Path) -> None:
    path = tmp_path / "anything"
    path.write_bytes("h\u00e9llo".encode())
    environ = {"DB_PASS_FILE": str(path)}
    assert secrets.read("db-pass", environ) == "h\u00e9llo"
    assert secrets.read_bytes("db-pass", environ) == "h\u00e9llo".encode()


def test_errors_name_the_paths_never_the_value(tmp_path: Path) -> None:
    with pytest.raises(secrets.SecretUnavailable) as unset:
        secrets.read("nope-x1", {})
    assert str(unset.value) == (
        "secret 'nope-x1' is not available: tried $NOPE_X1_FILE (unset), then /run/secrets/nope-x1: "
        "No such file or directory"
    )
    missing = tmp_path / "gone"
    with pytest.raises(secrets.SecretUnavailable) as named:
        secrets.read("a", {"A_FILE": str(missing)})
    assert (
        str(named.value) == f"secret 'a' is not available: tried $A_FILE={missing}: No such file or directory"
    )
    binary = tmp_path / "bin"
    binary.write_bytes(b"\xffsecretbytes")
    with pytest.raises(secrets.SecretUnavailable) as undecodable:
        secrets.read("b", {"B_FILE": str(binary)})
    assert "secretbytes" not in str(undecodable.value)
    assert str(undecodable.value) == "secret 'b' is not UTF-8 text; use read_bytes"
