"""`strongroom agent` as a process: template `backup`, inherited modes, `wait { min max }`, `error_fatal`,
`template_config.exit_on_retry_failure` and `vault.retry.num_retries` (consul-template's semantics as Vault
Agent runs them)."""

from __future__ import annotations

import stat
import time
from pathlib import Path

from tests.agent.conftest import Agent, Setup, read, wait_for


def _template(destination: Path, contents: str, extra: str = "") -> str:
    return f'template {{\n  destination = "{destination}"\n  contents = <<EOT\n{contents}\nEOT\n{extra}}}\n'


def _password(setup: Setup, key: str = "db") -> str:
    return f'{{{{ with secret "{setup.kv}/{key}" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}'


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backup_keeps_the_replaced_file_with_its_mode(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    destination = setup.dir / "db.txt"
    backup = setup.dir / "db.txt.bak"
    config = setup.approle_config(
        _template(destination, _password(setup), '  perms = "0600"\n  backup = true\n')
    )
    run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: read(destination) == "one\n", 10, "the first render", log)
    # Nothing was replaced yet, so there is nothing to back up.
    assert not backup.exists()
    setup.put("db", {"password": "two"})
    wait_for(lambda: read(destination) == "two\n", 5, "the second render", log)
    assert read(backup) == "one\n"
    assert _mode(backup) == 0o600
    setup.put("db", {"password": "three"})
    wait_for(lambda: read(destination) == "three\n", 5, "the third render", log)
    # Exactly one backup is kept: the file just replaced.
    assert read(backup) == "two\n"
    assert sorted(p.name for p in setup.dir.iterdir() if p.name.startswith("db.txt")) == [
        "db.txt",
        "db.txt.bak",
    ]


def test_without_backup_no_bak_file_is_written(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    destination = setup.dir / "db.txt"
    destination.write_text("old\n")
    process = run_agent(
        setup.approle_config(_template(destination, _password(setup)) + "exit_after_auth = true\n")
    )
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert read(destination) == "one\n"
    assert not (setup.dir / "db.txt.bak").exists()


def test_without_perms_a_replaced_file_keeps_its_mode_and_a_new_one_gets_0644(
    setup: Setup, run_agent: Agent
) -> None:
    setup.put("db", {"password": "one"})
    existing = setup.dir / "existing.txt"
    existing.write_text("old\n")
    existing.chmod(0o640)
    fresh = setup.dir / "fresh.txt"
    config = setup.approle_config(
        _template(existing, _password(setup))
        + _template(fresh, _password(setup))
        + "exit_after_auth = true\n"
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert (read(existing), _mode(existing)) == ("one\n", 0o640)
    assert (read(fresh), _mode(fresh)) == ("one\n", 0o644)


def test_wait_min_holds_a_change_until_it_has_been_quiet(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    destination = setup.dir / "db.txt"
    config = setup.approle_config(_template(destination, _password(setup), '  wait {\n    min = "1s"\n  }\n'))
    run_agent(config)
    log = setup.dir / "agent.log"
    # The first render is not held back.
    wait_for(lambda: read(destination) == "one\n", 10, "the first render", log)
    wait_for(lambda: "subscribed to the server's events" in read(log), 10, "the event subscription", log)
    changed = time.monotonic()
    setup.put("db", {"password": "two"})
    time.sleep(0.6)
    assert read(destination) == "one\n"
    wait_for(lambda: read(destination) == "two\n", 5, "the held-back render", log)
    took = time.monotonic() - changed
    # Not before `min` of quiet; the upper bound is loose, only a held-forever render must fail it.
    assert 0.9 <= took < 4.0, took


def test_wait_max_writes_a_change_that_never_goes_quiet(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "v0"})
    destination = setup.dir / "db.txt"
    wait_block = '  wait {\n    min = "1s"\n    max = "2s"\n  }\n'
    run_agent(setup.approle_config(_template(destination, _password(setup), wait_block)))
    log = setup.dir / "agent.log"
    wait_for(lambda: read(destination) == "v0\n", 10, "the first render", log)
    wait_for(lambda: "subscribed to the server's events" in read(log), 10, "the event subscription", log)
    began = time.monotonic()
    written_at = None
    # A change every 0.4 s: `min` (1 s) never passes quietly, so only `max` (2 s) lets a write through.
    for n in range(1, 12):
        setup.put("db", {"password": f"v{n}"})
        time.sleep(0.4)
        if written_at is None and read(destination) != "v0\n":
            written_at = time.monotonic() - began
    assert written_at is not None, read(log)
    # Without `max` nothing would be written before the changes stop (4.4 s) plus `min`.
    assert 1.9 <= written_at < 4.0, written_at
    # After the changes stop, the last value is written `min` later.
    wait_for(lambda: read(destination) == "v11\n", 5, "the last value", log)


def test_exit_on_retry_failure_exits_1_on_a_template_error(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    config = setup.approle_config(
        _template(setup.dir / "ok.txt", _password(setup))
        + _template(
            setup.dir / "missing.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.nope }}}}{{{{ end }}}}',
            "  error_on_missing_key = true\n",
        )
        + "template_config {\n  exit_on_retry_failure = true\n}\n"
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 1
    log = read(setup.dir / "agent.log")
    assert f"template {setup.dir}/missing.txt failed and exit_on_retry_failure is set: exiting" in log
    assert not (setup.dir / "missing.txt").exists()


def test_error_fatal_false_logs_the_error_and_keeps_running(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    missing = setup.dir / "missing.txt"
    config = setup.approle_config(
        _template(setup.dir / "ok.txt", _password(setup))
        + _template(
            missing,
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.late }}}}{{{{ end }}}}',
            "  error_on_missing_key = true\n  error_fatal = false\n",
        )
        + "template_config {\n  exit_on_retry_failure = true\n}\n"
    )
    process = run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "ok.txt") == "one\n", 10, "the good template", log)
    wait_for(lambda: "missing.txt" in read(log), 5, "the logged error", log)
    time.sleep(0.5)
    assert process.poll() is None, read(log)
    # The failed template is tried again on the next change, and renders once the key exists.
    setup.put("db", {"password": "two", "late": "here"})
    wait_for(lambda: read(missing) == "here\n", 5, "the late key", log)
    assert process.poll() is None


def test_without_exit_on_retry_failure_a_template_error_is_not_fatal(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    missing = setup.dir / "missing.txt"
    config = setup.approle_config(
        _template(
            missing,
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.late }}}}{{{{ end }}}}',
            "  error_on_missing_key = true\n",
        )
    )
    process = run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: "missing.txt" in read(log), 10, "the logged error", log)
    time.sleep(0.5)
    assert process.poll() is None, read(log)
    setup.put("db", {"late": "here"})
    wait_for(lambda: read(missing) == "here\n", 5, "the late key", log)


def _deny_reads(setup: Setup) -> None:
    """The role's policy may list but not read: every template read gets a 403."""
    setup.root.put(
        f"/v1/sys/policies/acl/agent-{setup.kv[3:]}",
        json={"policy": f'path "{setup.kv}/*" {{ capabilities = ["list"] }}'},
    ).raise_for_status()


def _allow_reads(setup: Setup) -> None:
    setup.root.put(
        f"/v1/sys/policies/acl/agent-{setup.kv[3:]}",
        json={"policy": f'path "{setup.kv}/*" {{ capabilities = ["read", "list"] }}'},
    ).raise_for_status()


def test_exit_on_retry_failure_exits_1_after_num_retries(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    _deny_reads(setup)
    config = setup.approle_config(
        _template(setup.dir / "db.txt", _password(setup))
        + "template_config {\n  exit_on_retry_failure = true\n}\n",
        extra_method="      remove_secret_id_file_after_reading = false\n",
    )
    config.write_text(
        config.read_text().replace("vault {\n", "vault {\n  retry {\n    num_retries = 2\n  }\n", 1)
    )
    began = time.monotonic()
    process = run_agent(config)
    assert process.wait(timeout=20) == 1
    log = read(setup.dir / "agent.log")
    # The first attempt and two retries (after 0.25 s and 0.5 s), then the agent gives up.
    assert log.count(f"template {setup.dir}/db.txt: GET {setup.kv}/data/db: 403") == 3, log
    assert f"template {setup.dir}/db.txt: retries exhausted" in log
    assert time.monotonic() - began < 10
    assert not (setup.dir / "db.txt").exists()


def test_exit_after_auth_retries_a_failed_read_before_giving_up(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    _deny_reads(setup)
    config = setup.approle_config(
        _template(setup.dir / "db.txt", _password(setup)) + "exit_after_auth = true\n"
    )
    process = run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: "403" in read(log), 10, "the refused read", log)
    _allow_reads(setup)
    # A retry (after 0.25 s, 0.5 s, 1 s, ...) succeeds: the agent exits 0 with the file rendered.
    assert process.wait(timeout=20) == 0, read(log)
    assert read(setup.dir / "db.txt") == "one\n"


def test_exit_after_auth_exits_1_when_retries_are_spent(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    _deny_reads(setup)
    config = setup.approle_config(
        _template(setup.dir / "db.txt", _password(setup)) + "exit_after_auth = true\n"
    )
    config.write_text(
        config.read_text().replace("vault {\n", "vault {\n  retry {\n    num_retries = -1\n  }\n", 1)
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 1
    log = read(setup.dir / "agent.log")
    # num_retries = -1: no retry at all.
    assert log.count("403") == 1, log
