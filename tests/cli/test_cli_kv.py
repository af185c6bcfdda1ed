"""`strongroom kv ...` against a real server, on KV version 2 (the dev server's secret/) and version 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import CLI


@pytest.fixture
def kv1(cli: CLI, unique: str) -> str:
    """A fresh KV version 1 mount."""
    result = cli("secrets", "enable", f"-path={unique}", "-version=1", "kv")
    assert result.returncode == 0, result.stderr
    return unique


def test_put_then_get_prints_vault_tables(cli: CLI, unique: str) -> None:
    put = cli("kv", "put", f"secret/{unique}", "user=admin", "password=hunter2")
    assert put.returncode == 0, put.stderr
    lines = put.stdout.splitlines()
    path = f"secret/data/{unique}"
    assert lines[1] == path
    assert lines[0].strip("= ") == "Secret Path"
    assert lines[3] == "======= Metadata ======="
    assert "version            1" in lines

    got = cli("kv", "get", f"secret/{unique}")
    assert got.returncode == 0, got.stderr
    assert got.stdout.endswith(
        "====== Data ======\nKey         Value\n---         -----\npassword    hunter2\nuser        admin\n"
    )


def test_get_field_and_json(cli: CLI, unique: str) -> None:
    cli("kv", "put", f"secret/{unique}", "password=hunter2")
    field = cli("kv", "get", "-field=password", f"secret/{unique}")
    assert (field.returncode, field.stdout) == (0, "hunter2")
    as_json = json.loads(cli("kv", "get", "-format=json", f"secret/{unique}").stdout)
    assert list(as_json)[:6] == ["request_id", "lease_id", "lease_duration", "renewable", "data", "warnings"]
    assert as_json["data"]["data"] == {"password": "hunter2"}
    assert as_json["data"]["metadata"]["version"] == 1
    missing = cli("kv", "get", "-field=nope", f"secret/{unique}")
    assert (missing.returncode, missing.stderr) == (1, 'Field "nope" not present in map\n')


def test_mount_flag_addresses_the_same_secret(cli: CLI, unique: str) -> None:
    cli("kv", "put", "-mount=secret", f"app/{unique}", "a=1")
    assert cli("kv", "get", "-field=a", f"secret/app/{unique}").stdout == "1"
    assert cli("kv", "get", "--mount=secret", "--field=a", f"app/{unique}").stdout == "1"


def test_missing_secret_exits_2(cli: CLI, unique: str) -> None:
    result = cli("kv", "get", f"secret/{unique}")
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"No value found at secret/data/{unique}\n",
    )


def test_versions_patch_delete_undelete_destroy(cli: CLI, unique: str) -> None:
    secret = f"secret/{unique}"
    cli("kv", "put", secret, "a=1")
    cli("kv", "put", secret, "a=2")
    patched = cli("kv", "patch", secret, "b=3")
    assert patched.returncode == 0, patched.stderr
    current = json.loads(cli("kv", "get", "-format=json", secret).stdout)["data"]
    assert (current["data"], current["metadata"]["version"]) == ({"a": "2", "b": "3"}, 3)
    assert cli("kv", "get", "-version=1", "-field=a", secret).stdout == "1"

    deleted = cli("kv", "delete", secret)
    assert deleted.stdout == f"Success! Data deleted (if it existed) at: secret/data/{unique}\n"
    after = json.loads(cli("kv", "get", "-format=json", secret).stdout)["data"]
    assert after["data"] is None
    assert after["metadata"]["deletion_time"] != ""

    undeleted = cli("kv", "undelete", "-versions=3", secret)
    assert undeleted.stdout == f"Success! Data written to: secret/undelete/{unique}\n"
    assert cli("kv", "get", "-field=b", secret).stdout == "3"

    assert cli("kv", "destroy", "-versions=1", secret).returncode == 0
    versions = json.loads(cli("kv", "metadata", "get", "-format=json", secret).stdout)["data"]["versions"]
    assert versions["1"]["destroyed"] is True
    assert versions["2"]["destroyed"] is False


def test_undelete_without_versions_is_a_usage_error(cli: CLI, unique: str) -> None:
    result = cli("kv", "undelete", f"secret/{unique}")
    assert result.returncode == 1
    assert result.stderr == (
        'No versions provided, use the "-versions" flag to specify the version to undelete.\n'
    )


def test_cas_mismatch_is_an_api_error(cli: CLI, unique: str) -> None:
    assert cli("kv", "put", "-cas=0", f"secret/{unique}", "a=1").returncode == 0
    again = cli("kv", "put", "-cas=0", f"secret/{unique}", "a=1")
    assert again.returncode == 2
    assert again.stderr.startswith(f"Error writing data to secret/data/{unique}: Error making API request.")
    assert "Code: 400. Errors:" in again.stderr
    assert "check-and-set parameter did not match the current version" in again.stderr


def test_list_metadata_and_rollback(cli: CLI, unique: str) -> None:
    cli("kv", "put", f"secret/{unique}/one", "v=1")
    cli("kv", "put", f"secret/{unique}/one", "v=2")
    cli("kv", "put", f"secret/{unique}/two", "v=1")
    listed = cli("kv", "list", f"secret/{unique}")
    assert listed.stdout == "Keys\n----\none\ntwo\n"
    assert json.loads(cli("kv", "list", "-format=json", f"secret/{unique}").stdout) == ["one", "two"]

    put = cli(
        "kv", "metadata", "put", "-max-versions=5", "-custom-metadata=owner=ops", f"secret/{unique}/one"
    )
    assert put.stdout == f"Success! Data written to: secret/metadata/{unique}/one\n"
    meta = cli("kv", "metadata", "get", f"secret/{unique}/one").stdout
    assert "custom_metadata             map[owner:ops]" in meta
    assert "max_versions                5" in meta
    assert "====== Version 2 ======" in meta

    rolled = cli("kv", "rollback", "-version=1", f"secret/{unique}/one")
    assert rolled.returncode == 0, rolled.stderr
    assert "version            3" in rolled.stdout
    assert cli("kv", "get", "-field=v", f"secret/{unique}/one").stdout == "1"

    gone = cli("kv", "metadata", "delete", f"secret/{unique}/one")
    assert gone.stdout == f"Success! Data deleted (if it existed) at: secret/metadata/{unique}/one\n"
    assert cli("kv", "get", f"secret/{unique}/one").returncode == 2


def test_kv_version_1_mount(cli: CLI, kv1: str) -> None:
    put = cli("kv", "put", f"{kv1}/db", "password=s3cret")
    assert put.stdout == f"Success! Data written to: {kv1}/db\n"
    got = cli("kv", "get", f"{kv1}/db")
    assert got.stdout == "====== Data ======\nKey         Value\n---         -----\npassword    s3cret\n"
    assert cli("kv", "list", kv1).stdout == "Keys\n----\ndb\n"
    patched = cli("kv", "patch", f"{kv1}/db", "a=b")
    assert (patched.returncode, patched.stderr) == (
        2,
        "K/V engine mount must be version 2 for patch support\n",
    )
    assert cli("kv", "delete", f"{kv1}/db").stdout == f"Success! Data deleted (if it existed) at: {kv1}/db\n"
    assert cli("kv", "get", f"{kv1}/db").returncode == 2


def test_values_from_file_and_stdin(cli: CLI, unique: str, tmp_path: Path) -> None:
    source = tmp_path / "cert.pem"
    source.write_text("line one\nline two\n")
    assert cli("kv", "put", f"secret/{unique}", f"cert=@{source}", "pin=-", stdin="1234").returncode == 0
    data = json.loads(cli("kv", "get", "-format=json", f"secret/{unique}").stdout)["data"]["data"]
    assert data == {"cert": "line one\nline two\n", "pin": "1234"}
