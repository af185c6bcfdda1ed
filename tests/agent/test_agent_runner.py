"""`strongroom agent` run as a process against a dev server: auto-auth, sinks, templates, events, re-auth."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx

from tests.agent.conftest import Agent, Setup, read, wait_for


def _template(destination: Path, contents: str, extra: str = "") -> str:
    return f'template {{\n  destination = "{destination}"\n  contents = <<EOT\n{contents}\nEOT\n{extra}}}\n'


def test_approle_login_writes_the_sink_and_renders_every_template(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"user": "app", "password": "s3cret"})
    setup.put("api", {"key": "k-1"})
    config = setup.approle_config(
        _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.user }}}}:'
            f"{{{{ .Data.data.password }}}}{{{{ end }}}}",
        )
        + _template(
            setup.dir / "out/api.txt",
            f'{{{{ with secret "{setup.kv}/data/api" }}}}{{{{ .Data.data.key }}}}{{{{ end }}}}',
            '  perms = "0600"\n',
        )
        + "exit_after_auth = true\n"
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    token = read(setup.dir / "token")
    lookup = httpx.get(f"{setup.server.address}/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
    assert lookup.json()["data"]["meta"] == {"role_name": "app"}
    assert stat.S_IMODE((setup.dir / "token").stat().st_mode) == 0o640
    assert read(setup.dir / "db.txt") == "app:s3cret\n"
    assert read(setup.dir / "out/api.txt") == "k-1\n"
    assert stat.S_IMODE((setup.dir / "out/api.txt").stat().st_mode) == 0o600
    # remove_secret_id_file_after_reading defaults to true.
    assert not (setup.dir / "secret_id").exists()
    log = read(setup.dir / "agent.log")
    assert token not in log
    assert "s3cret" not in log


def test_exit_after_auth_fails_for_a_missing_secret(setup: Setup, run_agent: Agent) -> None:
    config = setup.approle_config(
        _template(
            setup.dir / "x.txt",
            f'{{{{ with secret "{setup.kv}/nothing" }}}}{{{{ .Data.data.x }}}}{{{{ end }}}}',
            "  error_on_missing_key = true\n",
        )
        + "exit_after_auth = true\n"
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 1
    assert not (setup.dir / "x.txt").exists()
    assert read(setup.dir / "token") != ""


def test_a_kv_update_is_on_disk_within_a_second_and_exec_runs_only_on_change(
    setup: Setup, run_agent: Agent
) -> None:
    setup.put("db", {"password": "one"})
    setup.put("other", {"x": "1"})
    marker = setup.dir / "ran"
    config = setup.approle_config(
        _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
            f'  exec {{\n    command = "echo x >> {marker}"\n  }}\n',
        )
    )
    run_agent(config)
    wait_for(lambda: read(setup.dir / "db.txt") == "one\n", 10, "the first render", setup.dir / "agent.log")
    wait_for(lambda: read(marker) == "x\n", 5, "the first exec")
    wait_for(lambda: "subscribed to the server's events" in read(setup.dir / "agent.log"), 5, "the events")
    setup.put("db", {"password": "two"})
    # Polling runs every 300 s (the default), so only the event can bring the change this soon; how soon
    # is bench/agent_bench.py's to measure.
    wait_for(lambda: read(setup.dir / "db.txt") == "two\n", 10, "the update", setup.dir / "agent.log")
    wait_for(lambda: read(marker) == "x\nx\n", 5, "the second exec")
    # A write elsewhere, and a write of the same value, change nothing on disk: exec does not run again.
    setup.put("other", {"x": "2"})
    setup.put("db", {"password": "two"})
    time.sleep(0.5)
    assert read(marker) == "x\nx\n"


def test_polling_renders_when_the_server_sends_no_event(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    config = setup.approle_config(
        _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
        )
        + 'template_config {\n  static_secret_render_interval = "1s"\n}\n'
    )
    # The role's policy may not subscribe here, so only the poll can see the change.
    setup.root.put(
        f"/v1/sys/policies/acl/agent-{setup.kv[3:]}",
        json={"policy": f'path "{setup.kv}/*" {{ capabilities = ["read", "list"] }}'},
    ).raise_for_status()
    run_agent(config)
    wait_for(lambda: read(setup.dir / "db.txt") == "one\n", 10, "the first render", setup.dir / "agent.log")
    setup.put("db", {"password": "two"})
    wait_for(lambda: read(setup.dir / "db.txt") == "two\n", 5, "the polled update", setup.dir / "agent.log")


def test_a_revoked_token_is_replaced_and_rendering_goes_on(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "one"})
    secret_id = setup.new_secret_id()
    config = setup.approle_config(
        _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
        ),
        secret_id=secret_id,
        extra_method="      remove_secret_id_file_after_reading = false\n",
    )
    run_agent(config)
    wait_for(lambda: read(setup.dir / "db.txt") == "one\n", 10, "the first render", setup.dir / "agent.log")
    first = read(setup.dir / "token")
    time.sleep(0.5)
    setup.root.post("/v1/auth/token/revoke", json={"token": first}).raise_for_status()
    setup.put("db", {"password": "two"})
    wait_for(lambda: read(setup.dir / "token") not in ("", first), 10, "a new token", setup.dir / "agent.log")
    wait_for(
        lambda: read(setup.dir / "db.txt") == "two\n", 10, "the render after re-auth", setup.dir / "agent.log"
    )
    setup.put("db", {"password": "three"})
    wait_for(
        lambda: read(setup.dir / "db.txt") == "three\n", 5, "an event after re-auth", setup.dir / "agent.log"
    )


def test_a_wrapped_secret_id_is_unwrapped(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "w"})
    config = setup.approle_config(
        _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
        )
        + "exit_after_auth = true\n",
        secret_id=setup.new_secret_id(wrap=True),
        extra_method=f'      secret_id_response_wrapping_path = "auth/{setup.approle}/role/app/secret-id"\n',
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert read(setup.dir / "db.txt") == "w\n"


def test_sigterm_stops_the_agent_cleanly_and_removes_the_pid_file(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "p"})
    pid_file = setup.dir / "agent.pid"
    config = setup.approle_config(
        _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
        )
        + f'pid_file = "{pid_file}"\n'
    )
    process = run_agent(config)
    wait_for(lambda: read(setup.dir / "db.txt") == "p\n", 10, "the first render", setup.dir / "agent.log")
    assert read(pid_file) == f"{process.pid}\n"
    # Owner-only as OpenBao's agent writes it, whatever the umask (the test run's is 022).
    assert stat.S_IMODE(pid_file.stat().st_mode) == 0o600
    process.terminate()
    assert process.wait(timeout=10) == 0
    assert not pid_file.exists()


def test_token_file_method_and_a_wrapping_sink(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"password": "t"})
    policy = f"agent-{setup.kv[3:]}"
    created = setup.root.post("/v1/auth/token/create", json={"policies": [policy], "ttl": "1h"})
    token = created.json()["auth"]["client_token"]
    (setup.dir / "given").write_text(token)
    config = setup.dir / "agent.hcl"
    config.write_text(
        f'vault {{\n  address = "{setup.server.address}"\n}}\n'
        'auto_auth {\n  method "token_file" {\n'
        f'    config = {{\n      token_file_path = "{setup.dir}/given"\n    }}\n  }}\n'
        f'  sink "file" {{\n    wrap_ttl = "5m"\n    config = {{\n      path = "{setup.dir}/token"\n'
        "      mode = 0600\n    }\n  }\n}\n"
        + _template(
            setup.dir / "db.txt",
            f'{{{{ with secret "{setup.kv}/db" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}',
        )
        + "exit_after_auth = true\n"
    )
    process = run_agent(config)
    assert process.wait(timeout=20) == 0, read(setup.dir / "agent.log")
    assert read(setup.dir / "db.txt") == "t\n"
    assert stat.S_IMODE((setup.dir / "token").stat().st_mode) == 0o600
    wrap_info = json.loads(read(setup.dir / "token"))
    assert wrap_info["ttl"] == 300
    unwrapped = httpx.post(
        f"{setup.server.address}/v1/sys/wrapping/unwrap", headers={"X-Vault-Token": wrap_info["token"]}
    )
    assert unwrapped.json()["data"] == {"token": token}
