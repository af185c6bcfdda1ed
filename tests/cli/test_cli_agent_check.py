"""`strongroom agent -config=... -check` run as a process: exit codes, output, and that it touches nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ISSUE_EXAMPLE = """\
vault {
  address = "https://vault.internal:8200"
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path   = "/etc/app/role_id"
      secret_id_file_path = "/etc/app/secret_id"
    }
  }

  sink "file" {
    config = {
      path = "/run/app/token"
      mode = 0600
    }
  }
}

template {
  source      = "/etc/app/config.ctmpl"
  destination = "/run/app/config.json"
  perms       = "0400"
  exec {
    command = ["systemctl", "reload", "app"]
  }
}
"""


def agent(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env["HOME"] = str(tmp_path)
    return subprocess.run(
        [sys.executable, "-m", "strongroom", "agent", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=30,
        check=False,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_a_valid_config_exits_0_and_prints_nothing(tmp_path: Path) -> None:
    config = write(tmp_path / "agent.hcl", ISSUE_EXAMPLE)
    result = agent(tmp_path, f"-config={config}", "-check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_the_json_form_and_flag_spellings_are_accepted(tmp_path: Path) -> None:
    doc = {
        "auto_auth": {
            "method": [{"type": "token_file", "config": {"token_file_path": "/t"}}],
            "sink": [{"type": "file", "config": {"path": "/s"}}],
        }
    }
    config = write(tmp_path / "agent.json", json.dumps(doc))
    result = agent(tmp_path, "-config", str(config), "--check")
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_notices_are_warnings_on_stderr_and_still_exit_0(tmp_path: Path) -> None:
    config = write(tmp_path / "agent.hcl", "disable_mlock = true\n" + ISSUE_EXAMPLE)
    result = agent(tmp_path, f"-config={config}", "-check")
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == (
        f"warning: {config}:1: 'disable_mlock' is accepted and ignored: "
        "strongroom's agent does not lock memory\n"
    )


def test_errors_exit_1_with_one_line_each(tmp_path: Path) -> None:
    text = ISSUE_EXAMPLE.replace('perms       = "0400"', 'perms       = "rw"').replace(
        "mode = 0600", 'mode = 0600\n      owner = "app"'
    )
    config = write(tmp_path / "agent.hcl", text + 'cache {\n  use_auto_auth_token = "often"\n}\n')
    result = agent(tmp_path, f"-config={config}", "-check")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == [
        f"warning: {config}:18: unknown key 'owner' in sink \"file\" config is ignored, "
        "as Vault Agent ignores it",
        f"{config}:26: template 'perms': 'rw' is not an octal file mode such as \"0640\"",
        f"{config}:32: cache 'use_auto_auth_token': can be either true/false/force, "
        "'often' is an invalid option",
    ]


def test_a_directory_and_repeated_flags_merge(tmp_path: Path) -> None:
    conf = tmp_path / "agent.d"
    conf.mkdir()
    write(conf / "10-auth.hcl", ISSUE_EXAMPLE.split("template {", maxsplit=1)[0])
    write(conf / "20-tmpl.json", json.dumps({"template": {"contents": "x", "destination": "/tmp/x"}}))
    extra = write(tmp_path / "extra.hcl", 'template {\n  contents = "y"\n}\n')
    ok = agent(tmp_path, f"-config={conf}", "-check")
    assert (ok.returncode, ok.stderr) == (0, "")
    bad = agent(tmp_path, f"-config={conf}", f"-config={extra}", "-check")
    assert (bad.returncode, bad.stderr) == (1, f"{extra}:1: template: 'destination' must be specified\n")


def test_missing_config_and_bad_flags_exit_1(tmp_path: Path) -> None:
    missing = agent(tmp_path, "-config=nope.hcl", "-check")
    assert (missing.returncode, missing.stderr) == (1, "nope.hcl: no such file or directory\n")
    none = agent(tmp_path, "-check")
    assert (none.returncode, none.stderr) == (
        1,
        "No configuration files found. Use -config=FILE or -config=DIR.\n",
    )
    unknown = agent(tmp_path, "-config=x.hcl", "-lint")
    assert unknown.returncode == 1
    assert "flag provided but not defined: -lint" in unknown.stderr


def test_without_check_the_runner_refuses_a_missing_template_source(tmp_path: Path) -> None:
    config = write(tmp_path / "agent.hcl", ISSUE_EXAMPLE)
    result = agent(tmp_path, f"-config={config}")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        "error: cannot read template source /etc/app/config.ctmpl: No such file or directory\n"
        "strongroom agent: exiting after a failure (see the log above)\n"
    )


@pytest.fixture
def listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)
    sock.setblocking(False)
    return sock


def test_check_touches_no_file_the_config_names_and_connects_nowhere(
    tmp_path: Path, listening: socket.socket
) -> None:
    world = tmp_path / "world"
    world.mkdir()
    (world / "role_id").write_text("role-123")
    (world / "secret_id").write_text("secret-456")
    (world / "out.json").write_text("old contents")
    (world / "tmpl.ctmpl").write_text("{{ . }}")
    os.utime(world / "out.json", (1_000_000_000, 1_000_000_000))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in world.iterdir()}
    port = listening.getsockname()[1]
    config = write(
        tmp_path / "agent.hcl",
        f"""\
pid_file = "{world}/agent.pid"
vault {{ address = "http://127.0.0.1:{port}" }}
auto_auth {{
  method "approle" {{
    config = {{
      role_id_file_path = "{world}/role_id"
      secret_id_file_path = "{world}/secret_id"
      remove_secret_id_file_after_reading = true
    }}
  }}
  sink "file" {{ config = {{ path = "{world}/sink/token" }} }}
}}
template {{
  source = "{world}/tmpl.ctmpl"
  destination = "{world}/out.json"
  perms = "0400"
}}
template {{
  contents = "x"
  destination = "{world}/new/dir/file"
}}
listener "unix" {{
  address = "{world}/agent.sock"
  tls_disable = true
}}
""",
    )
    result = agent(tmp_path, f"-config={config}", "-check")
    assert (result.returncode, result.stderr) == (0, "")
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns, p.stat().st_mode) for p in world.iterdir()}
    assert after == before
    with pytest.raises(BlockingIOError):
        listening.accept()
    listening.close()
