"""`strongroom audit ...` against strongroom and OpenBao (each its own dev server, since audit devices
change what every request does), compared byte for byte with `bao` wherever bao has the command.

Both refuse audit devices made through the API unless their config sets unsafe_allow_api_audit_creation.
Invariant checked here: the plaintext given to `audit hash` / `audit search` never reaches stdout or stderr.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.dual import Run, api, run_bao, run_strongroom, same
from tests.servers import API_AUDIT, RunningServer, bao_dev_server, strongroom_dev_server

SECRET = "correct horse battery staple"


@pytest.fixture(scope="module", params=["strongroom", "openbao"])
def audit_target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    workdir = tmp_path_factory.mktemp(f"audit-{request.param}")
    start = strongroom_dev_server if request.param == "strongroom" else bao_dev_server
    with start(workdir, config=API_AUDIT) as server:
        yield server


@pytest.fixture
def strongroom(
    audit_target: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Run:
    return run_strongroom(audit_target.address, monkeypatch, capsys, tmp_path)


@pytest.fixture
def bao_cli(audit_target: RunningServer, tmp_path: Path) -> Run:
    return run_bao(audit_target.address, tmp_path / "bao-home")


@pytest.fixture
def device(audit_target: RunningServer, tmp_path: Path, unique: str) -> Iterator[tuple[str, Path]]:
    """A file audit device enabled through the API (path, log file), disabled afterwards."""
    log = tmp_path / "audit.log"
    api(audit_target, "PUT", f"sys/audit/{unique}", {"type": "file", "options": {"file_path": str(log)}})
    yield f"{unique}/", log
    api(audit_target, "DELETE", f"sys/audit/{unique}")


def test_enable_list_disable_match_bao(strongroom: Run, bao_cli: Run, tmp_path: Path, unique: str) -> None:
    for args in (("audit", "list"), ("audit", "list", "-detailed"), ("audit", "list", "-format=json")):
        same(strongroom(*args), bao_cli(*args))
    empty = strongroom("audit", "list")
    assert (empty.code, empty.out) == (2, "No audit devices are enabled.\n")
    log = tmp_path / "a.log"
    enabled = strongroom(
        "audit", "enable", f"-path={unique}", "-description=main log", "file", f"file_path={log}"
    )
    assert (enabled.code, enabled.out) == (0, f"Success! Enabled the file audit device at: {unique}/\n")
    listed = strongroom("audit", "list", "-detailed")
    assert re.split(" {4,}", listed.out.splitlines()[2]) == [
        f"{unique}/", "file", "main log", "replicated", f"file_path={log}",
    ]  # fmt: skip
    for flags in ((), ("-detailed",), ("-format=json",), ("-format=yaml",)):
        same(strongroom("audit", "list", *flags), bao_cli("audit", "list", *flags))
    assert json.loads(strongroom("audit", "list", "-format=json").out) == {
        f"{unique}/": {
            "type": "file", "description": "main log", "options": {"file_path": str(log)}, "local": False,
            "path": f"{unique}/",
        }
    }  # fmt: skip
    taken = strongroom("audit", "enable", f"-path={unique}", "file", f"file_path={log}")
    assert taken.code == 2
    assert taken.err.startswith("Error enabling audit device: Error making API request.")
    disabled = strongroom("audit", "disable", unique)
    assert disabled.out == f"Success! Disabled audit device (if it was enabled) at: {unique}/\n"
    same(strongroom("audit", "list"), bao_cli("audit", "list"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("audit", "enable"),
            "Error enabling audit device: audit type missing. Valid types include 'file', 'socket' and "
            "'syslog'.\n",
        ),
        (("audit", "disable"), "Not enough arguments (expected 1, got 0)\n"),
        (("audit", "disable", "a", "b"), "Too many arguments (expected 1, got 2)\n"),
        (("audit", "list", "x"), "Too many arguments (expected 0, got 1)\n"),
    ],
)
def test_argument_errors_exit_1_like_bao(
    strongroom: Run, bao_cli: Run, args: tuple[str, ...], message: str
) -> None:
    ours = strongroom(*args)
    assert (ours.code, ours.out, ours.err) == (1, "", message)
    same(ours, bao_cli(*args))


def test_hash_reads_the_value_from_stdin(
    strongroom: Run, audit_target: RunningServer, device: tuple[str, Path]
) -> None:
    path, _ = device
    expected = api(audit_target, "PUT", f"sys/audit-hash/{path.rstrip('/')}", {"input": SECRET}).json()[
        "data"
    ]["hash"]
    assert expected.startswith("hmac-sha256:")
    hashed = strongroom("audit", "hash", path, "-", stdin=SECRET + "\n")
    assert (hashed.code, hashed.out, hashed.err) == (0, expected + "\n", "")
    as_json = strongroom("audit", "hash", "-format=json", path.rstrip("/"), "-", stdin=SECRET)
    assert json.loads(as_json.out)["data"] == {"hash": expected}


def test_search_prints_the_entries_holding_the_value(
    strongroom: Run, audit_target: RunningServer, device: tuple[str, Path], unique: str
) -> None:
    path, log = device
    api(audit_target, "PUT", f"secret/data/{unique}", {"data": {"password": SECRET}})
    found = strongroom("audit", "search", f"-path={path}", "-", str(log), stdin=SECRET + "\n")
    assert (found.code, found.err) == (0, "")
    entries = [json.loads(line) for line in found.out.splitlines()]
    assert [(entry["type"], entry["request"]["path"]) for entry in entries] == [
        ("request", f"secret/data/{unique}"),
        ("response", f"secret/data/{unique}"),
    ]
    assert entries[0]["request"]["data"]["data"]["password"].startswith("hmac-sha256:")
    assert SECRET not in found.out
    again = strongroom("audit", "search", f"-path={path}", "-", str(log), stdin=SECRET)
    assert again.out == found.out, "the hash lookups of the first search are not matches"


def test_search_exit_codes_and_no_plaintext_in_errors(
    strongroom: Run, device: tuple[str, Path], tmp_path: Path
) -> None:
    path, log = device
    missing = strongroom("audit", "search", f"-path={path}", "-", str(log), stdin="never written anywhere")
    assert (missing.code, missing.out, missing.err) == (1, "", "")
    unknown_device = strongroom("audit", "search", "-path=nope", "-", str(log), stdin=SECRET)
    assert unknown_device.code == 2
    assert unknown_device.err.startswith(
        "Error hashing with the audit device at nope/: Error making API request."
    )
    no_file = strongroom("audit", "search", f"-path={path}", "-", str(tmp_path / "none.log"), stdin=SECRET)
    assert (no_file.code, no_file.err) == (
        2,
        f"Error reading {tmp_path / 'none.log'}: No such file or directory\n",
    )
    no_files = strongroom("audit", "search", "-", stdin=SECRET)
    assert (no_files.code, no_files.err) == (1, "Not enough arguments: give at least one audit log FILE\n")
    for outcome in (missing, unknown_device, no_file, no_files):
        assert SECRET not in outcome.out + outcome.err
