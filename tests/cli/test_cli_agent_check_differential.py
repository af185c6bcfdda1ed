"""`strongroom agent -check` against OpenBao's agent: each config of the table is judged by both, and the
verdicts (accepted or refused) must agree.

OpenBao's agent has no -check. Its hidden `-test-verify-only` flag loads and validates the config and
exits; what it only finds when it starts (an unknown auth method, a TLS listener without its files) is
found by starting it against a dead server address: a config it accepts is still running after a moment,
one it refuses has exited 1 with "Error creating ..." or "Error starting ...". Listeners bind 127.0.0.1:0,
so the probes can run side by side.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.servers import bao_binary

DEAD = 'vault {\n  address = "http://127.0.0.1:1"\n}\n'
APPROLE = 'method "approle" {\n  config = { role_id_file_path = "ROOT/role_id" }\n}\n'
SINK = 'sink "file" {\n  config = { path = "ROOT/token" }\n}\n'
AUTO_AUTH = "auto_auth {\n" + APPROLE + SINK + "}\n"
LISTENER = 'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n'
TEMPLATE = 'template {\n  contents = "x"\n  destination = "ROOT/out"\n}\n'
ENV = 'env_template "A" {\n  contents = "x"\n}\n'
EXEC = 'exec {\n  command = ["sleep", "30"]\n}\n'

# Deliberate differences, checked on their own below: configs OpenBao's agent starts and strongroom's
# refuses, each with the reason.
DIFFERENCES: list[tuple[str, str]] = [
    # OpenBao starts it and then fails every TLS handshake.
    ("tls listener without files", AUTO_AUTH + 'listener "tcp" {\n  address = "127.0.0.1:0"\n}\n'),
    # Diffie-Hellman sink encryption is not implemented; response wrapping is the supported way.
    (
        "sink dh_type",
        "auto_auth {\n"
        + APPROLE
        + 'sink "file" {\n  dh_type = "curve25519"\n  dh_path = "ROOT/dh"\n'
        + '  config = { path = "ROOT/t" }\n}\n}\n',
    ),
]
# `persist "kubernetes"` reads the service-account token when the agent starts; -check opens no file a
# config names, so these are judged by OpenBao's config validation alone.
VALIDATION_ONLY = ("cache persist labelled", "cache persist with type inside")

# (name, config, accepted by OpenBao's agent)
CASES: list[tuple[str, str, bool]] = [
    ("labelled method", AUTO_AUTH, True),
    (
        "method with type inside",
        'auto_auth {\n  method {\n    type = "approle"\n    config = { role_id_file_path = "ROOT/r" }\n  }\n'
        + SINK
        + "}\n",
        True,
    ),
    (
        "method without a type",
        'auto_auth {\n  method {\n    mount_path = "auth/x"\n  }\n' + SINK + "}\n",
        False,
    ),
    ("two methods", "auto_auth {\n" + APPROLE + APPROLE + SINK + "}\n", False),
    ("no method", "auto_auth {\n" + SINK + "}\n", False),
    ("unknown method", 'auto_auth {\n  method "nosuch" {\n  }\n' + SINK + "}\n", False),
    (
        "cert method",
        'auto_auth {\n  method "cert" {\n    config = { name = "web" }\n  }\n' + SINK + "}\n",
        True,
    ),
    (
        "kubernetes method",
        'auto_auth {\n  method "kubernetes" {\n    config = { role = "app" }\n  }\n' + SINK + "}\n",
        True,
    ),
    ("two auto_auth", AUTO_AUTH + AUTO_AUTH, False),
    (
        "kerberos method without its settings",
        'auto_auth {\n  method "kerberos" {\n  }\n' + SINK + "}\n",
        False,
    ),
    (
        "sink with type inside",
        "auto_auth {\n" + APPROLE + 'sink {\n  type = "file"\n  config = { path = "ROOT/t" }\n}\n}\n',
        True,
    ),
    (
        "sink without a type",
        "auto_auth {\n" + APPROLE + 'sink {\n  config = { path = "ROOT/t" }\n}\n}\n',
        False,
    ),
    (
        "sink dh_path without dh_type",
        "auto_auth {\n" + APPROLE + 'sink "file" {\n  dh_path = "/x"\n  config = { path = "ROOT/t" }\n}\n}\n',
        False,
    ),
    (
        "sink aad without dh_type",
        "auto_auth {\n" + APPROLE + 'sink "file" {\n  aad = "x"\n  config = { path = "ROOT/t" }\n}\n}\n',
        False,
    ),
    (
        "wrapping with two sinks",
        (
            'auto_auth {\n  method "approle" {\n    wrap_ttl = "5m"\n'
            '    config = { role_id_file_path = "ROOT/r" }\n  }\n'
        )
        + SINK
        + SINK.replace("token", "token2")
        + "}\n",
        False,
    ),
    ("unknown top-level key", AUTO_AUTH + 'colour = "blue"\n', True),
    ("unknown key in auto_auth", "auto_auth {\n  bogus = 1\n" + APPROLE + SINK + "}\n", True),
    (
        "cache persist labelled",
        AUTO_AUTH + LISTENER + 'cache {\n  persist "kubernetes" {\n    path = "/x"\n  }\n}\n',
        True,
    ),
    (
        "cache persist with type inside",
        AUTO_AUTH + LISTENER + 'cache {\n  persist {\n    type = "kubernetes"\n    path = "/x"\n  }\n}\n',
        True,
    ),
    (
        "cache persist without a type",
        AUTO_AUTH + LISTENER + 'cache {\n  persist {\n    path = "/x"\n  }\n}\n',
        False,
    ),
    (
        "two persist blocks",
        AUTO_AUTH + LISTENER + 'cache {\n  persist "a" {\n  }\n  persist "b" {\n  }\n}\n',
        False,
    ),
    (
        "cache force_auto_auth_token",
        AUTO_AUTH + LISTENER + "cache {\n  force_auto_auth_token = true\n}\n",
        True,
    ),
    (
        "cache use_auto_auth_token force",
        AUTO_AUTH + LISTENER + 'cache {\n  use_auto_auth_token = "force"\n}\n',
        True,
    ),
    (
        "cache use_auto_auth_token bad",
        AUTO_AUTH + LISTENER + 'cache {\n  use_auto_auth_token = "maybe"\n}\n',
        False,
    ),
    (
        "cache static secret keys",
        AUTO_AUTH
        + LISTENER
        + (
            "cache {\n  cache_static_secrets = true\n"
            '  static_secret_token_capability_refresh_interval = "1m"\n}\n'
        ),
        True,
    ),
    (
        "cache lease and outage keys",
        AUTO_AUTH
        + LISTENER
        + "cache {\n  disable_caching_dynamic_secrets = true\n  serve_during_outage = true\n}\n",
        True,
    ),
    ("two cache blocks", AUTO_AUTH + LISTENER + "cache {\n}\ncache {\n}\n", False),
    ("cache without listener or template", AUTO_AUTH + "cache {\n}\n", False),
    ("cache with a template only", AUTO_AUTH + TEMPLATE + "cache {\n}\n", True),
    (
        "use_auto_auth_token in cache and api_proxy",
        AUTO_AUTH
        + LISTENER
        + "cache {\n  use_auto_auth_token = true\n}\napi_proxy {\n  use_auto_auth_token = true\n}\n",
        False,
    ),
    ("api_proxy without listener", AUTO_AUTH + "api_proxy {\n  use_auto_auth_token = true\n}\n", False),
    ("api_proxy token without auto_auth", LISTENER + "api_proxy {\n  use_auto_auth_token = true\n}\n", False),
    (
        "api_proxy token with wrapping",
        (
            'auto_auth {\n  method "approle" {\n    wrap_ttl = "5m"\n'
            '    config = { role_id_file_path = "ROOT/r" }\n  }\n'
        )
        + SINK
        + "}\n"
        + LISTENER
        + "api_proxy {\n  use_auto_auth_token = true\n}\n",
        False,
    ),
    ("api_proxy force", AUTO_AUTH + LISTENER + 'api_proxy {\n  use_auto_auth_token = "force"\n}\n', True),
    (
        "listener with type inside",
        AUTO_AUTH + 'listener {\n  type = "tcp"\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n',
        True,
    ),
    (
        "listener without a type",
        AUTO_AUTH + 'listener {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n',
        False,
    ),
    (
        "listener of an unknown type",
        AUTO_AUTH + 'listener "udp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n}\n',
        False,
    ),
    (
        "listener of an unknown role",
        AUTO_AUTH
        + 'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n  role = "admin"\n}\n',
        False,
    ),
    (
        "listener metrics_only",
        AUTO_AUTH
        + LISTENER
        + 'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n  role = "metrics_only"\n}\n',
        True,
    ),
    (
        "listener agent_api enable_quit",
        AUTO_AUTH
        + (
            'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n  agent_api {\n'
            "    enable_quit = true\n  }\n}\n"
        ),
        True,
    ),
    (
        "listener require_request_header",
        AUTO_AUTH
        + (
            'listener "tcp" {\n  address = "127.0.0.1:0"\n  tls_disable = true\n'
            "  require_request_header = true\n}\n"
        ),
        True,
    ),
    ("only a listener", LISTENER, True),
    ("only a template", TEMPLATE, False),
    ("auto_auth without sink or template", "auto_auth {\n" + APPROLE + "}\n", False),
    (
        "template with two wait blocks",
        AUTO_AUTH
        + (
            'template {\n  contents = "x"\n  destination = "ROOT/o"\n  wait {\n    min = "1s"\n  }\n'
            '  wait {\n    min = "2s"\n  }\n}\n'
        ),
        True,
    ),
    (
        "template wait as a string",
        AUTO_AUTH + 'template {\n  contents = "x"\n  destination = "ROOT/o"\n  wait = "1s:3s"\n}\n',
        True,
    ),
    (
        "template exec",
        AUTO_AUTH
        + (
            'template {\n  contents = "x"\n  destination = "ROOT/o"\n  exec {\n'
            '    command = ["true"]\n    timeout = "5s"\n  }\n}\n'
        ),
        True,
    ),
    ("two template_config", AUTO_AUTH + TEMPLATE + "template_config {\n}\ntemplate_config {\n}\n", False),
    (
        "template_config keys",
        AUTO_AUTH
        + TEMPLATE
        + (
            "template_config {\n  exit_on_retry_failure = true\n"
            '  static_secret_render_interval = "10m"\n  max_connections_per_host = 20\n}\n'
        ),
        True,
    ),
    ("two vault blocks", DEAD + DEAD + AUTO_AUTH, False),
    (
        "vault retry",
        'vault {\n  address = "http://127.0.0.1:1"\n  retry {\n    num_retries = 5\n  }\n}\n' + AUTO_AUTH,
        True,
    ),
    (
        "telemetry",
        AUTO_AUTH + 'telemetry {\n  prometheus_retention_time = "30s"\n  disable_hostname = true\n}\n',
        True,
    ),
    ("disable_keep_alives", AUTO_AUTH + 'disable_keep_alives = ["templating", "auto-auth"]\n', True),
    ("disable_idle_connections unknown", AUTO_AUTH + 'disable_idle_connections = ["everything"]\n', False),
    ("exec with env_template", AUTO_AUTH + EXEC + ENV, True),
    ("env_template without exec", AUTO_AUTH + ENV, False),
    ("exec without env_template", AUTO_AUTH + EXEC, False),
    ("exec with template", AUTO_AUTH + EXEC + ENV + TEMPLATE, False),
    ("exec with api_proxy", AUTO_AUTH + EXEC + ENV + LISTENER + "api_proxy {\n}\n", False),
    (
        "exec restart sometimes",
        AUTO_AUTH
        + 'exec {\n  command = ["sleep", "30"]\n  restart_on_secret_changes = "sometimes"\n}\n'
        + ENV,
        False,
    ),
    ("exec without command", AUTO_AUTH + "exec {\n}\n" + ENV, False),
    ("two env_templates of one name", AUTO_AUTH + EXEC + ENV + ENV, False),
    (
        "env_template with destination",
        AUTO_AUTH + EXEC + 'env_template "A" {\n  contents = "x"\n  destination = "/x"\n}\n',
        False,
    ),
    (
        "env_template with source and contents",
        AUTO_AUTH + EXEC + 'env_template "A" {\n  contents = "x"\n  source = "/x"\n}\n',
        False,
    ),
    (
        "template with two exec blocks",
        AUTO_AUTH
        + (
            'template {\n  contents = "x"\n  destination = "ROOT/o"\n  exec {\n    command = ["a"]\n'
            '  }\n  exec {\n    command = ["b"]\n  }\n}\n'
        ),
        True,
    ),
    (
        "vault with two retry blocks",
        'vault {\n  address = "http://127.0.0.1:1"\n  retry {\n  }\n  retry {\n  }\n}\n' + AUTO_AUTH,
        False,
    ),
    ("exit_after_auth with a template", AUTO_AUTH + TEMPLATE + "exit_after_auth = true\n", True),
    (
        "method backoff and namespace",
        (
            'auto_auth {\n  method "approle" {\n    min_backoff = "2s"\n    max_backoff = "1m"\n'
            '    namespace = "/ns1/"\n    config = { role_id_file_path = "ROOT/r" }\n  }\n'
        )
        + SINK
        + "}\n",
        True,
    ),
    (
        "method wrap_ttl not a duration",
        (
            'auto_auth {\n  method "approle" {\n    wrap_ttl = "soon"\n'
            '    config = { role_id_file_path = "ROOT/r" }\n  }\n'
        )
        + SINK
        + "}\n",
        False,
    ),
    (
        "wrapping on method and sink",
        (
            'auto_auth {\n  method "approle" {\n    wrap_ttl = "5m"\n'
            '    config = { role_id_file_path = "ROOT/r" }\n  }\n  sink "file" {\n'
            '    wrap_ttl = "5m"\n    config = { path = "ROOT/t" }\n  }\n}\n'
        ),
        False,
    ),
    (
        "sink file without path",
        "auto_auth {\n" + APPROLE + 'sink "file" {\n  config = { mode = 0600 }\n}\n}\n',
        False,
    ),
    (
        "sink of an unknown type",
        "auto_auth {\n" + APPROLE + 'sink "socket" {\n  config = { path = "ROOT/t" }\n}\n}\n',
        False,
    ),
    (
        "sink mode as a number",
        "auto_auth {\n"
        + APPROLE
        + 'sink "file" {\n  config = {\n    path = "ROOT/t"\n    mode = 0600\n  }\n}\n}\n',
        True,
    ),
    (
        "unix listener",
        AUTO_AUTH
        + (
            'listener "unix" {\n  address = "ROOT/agent.sock"\n  tls_disable = true\n'
            '  socket_mode = "0600"\n}\n'
        ),
        True,
    ),
    ("telemetry with unknown key", AUTO_AUTH + 'telemetry {\n  colour = "blue"\n}\n', True),
    (
        "template_config bad interval",
        AUTO_AUTH + TEMPLATE + 'template_config {\n  static_secret_render_interval = "often"\n}\n',
        False,
    ),
    ("log_level bogus", AUTO_AUTH + 'log_level = "loud"\n', False),
    ("pid_file", AUTO_AUTH + 'pid_file = "ROOT/pid"\n', True),
    (
        "exec stop signal",
        AUTO_AUTH + 'exec {\n  command = ["sleep", "30"]\n  restart_stop_signal = "SIGINT"\n}\n' + ENV,
        True,
    ),
    (
        "api_proxy use_auto_auth_token bad",
        AUTO_AUTH + LISTENER + 'api_proxy {\n  use_auto_auth_token = "often"\n}\n',
        False,
    ),
]


def _config(root: Path, name: str, text: str) -> Path:
    # Every config names the dead server: nothing either agent does at startup reaches anything.
    body = text.replace("ROOT", str(root))
    if not body.startswith("vault"):
        body = DEAD + body
    path = root / (name.replace(" ", "_") + ".hcl")
    path.write_text(body)
    return path


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env["HOME"] = str(root)
    return env


def openbao_accepts(config: Path, *, start: bool = True) -> bool:
    """OpenBao's verdict: its config validation, then a start against the dead server address."""
    env = _environment(config.parent)
    verify = subprocess.run(
        [bao_binary(), "agent", "-test-verify-only", f"-config={config}"],
        capture_output=True, env=env, timeout=30, check=False,
    )  # fmt: skip
    if verify.returncode != 0 or not start:
        return verify.returncode == 0
    log = config.with_suffix(".log")
    with (
        log.open("wb") as out,
        subprocess.Popen(
            [bao_binary(), "agent", f"-config={config}"], stdout=out, stderr=subprocess.STDOUT, env=env
        ) as started,
    ):
        # Whatever it refuses at startup it refuses within a moment of saying it started (a loaded
        # machine can take seconds to get there); an accepted config keeps it running against the dead
        # address.
        limit = time.monotonic() + 60
        settled: float | None = None
        while started.poll() is None and time.monotonic() < (settled or limit):
            if settled is None and b"Agent started" in log.read_bytes():
                settled = time.monotonic() + 2
            time.sleep(0.05)
        running = started.poll() is None
        if running:
            started.kill()
        started.wait()
    return running


def strongroom_accepts(config: Path) -> bool:
    done = subprocess.run(
        [sys.executable, "-m", "strongroom", "agent", "-check", f"-config={config}"],
        capture_output=True, env=_environment(config.parent), timeout=30, check=False,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.returncode == 0


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[bool, bool]]:
    """Each case's (OpenBao, strongroom) verdict, probed a few at a time."""
    root = tmp_path_factory.mktemp("differential")

    def judge(case: tuple[str, str, bool]) -> tuple[str, tuple[bool, bool]]:
        name, text, _ = case
        directory = root / name.replace(" ", "_")
        directory.mkdir()
        config = _config(directory, name, text)
        openbao = openbao_accepts(config, start=name not in VALIDATION_ONLY)
        return name, (openbao, strongroom_accepts(config))

    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(pool.map(judge, CASES))


@pytest.mark.parametrize(("name", "expected"), [(name, accepted) for name, _, accepted in CASES])
def test_strongroom_judges_each_config_as_openbao_does(
    verdicts: dict[str, tuple[bool, bool]], name: str, expected: bool
) -> None:
    openbao, strongroom = verdicts[name]
    # The table's own column is checked against OpenBao too, so a table entry cannot drift from it.
    assert openbao == expected, f"OpenBao {'accepts' if openbao else 'refuses'} {name!r}"
    assert strongroom == openbao, f"strongroom {'accepts' if strongroom else 'refuses'} {name!r}"


@pytest.mark.parametrize(("name", "text"), DIFFERENCES)
def test_the_deliberate_differences_are_refused_where_openbao_starts_them(
    tmp_path: Path, name: str, text: str
) -> None:
    config = _config(tmp_path, name, text)
    assert openbao_accepts(config)
    assert not strongroom_accepts(config)
