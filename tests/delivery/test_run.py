"""`strongroom run`: secrets on a private tmpfs at /run/secrets, visible only inside the command's mount
namespace, never in its environment or argv, and gone when it exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from strongroom.delivery import namespace
from strongroom.delivery.namespace import NamespaceUnavailable
from tests.delivery.conftest import Strongroom

try:
    namespace.check_available()
    UNAVAILABLE = ""
except NamespaceUnavailable as exc:
    UNAVAILABLE = str(exc)

pytestmark = pytest.mark.skipif(bool(UNAVAILABLE), reason=f"no private mount namespace here: {UNAVAILABLE}")

VALUE = "run-s3cr3t-value"

# Prints what it sees as JSON, then waits for a line on stdin so the test can look from outside meanwhile.
PROBE = textwrap.dedent(
    """
    import json, os, sys
    path = os.environ["{variable}"]
    info = os.stat(path)
    top = os.stat("/run/secrets")
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        open(path, "ab")
        writable = True
    except OSError:
        writable = False
    print(json.dumps({{
        "pid": os.getpid(), "path": path, "mode": oct(info.st_mode & 0o7777), "uid": info.st_uid,
        "gid": info.st_gid, "dir_mode": oct(top.st_mode & 0o7777), "data": data.hex(),
        "environ": sorted(os.environ), "writable": writable, "listing": sorted(os.listdir("/run/secrets")),
    }}), flush=True)
    sys.stdin.readline()
    sys.exit({code})
    """
)


def _create(strongroom: Strongroom, name: str, value: bytes) -> None:
    created = strongroom("secret", "create", name, "-")
    _, err = created.communicate(value, timeout=30)
    assert created.returncode == 0, err


def _probe(variable: str, code: int = 0) -> list[str]:
    return ["--", sys.executable, "-c", PROBE.format(variable=variable, code=code)]


def test_secret_is_visible_only_inside_and_gone_after(strongroom: Strongroom, unique: str) -> None:
    _create(strongroom, unique, VALUE.encode())
    before = sorted(os.listdir("/run/secrets")) if os.path.isdir("/run/secrets") else None
    running = strongroom("run", f"-secret={unique}", *_probe(f"{unique.upper()}_FILE", code=7))
    assert running.stdout is not None
    line = running.stdout.readline()
    assert line, running.stderr.read() if running.stderr else ""
    seen = json.loads(line)
    assert seen["path"] == f"/run/secrets/{unique}"
    assert (seen["mode"], seen["uid"], seen["gid"], seen["dir_mode"]) == ("0o444", 0, 0, "0o755")
    assert bytes.fromhex(seen["data"]) == VALUE.encode()
    assert seen["writable"] is False
    assert seen["listing"] == [unique]
    assert f"{unique.upper()}_FILE" in seen["environ"]
    assert "STRONGROOM_TOKEN" not in seen["environ"]
    # From outside the namespace, while the command still runs: no file, and no value in its process.
    assert not os.path.exists(f"/run/secrets/{unique}")
    for part in ("environ", "cmdline"):
        assert VALUE.encode() not in Path(f"/proc/{seen['pid']}/{part}").read_bytes()
    _, err = running.communicate(b"\n", timeout=30)
    assert running.returncode == 7, err
    after = sorted(os.listdir("/run/secrets")) if os.path.isdir("/run/secrets") else None
    assert after == (before or [])
    assert not os.path.exists(f"/run/secrets/{unique}")


def test_target_owner_mode_and_binary_value(strongroom: Strongroom, unique: str) -> None:
    _create(strongroom, unique, b"\xff\x00bin")
    spec = f"-secret={unique},target=renamed,uid=1234,gid=5678,mode=0400"
    running = strongroom("run", spec, *_probe(f"{unique.upper()}_FILE"))
    out, err = running.communicate(b"\n", timeout=30)
    assert running.returncode == 0, err
    seen = json.loads(out)
    assert seen["path"] == "/run/secrets/renamed"
    assert (seen["mode"], seen["uid"], seen["gid"]) == ("0o400", 1234, 5678)
    assert bytes.fromhex(seen["data"]) == b"\xff\x00bin"


def test_app_side_helper_reads_through_the_file_variable(strongroom: Strongroom, unique: str) -> None:
    name = f"{unique}-db.pass"
    _create(strongroom, name, VALUE.encode())
    script = f"from strongroom import secrets; print(secrets.read({name!r}) == {VALUE!r})"
    running = strongroom("run", f"-secret={name},target=elsewhere", "--", sys.executable, "-c", script)
    out, err = running.communicate(timeout=30)
    assert (running.returncode, out) == (0, b"True\n"), err


def test_missing_secret_starts_nothing(strongroom: Strongroom, unique: str) -> None:
    running = strongroom("run", f"-secret={unique}", "--", "sh", "-c", "echo started")
    out, err = running.communicate(timeout=30)
    assert (running.returncode, out, err) == (1, b"", f"Error: No such secret: {unique}\n".encode())


def test_bad_requests_and_commands(strongroom: Strongroom, unique: str) -> None:
    outside = strongroom("run", f"-secret={unique},target=/etc/x", "--", "true")
    assert outside.communicate(timeout=30)[1] == (
        b"invalid argument for \"--secret\" flag: invalid target '/etc/x': must be a file in /run/secrets\n"
    )
    assert outside.returncode == 1
    _create(strongroom, unique, b"v")
    missing = strongroom("run", f"-secret={unique}", "--", f"/nonexistent/{unique}")
    err = missing.communicate(timeout=30)[1]
    assert (missing.returncode, err) == (
        127,
        f"Error: exec: /nonexistent/{unique}: No such file or directory\n".encode(),
    )


def test_namespace_refusal_is_one_line_and_exit_1(strongroom_env: dict[str, str], unique: str) -> None:
    # Without CAP_SYS_ADMIN (an unprivileged user via setpriv) unshare fails with EPERM.
    if not Path("/usr/bin/setpriv").exists():
        pytest.skip("setpriv is not installed")
    result = subprocess.run(
        [
            "/usr/bin/setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "strongroom",
            "run",
            f"-secret={unique}",
            "--",
            "true",
        ],
        env=strongroom_env,
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr == (
        b"Error: cannot create a private mount namespace for /run/secrets (Operation not permitted); "
        b"strongroom run needs root or CAP_SYS_ADMIN\n"
    )


def test_sigterm_is_forwarded_and_the_exit_status_reports_it(strongroom: Strongroom, unique: str) -> None:
    script = "import sys, time; print('ready', flush=True); time.sleep(30)"
    running = strongroom("run", "--", sys.executable, "-c", script)
    assert running.stdout is not None
    assert running.stdout.readline() == b"ready\n"
    running.send_signal(signal.SIGTERM)
    running.communicate(timeout=30)
    assert running.returncode == 128 + signal.SIGTERM


def test_the_command_gets_default_signal_dispositions(strongroom: Strongroom) -> None:
    # SigIgn in /proc/self/status is the mask of ignored signals; SIGPIPE is bit 13 (value 1 << 12).
    running = strongroom("run", "--", "sh", "-c", "grep SigIgn /proc/self/status")
    out, err = running.communicate(timeout=30)
    assert running.returncode == 0, err
    assert int(out.split()[1], 16) & (1 << (signal.SIGPIPE - 1)) == 0
