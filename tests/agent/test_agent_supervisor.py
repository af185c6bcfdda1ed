"""`strongroom agent` in process-supervisor mode (`env_template` + `exec`), run as a process against a server.

The child is a small shell script that records what it saw in files of the test's directory: its
variable, one line per start, and a marker when it receives SIGTERM.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from tests.agent.conftest import Agent, Setup, read, wait_for

CHILD = """\
echo "$DB_PASSWORD" > {dir}/seen
echo "$HOME" > {dir}/home
echo "$DB_PASSWORD" >> {dir}/starts
trap 'echo term >> {dir}/terminated; exit 0' TERM
trap 'echo hup >> {dir}/hangups' HUP
{end}
"""
# The loop (not one long sleep) lets the shell run its trap within 50 ms of a signal.
RUN_FOREVER = "while :; do sleep 0.05; done"


def _config(setup: Setup, *, end: str = RUN_FOREVER, exec_extra: str = "", command: str = "") -> Path:
    script = setup.dir / "child.sh"
    script.write_text(CHILD.format(dir=setup.dir, end=end))
    command = command or f'"/bin/sh", "{script}"'
    secret = f'{{{{ with secret \\"{setup.kv}/db\\" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}'
    return setup.approle_config(
        f'env_template "DB_PASSWORD" {{\n  contents = "{secret}"\n  error_on_missing_key = true\n}}\n'
        f"exec {{\n  command = [{command}]\n{exec_extra}}}\n"
    )


def _log(setup: Setup) -> str:
    return read(setup.dir / "agent.log")


def _subscribed(setup: Setup) -> None:
    wait_for(
        lambda: "subscribed to the server's events" in _log(setup), 5, "the events", setup.dir / "agent.log"
    )


def test_the_child_sees_the_variable_and_the_agent_does_not(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "s3cret"})
    process = run_agent(_config(setup))
    wait_for(lambda: read(setup.dir / "starts") == "s3cret\n", 10, "the child", setup.dir / "agent.log")
    assert read(setup.dir / "seen") == "s3cret\n"
    # The agent's own environment is inherited (run_agent sets HOME to the test's directory).
    assert read(setup.dir / "home") == f"{setup.dir}\n"
    environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
    assert not [entry for entry in environ if entry.startswith(b"DB_PASSWORD=")]
    assert process.poll() is None
    assert "s3cret" not in _log(setup)


def test_a_kv_update_restarts_the_child_with_the_new_value(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    run_agent(_config(setup))
    wait_for(lambda: read(setup.dir / "starts") == "one\n", 10, "the child", setup.dir / "agent.log")
    _subscribed(setup)
    began = time.monotonic()
    setup.put("db", {"password": "two"})
    wait_for(lambda: read(setup.dir / "starts") == "one\ntwo\n", 5, "the restart", setup.dir / "agent.log")
    assert time.monotonic() - began < 2
    # The old child was stopped with restart_stop_signal (SIGTERM by default).
    assert read(setup.dir / "terminated") == "term\n"
    assert read(setup.dir / "seen") == "two\n"
    assert "restarting the child" in _log(setup)
    # The same value again changes nothing: no restart.
    setup.put("db", {"password": "two"})
    time.sleep(0.5)
    assert read(setup.dir / "starts") == "one\ntwo\n"


def test_restart_on_secret_changes_never_leaves_the_child_running(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    run_agent(_config(setup, exec_extra='  restart_on_secret_changes = "never"\n'))
    wait_for(lambda: read(setup.dir / "starts") == "one\n", 10, "the child", setup.dir / "agent.log")
    _subscribed(setup)
    setup.put("db", {"password": "two"})
    wait_for(lambda: "not restarting" in _log(setup), 5, "the change", setup.dir / "agent.log")
    assert read(setup.dir / "starts") == "one\n"
    assert read(setup.dir / "terminated") == ""


def test_the_childs_exit_code_becomes_the_agents(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    process = run_agent(_config(setup, end="exit 7"))
    assert process.wait(timeout=10) == 7, _log(setup)
    assert read(setup.dir / "starts") == "one\n"


def test_signals_to_the_agent_reach_the_child_and_sigterm_ends_both(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    process = run_agent(_config(setup))
    wait_for(lambda: read(setup.dir / "starts") == "one\n", 10, "the child", setup.dir / "agent.log")
    process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: read(setup.dir / "hangups") == "hup\n", 5, "the forwarded SIGHUP", setup.dir / "agent.log"
    )
    assert process.poll() is None
    assert read(setup.dir / "starts") == "one\n"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=5) == 0, _log(setup)
    assert read(setup.dir / "terminated") == "term\n"


def test_a_command_that_cannot_start_is_one_clear_error_and_exit_1(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    process = run_agent(_config(setup, command=f'"{setup.dir}/no-such-app", "-v"'))
    assert process.wait(timeout=10) == 1
    assert f"exec: cannot start {setup.dir}/no-such-app: No such file or directory" in _log(setup)
