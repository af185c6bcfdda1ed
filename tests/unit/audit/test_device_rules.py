"""What a file audit device may not do (HCSEC-2025-14): make a file executable, append to a file that is
not an audit log, write where the server's code or config lives, or carry a prefix the server did not
allow or one that starts a line of its own."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

import strongroom
from strongroom.audit import AuditBroker, AuditFailedError, AuditInput, DeviceSpec, validate_spec
from strongroom.audit.broker import PREFIX_REFUSED
from strongroom.audit.devices import create_device, open_device
from strongroom.errors import InvalidRequestError
from strongroom.logical import InmemStorage, Operation, Request

AUDIT = AuditInput(request=Request(operation=Operation.READ, path="sys/health"))


def spec(target: Path | str, **options: str) -> DeviceSpec:
    return DeviceSpec(path="f", type="file", options={"file_path": str(target), **options})


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("asked", ["0755", "0777", "0711", "0700"])
def test_an_asked_mode_never_grants_execute(tmp_path: Path, asked: str) -> None:
    log = tmp_path / "audit.log"
    open_device(create_device("file", {"file_path": str(log), "mode": asked}))
    assert mode_of(log) == int(asked, 8) & ~0o111


def test_an_existing_executable_log_loses_its_execute_bits_even_with_mode_0000(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_bytes(b"")
    log.chmod(0o750)
    open_device(create_device("file", {"file_path": str(log), "mode": "0000"}))
    assert mode_of(log) == 0o640


@pytest.mark.parametrize(
    "directory",
    [
        "/usr/local/bin",
        "/etc",
        "/bin",
        str(Path(strongroom.__file__).parent),
        sys.prefix,
        str(Path(sys.executable).parent),
    ],
)
def test_no_file_under_the_servers_code(directory: str) -> None:
    with pytest.raises(InvalidRequestError, match="which holds code or configuration"):
        create_device("file", {"file_path": f"{directory}/evil"})
    assert not Path(f"{directory}/evil").exists()


def test_no_file_in_a_config_directory_nor_through_a_link_into_one(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    with pytest.raises(InvalidRequestError, match=f"lies under {config}"):
        create_device("file", {"file_path": str(config / "server.hcl")}, (str(config),))
    link = tmp_path / "link"
    link.symlink_to(Path(sys.prefix) / "bin")
    with pytest.raises(InvalidRequestError, match="which holds code or configuration"):
        create_device("file", {"file_path": str(link / "activate")})


@pytest.mark.parametrize("name", [".bashrc", ".ssh/authorized_keys", ".config/autostart/x.desktop"])
def test_no_hidden_file_nor_one_reached_through_a_hidden_link(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidRequestError, match="hidden file or lies in a hidden directory"):
        create_device("file", {"file_path": str(tmp_path / name)})
    log = tmp_path / "audit.log"
    (tmp_path / ".profile").symlink_to(log)
    with pytest.raises(InvalidRequestError, match="hidden file"):
        create_device("file", {"file_path": str(tmp_path / ".profile")})
    # A ".." is not a hidden directory.
    (tmp_path / "sub").mkdir()
    open_device(create_device("file", {"file_path": str(tmp_path / "sub" / ".." / "audit.log")}))
    assert log.exists()


@pytest.mark.parametrize("target", ["/proc/sys/kernel/core_pattern", "/var/spool/cron/crontabs/root"])
def test_no_kernel_setting_or_scheduled_job(target: str) -> None:
    with pytest.raises(InvalidRequestError, match="which holds code or configuration"):
        create_device("file", {"file_path": target})


def test_an_existing_file_that_is_not_an_audit_log_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    for text in ("hello\n", '{"type": "request"}\n', '{"time": "x", "type": "request"}'):
        target.write_text(text)
        with pytest.raises(InvalidRequestError, match="exists and is not an audit log"):
            create_device("file", {"file_path": str(target)})
        assert target.read_text() == text


async def test_an_existing_audit_log_and_an_empty_file_are_appended_to(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    log = tmp_path / "audit.log"
    await broker.enable(spec(log))
    await broker.log_request(AUDIT)
    await broker.disable("f")
    empty = tmp_path / "empty.log"
    empty.touch()
    again = AuditBroker(InmemStorage(), allow_api_creation=True)
    await again.enable(spec(log))
    await again.enable(DeviceSpec(path="g", type="file", options={"file_path": str(empty)}))
    await again.log_request(AUDIT)
    assert len(log.read_bytes().splitlines()) == 2
    assert len(empty.read_bytes().splitlines()) == 1


async def test_a_prefix_needs_allow_audit_log_prefixing(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    with pytest.raises(InvalidRequestError, match=f"^{PREFIX_REFUSED}$"):
        await AuditBroker(InmemStorage(), allow_api_creation=True).enable(spec(log, prefix=""))
    with pytest.raises(InvalidRequestError, match=f"^{PREFIX_REFUSED}$"):
        validate_spec(spec(log, prefix="x"))
    assert not log.exists()
    allowed = AuditBroker(InmemStorage(), allow_api_creation=True, allow_prefixing=True)
    await allowed.enable(spec(log, prefix="@cee: "))
    await allowed.log_request(AUDIT)
    assert log.read_bytes().startswith(b'@cee: {"time"')
    # The prefixed log is recognised as an audit log when the device is enabled again.
    await allowed.disable("f")
    await allowed.enable(spec(log, prefix="@cee: "))


@pytest.mark.parametrize("prefix", ["#!/bin/sh\n", "a\rb", "\x1b[2J", "x\u2028y", "tab\t", "\u202e"])
async def test_a_prefix_never_holds_a_control_character(tmp_path: Path, prefix: str) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True, allow_prefixing=True)
    with pytest.raises(InvalidRequestError, match="prefix cannot contain control characters"):
        await broker.enable(spec(tmp_path / "audit.sh", prefix=prefix, mode="0755"))
    assert not (tmp_path / "audit.sh").exists()


async def test_a_stored_device_refused_now_records_nothing_and_fails_closed(tmp_path: Path) -> None:
    storage = InmemStorage()
    script = tmp_path / "run.sh"
    allowed = AuditBroker(storage, allow_api_creation=True, allow_prefixing=True)
    await allowed.enable(spec(script, prefix="echo "))
    allowed.close()
    os.truncate(script, 0)
    # The same stored table, loaded by a server that does not allow prefixes.
    strict = AuditBroker(storage)
    await strict.load()
    assert list(strict.list()) == ["f/"]
    with pytest.raises(AuditFailedError):
        await strict.log_request(AUDIT)
    assert script.read_bytes() == b""
    assert strict.counters()["f/"].last_failure == PREFIX_REFUSED
