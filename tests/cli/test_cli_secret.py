"""`strongroom secret create|ls|inspect|rm` against the dev server: Docker's rules, output, and no values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from strongroom.cli.secret import human_duration, tabwriter
from tests.cli.conftest import CLI

VALUE = "s3cr3t-value-never-printed"


def _no_value(*outputs: str) -> None:
    for output in outputs:
        assert VALUE not in output


def test_create_from_stdin_prints_a_docker_style_id(cli: CLI, unique: str) -> None:
    created = cli("secret", "create", "-l", "env=prod", "--label", "team=ops", unique, "-", stdin=VALUE)
    assert created.returncode == 0, created.stderr
    assert re.fullmatch(r"[a-z0-9]{25}\n", created.stdout)
    _no_value(created.stdout, created.stderr)


def test_inspect_prints_docker_json_without_the_value(cli: CLI, unique: str, tmp_path: Path) -> None:
    source = tmp_path / "value.txt"
    source.write_text(VALUE)
    secret_id = cli("secret", "create", "-label=env=prod", unique, str(source)).stdout.strip()
    by_name = cli("secret", "inspect", unique)
    assert by_name.returncode == 0, by_name.stderr
    _no_value(by_name.stdout, by_name.stderr)
    assert by_name.stdout.startswith('[\n    {\n        "ID": ')
    [document] = json.loads(by_name.stdout)
    assert list(document) == ["ID", "Version", "CreatedAt", "UpdatedAt", "Spec"]
    assert document["ID"] == secret_id
    assert document["Version"] == {"Index": 1}
    assert document["Spec"] == {"Name": unique, "Labels": {"env": "prod"}}
    assert document["CreatedAt"].endswith("Z")
    by_id = cli("secret", "inspect", secret_id)
    assert json.loads(by_id.stdout) == [document]


def test_inspect_of_a_missing_secret(cli: CLI, unique: str) -> None:
    result = cli("secret", "inspect", unique)
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "[]\n",
        f"Error: No such secret: {unique}\n",
    )


def test_ls_and_list_show_the_docker_table(cli: CLI, unique: str) -> None:
    secret_id = cli("secret", "create", unique, "-", stdin=VALUE).stdout.strip()
    for command in ("ls", "list"):
        listed = cli("secret", command)
        assert listed.returncode == 0, listed.stderr
        _no_value(listed.stdout)
        lines = listed.stdout.splitlines()
        assert re.fullmatch(r"ID {26}NAME +DRIVER +CREATED +UPDATED", lines[0])
        [row] = [line for line in lines if unique in line]
        assert re.fullmatch(
            rf"{secret_id} {{3}}{unique} +(Less than a second|\d+ seconds?) ago +\S.* ago", row
        )
    quiet = cli("secret", "ls", "-q")
    assert secret_id in quiet.stdout.splitlines()


def test_create_twice_is_refused_as_docker_refuses(cli: CLI, unique: str) -> None:
    assert cli("secret", "create", unique, "-", stdin="one").returncode == 0
    again = cli("secret", "create", unique, "-", stdin="two")
    assert (again.returncode, again.stdout) == (1, "")
    assert again.stderr == (
        f"Error response from daemon: rpc error: code = AlreadyExists desc = secret {unique} already exists\n"
    )


@pytest.mark.parametrize("name", ["_bad", ".bad", "bad-", "a/b", "x" * 65, "sp ace"])
def test_invalid_names_are_refused(cli: CLI, name: str) -> None:
    result = cli("secret", "create", name, "-", stdin=VALUE)
    assert result.returncode == 1
    assert result.stderr == (
        "Error response from daemon: rpc error: code = InvalidArgument desc = invalid name, only 64 "
        "[a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]\n"
    )


@pytest.mark.parametrize("size", [0, 500 * 1024])
def test_data_size_limits(cli: CLI, unique: str, tmp_path: Path, size: int) -> None:
    source = tmp_path / "data"
    source.write_bytes(b"a" * size)
    result = cli("secret", "create", unique, str(source))
    assert (result.returncode, result.stderr) == (
        1,
        "Error response from daemon: rpc error: code = InvalidArgument desc = "
        "secret data must be larger than 0 and less than 512000 bytes\n",
    )


def test_largest_allowed_and_64_character_names(cli: CLI, unique: str, tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.write_bytes(b"a" * (500 * 1024 - 1))
    name = (unique + "a" * 64)[:64]
    assert cli("secret", "create", name, str(source)).returncode == 0


def test_bad_label_and_missing_file(cli: CLI, unique: str, tmp_path: Path) -> None:
    label = cli("secret", "create", "-l", "novalue", unique, "-", stdin=VALUE)
    assert (label.returncode, label.stderr) == (
        1,
        'invalid argument "novalue" for "-l, --label" flag: bad attribute format: novalue\n',
    )
    missing = cli("secret", "create", unique, str(tmp_path / "nope"))
    assert (missing.returncode, missing.stderr) == (
        1,
        f"open {tmp_path / 'nope'}: no such file or directory\n",
    )


def test_rm_removes_by_name_and_id_and_reports_missing(cli: CLI, unique: str) -> None:
    cli("secret", "create", f"{unique}a", "-", stdin=VALUE)
    second_id = cli("secret", "create", f"{unique}b", "-", stdin=VALUE).stdout.strip()
    removed = cli("secret", "rm", f"{unique}a", second_id, f"{unique}c")
    assert removed.returncode == 1
    assert removed.stdout == f"{unique}a\n{second_id}\n"
    assert removed.stderr == f"Error: No such secret: {unique}c\n"
    assert cli("secret", "inspect", f"{unique}a").returncode == 1
    assert cli("secret", "create", f"{unique}a", "-", stdin="again").returncode == 0


def test_binary_values_are_stored_base64(cli: CLI, unique: str, tmp_path: Path) -> None:
    source = tmp_path / "binary"
    source.write_bytes(b"\xff\x00\xfe")
    assert cli("secret", "create", unique, str(source)).returncode == 0
    stored = json.loads(cli("kv", "get", "-format=json", f"docker-secrets/{unique}").stdout)
    assert stored["data"]["data"] == {"value": "/wD+", "encoding": "base64"}


def test_human_duration_and_tabwriter_match_docker() -> None:
    assert [human_duration(s) for s in (0.5, 1, 59, 60, 3599, 5400, 7200, 86400 * 3, 86400 * 30)] == [
        "Less than a second",
        "1 second",
        "59 seconds",
        "About a minute",
        "59 minutes",
        "2 hours",
        "2 hours",
        "3 days",
        "4 weeks",
    ]
    assert tabwriter([("ID", "NAME", "X"), ("abc", "a-rather-long-name", "y")]) == (
        "ID        NAME                 X\nabc       a-rather-long-name   y"
    )
