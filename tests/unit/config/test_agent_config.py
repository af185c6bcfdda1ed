"""The agent config reader: real Vault Agent configs in, frozen values out, every refusal at file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from strongroom.config.agent import (
    AgentAPI,
    AgentConfigError,
    ApiProxy,
    AppRoleLogin,
    CacheSettings,
    EnvTemplate,
    ExecSupervisor,
    FileSink,
    JWTLogin,
    Listener,
    PersistSettings,
    TemplateExec,
    TemplateSettings,
    TokenFileLogin,
    VaultConnection,
    Wait,
    load_agent_config,
)
from strongroom.config.agent_blocks import LOGIN_METHODS

ISSUE_EXAMPLE = """\
pid_file = "/run/app/agent.pid"

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

ISSUE_EXAMPLE_JSON = {
    "pid_file": "/run/app/agent.pid",
    "vault": {"address": "https://vault.internal:8200"},
    "auto_auth": {
        "method": {
            "approle": {
                "mount_path": "auth/approle",
                "config": {
                    "role_id_file_path": "/etc/app/role_id",
                    "secret_id_file_path": "/etc/app/secret_id",
                },
            }
        },
        "sink": {"file": {"config": {"path": "/run/app/token", "mode": "0600"}}},
    },
    "template": {
        "source": "/etc/app/config.ctmpl",
        "destination": "/run/app/config.json",
        "perms": "0400",
        "exec": {"command": ["systemctl", "reload", "app"]},
    },
}

SINK_ONLY = """\
auto_auth {
  method "token_file" {
    config = { token_file_path = "/etc/app/token" }
  }
  sink "file" { config = { path = "/run/app/token" } }
}
"""


def write(tmp_path: Path, text: str, name: str = "agent.hcl") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def reasons(tmp_path: Path, text: str, name: str = "agent.hcl") -> list[str]:
    path = write(tmp_path, text, name)
    with pytest.raises(AgentConfigError) as caught:
        load_agent_config([path])
    prefix = f"{tmp_path}/"
    return [reason.removeprefix(prefix) for reason in caught.value.reasons]


def notices(tmp_path: Path, text: str) -> list[str]:
    config = load_agent_config([write(tmp_path, text)])
    return [notice.removeprefix(f"{tmp_path}/") for notice in config.notices]


def test_the_issue_example_reads_into_values(tmp_path: Path) -> None:
    config = load_agent_config([write(tmp_path, ISSUE_EXAMPLE)])
    assert config.pid_file == "/run/app/agent.pid"
    assert config.vault == VaultConnection(address="https://vault.internal:8200", num_retries=12)
    assert config.auto_auth is not None
    method = config.auto_auth.method
    assert (method.type, method.mount_path, method.wrap_ttl) == ("approle", "auth/approle", 0)
    assert method.login == AppRoleLogin(
        role_id_file_path="/etc/app/role_id",
        secret_id_file_path="/etc/app/secret_id",
        remove_secret_id_file_after_reading=True,
    )
    assert config.auto_auth.sinks == (FileSink(path="/run/app/token", mode=0o600),)
    (template,) = config.templates
    assert (template.source, template.destination, template.perms) == (
        "/etc/app/config.ctmpl",
        "/run/app/config.json",
        0o400,
    )
    assert template.exec == TemplateExec(command=("systemctl", "reload", "app"), timeout=30)
    assert template.contents is None
    assert (template.create_dest_dirs, template.error_on_missing_key) == (True, False)
    assert (template.left_delimiter, template.right_delimiter) == ("{{", "}}")
    assert config.template_config == TemplateSettings(static_secret_render_interval=300)
    assert (config.exit_after_auth, config.api_proxy, config.listeners, config.notices) == (
        False,
        None,
        (),
        (),
    )


def test_the_json_form_reads_the_same(tmp_path: Path) -> None:
    from_hcl = load_agent_config([write(tmp_path, ISSUE_EXAMPLE)])
    from_json = load_agent_config([write(tmp_path, json.dumps(ISSUE_EXAMPLE_JSON), "agent.json")])
    assert from_json == from_hcl


def test_unlabelled_blocks_name_their_type(tmp_path: Path) -> None:
    text = """\
auto_auth {
  method {
    type = "jwt"
    config = { role = "web", path = "/var/run/jwt" }
  }
  sink {
    type = "file"
    config = { path = "/tmp/t" }
  }
}
"""
    config = load_agent_config([write(tmp_path, text)])
    assert config.auto_auth is not None
    assert config.auto_auth.method.login == JWTLogin(role="web", path="/var/run/jwt")
    assert config.auto_auth.method.mount_path == "auth/jwt"
    assert config.auto_auth.sinks == (FileSink(path="/tmp/t", mode=0o640),)


def test_two_templates_keep_their_order_and_options(tmp_path: Path) -> None:
    text = (
        SINK_ONLY
        + """
template {
  contents    = "{{ with secret \\"secret/data/app\\" }}{{ .Data.data.password }}{{ end }}"
  destination = "/run/app/password"
  perms       = 0440
  user        = "app"
  group       = 1000
  error_on_missing_key = true
  create_dest_dirs = false
  wait { min = "2s" }
}
template {
  source      = "/etc/app/b.ctmpl"
  destination = "/run/app/b"
  left_delimiter  = "[["
  right_delimiter = "]]"
  wait = "5s:1m"
  command = "systemctl restart app"
  command_timeout = "1m"
}
template_config {
  static_secret_render_interval = "10m"
  exit_on_retry_failure = true
}
"""
    )
    config = load_agent_config([write(tmp_path, text)])
    first, second = config.templates
    assert first.contents is not None
    assert first.contents.startswith('{{ with secret "secret/data/app" }}')
    assert (first.perms, first.user, first.group) == (0o440, "app", "1000")
    assert (first.error_on_missing_key, first.create_dest_dirs, first.wait) == (True, False, Wait(2, 8))
    assert (second.left_delimiter, second.right_delimiter, second.wait) == ("[[", "]]", Wait(5, 60))
    assert second.exec == TemplateExec(command=("systemctl restart app",), timeout=60, shell=True)
    assert config.template_config == TemplateSettings(
        static_secret_render_interval=600, exit_on_retry_failure=True
    )
    assert [n.removeprefix(f"{tmp_path}/") for n in config.notices] == [
        "agent.hcl:24: template 'command' is deprecated; use exec { command = [...] }"
    ]


def test_vault_block_and_retry_defaults(tmp_path: Path) -> None:
    text = (
        """\
vault {
  address = "https://127.0.0.1:8200"
  ca_cert = "/etc/ca.pem"
  client_cert = "/etc/c.pem"
  client_key = "/etc/c.key"
  retry { num_retries = -1 }
}
"""
        + SINK_ONLY
    )
    config = load_agent_config([write(tmp_path, text)])
    assert config.vault == VaultConnection(
        address="https://127.0.0.1:8200",
        ca_cert="/etc/ca.pem",
        client_cert="/etc/c.pem",
        client_key="/etc/c.key",
        num_retries=0,
    )
    assert config.auto_auth is not None
    assert config.auto_auth.method.login == TokenFileLogin(token_file_path="/etc/app/token")


def test_api_proxy_and_listeners(tmp_path: Path) -> None:
    text = """\
auto_auth {
  method "approle" { config = { role_id_file_path = "/r" } }
}
api_proxy {
  use_auto_auth_token = "force"
  enforce_consistency = "always"
  when_inconsistent = "retry"
}
listener "tcp" {
  address = "127.0.0.1:8100"
  tls_disable = true
}
listener "unix" {
  address = "/run/agent.sock"
  tls_disable = true
  socket_mode = "0660"
}
"""
    config = load_agent_config([write(tmp_path, text)])
    assert config.api_proxy == ApiProxy(
        use_auto_auth_token=True, force=True, enforce_consistency="always", when_inconsistent="retry"
    )
    assert config.listeners == (
        Listener(type="tcp", address="127.0.0.1:8100", tls_disable=True),
        Listener(type="unix", address="/run/agent.sock", tls_disable=True, socket_mode=0o660),
    )


def test_cache_settings_and_its_use_auto_auth_token_feed_the_proxy(tmp_path: Path) -> None:
    text = """\
auto_auth {
  method "approle" { config = { role_id_file_path = "/r" } }
}
cache {
  use_auto_auth_token = true
  static_secret_token_capability_refresh_interval = "30s"
  persist {
    type = "kubernetes"
    path = "/var/cache"
  }
  force_auto_auth_token = true
}
listener {
  type = "tcp"
  address = "127.0.0.1:8100"
  tls_disable = true
  require_request_header = true
  agent_api {
    enable_quit = true
  }
}
"""
    config = load_agent_config([write(tmp_path, text)])
    assert config.cache == CacheSettings(
        static_secrets=True, capability_refresh=30, persist=PersistSettings("kubernetes", path="/var/cache")
    )
    assert config.api_proxy == ApiProxy(use_auto_auth_token=True)
    assert config.listeners == (
        Listener(
            type="tcp",
            address="127.0.0.1:8100",
            tls_disable=True,
            require_request_header=True,
            agent_api=AgentAPI(enable_quit=True),
        ),
    )
    assert [n.removeprefix(f"{tmp_path}/") for n in config.notices] == [
        "agent.hcl:11: cache 'force_auto_auth_token' is accepted and ignored: not a key of Vault Agent's "
        'cache: use_auto_auth_token = "force" is',
    ]


def test_exec_supervisor_with_env_templates(tmp_path: Path) -> None:
    text = """\
auto_auth {
  method "approle" { config = { role_id_file_path = "/r" } }
}
env_template "DB_PASSWORD" {
  contents = "{{ with secret \\"secret/data/db\\" }}{{ .Data.data.password }}{{ end }}"
  error_on_missing_key = true
}
env_template "API_KEY" {
  source = "/etc/app/api_key.ctmpl"
}
exec {
  command = ["./app", "-v"]
  restart_on_secret_changes = "never"
  restart_stop_signal = "SIGINT"
}
"""
    config = load_agent_config([write(tmp_path, text)])
    assert config.exec == ExecSupervisor(
        command=("./app", "-v"), restart_on_secret_changes="never", restart_stop_signal="SIGINT"
    )
    assert [e.name for e in config.env_templates] == ["DB_PASSWORD", "API_KEY"]
    assert config.env_templates[1] == EnvTemplate(name="API_KEY", source="/etc/app/api_key.ctmpl")
    assert config.env_templates[0].error_on_missing_key is True


def test_a_directory_and_repeated_flags_merge_as_vault_agent_does(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    write(conf, 'vault { address = "http://a:8200" }\n' + SINK_ONLY, "10-auth.hcl")
    write(conf, 'template {\n  contents = "x"\n  destination = "/tmp/a"\n}\n', "20-a.hcl")
    write(conf, json.dumps({"template": [{"contents": "y", "destination": "/tmp/b"}]}), "30-b.json")
    write(conf, "not a config", "notes.txt")
    write(conf, "garbage {", "20-a.hcl~")
    later = write(tmp_path, 'vault { address = "http://b:8200" }\nexit_after_auth = true\n', "later.hcl")
    config = load_agent_config([conf, later])
    assert config.vault.address == "http://b:8200"
    assert [t.destination for t in config.templates] == ["/tmp/a", "/tmp/b"]
    assert config.exit_after_auth is True
    assert config.auto_auth is not None


def test_inapplicable_keys_are_accepted_with_one_line_each(tmp_path: Path) -> None:
    text = (
        SINK_ONLY
        + """disable_mlock = true
log_rotate_bytes = 1024
log_level = "debug"
log_file = "/var/log/agent.log"
"""
    )
    assert notices(tmp_path, text) == [
        "agent.hcl:7: 'disable_mlock' is accepted and ignored: strongroom's agent does not lock memory",
        "agent.hcl:8: 'log_rotate_bytes' is accepted and ignored: log files are not rotated by the agent",
    ]
    config = load_agent_config([tmp_path / "agent.hcl"])
    assert (config.log_level, config.log_file) == ("debug", "/var/log/agent.log")


def test_a_world_readable_sink_is_warned_about(tmp_path: Path) -> None:
    text = SINK_ONLY.replace('path = "/run/app/token" }', 'path = "/run/app/token", mode = 0644 }')
    assert notices(tmp_path, text) == [
        "agent.hcl:5: sink mode 0644 lets every user on the host read the token"
    ]


AUTH = 'auto_auth {\n  method "approle" { config = { role_id_file_path = "/r" } }\n'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (SINK_ONLY + SINK_ONLY, "agent.hcl:1: only one 'auto_auth' block is allowed"),
        ('vault {\n}\nvault {\n}\n' + SINK_ONLY, "agent.hcl:1: only one 'vault' block is allowed"),
        ('vault {\n  address = "vault:8200"\n}\n' + SINK_ONLY,
         "agent.hcl:2: vault 'address' 'vault:8200' must start with http://, https:// or unix://"),
        ("vault {\n  retry {\n    num_retries = -2\n  }\n}\n" + SINK_ONLY,
         "agent.hcl:2: retry 'num_retries' must be -1 (no retries), 0 (the default) or more"),
        ('vault {\n  tls_skip_verify = "maybe"\n}\n' + SINK_ONLY,
         "agent.hcl:2: vault 'tls_skip_verify': expected a boolean"),
        ('auto_auth {\n  method "kerberos" {\n    config = { username = "x" }\n  }\n  sink "file" {\n'
         '    config = { path = "/t" }\n  }\n}\n',
         "agent.hcl:2: auth method 'kerberos' is not supported by strongroom's agent "
         f"(supported: {', '.join(LOGIN_METHODS)})"),
        ('auto_auth {\n  sink "file" {\n    config = { path = "/t" }\n  }\n}\n',
         "agent.hcl:1: auto_auth: no 'method' block found"),
        (AUTH + '  method "jwt" { config = { role = "r", path = "/j" } }\n}\n',
         "agent.hcl:2: one and only one 'method' block is required"),
        ('auto_auth {\n  method "approle" {\n    config = {\n      secret_id_file_path = "/s"\n'
         '    }\n  }\n}\n',
         "agent.hcl:3: method \"approle\" config needs 'role_id_file_path'"),
        ('auto_auth {\n  method "approle" {\n    wrap_ttl = "soon"\n  }\n}\n',
         "agent.hcl:3: method \"approle\" 'wrap_ttl': invalid duration 'soon'"),
        (AUTH + '  sink "file" {\n    dh_type = "curve25519"\n    dh_path = "/d"\n'
         '    config = { path = "/t" }\n  }\n}\n',
         "agent.hcl:4: sink 'dh_type' (Diffie-Hellman encryption of the token) is not supported by "
         "strongroom's agent; use response wrapping (wrap_ttl) instead"),
        (AUTH + '  sink "file" {\n    aad = "x"\n    config = { path = "/t" }\n  }\n}\n',
         "agent.hcl:3: sink.file: specifying AAD data without 'dh_type' does not make sense"),
        (AUTH + '  sink "file" {\n    config = { mode = 0600 }\n  }\n}\n',
         "agent.hcl:4: sink \"file\" config needs a 'path'"),
        (AUTH + '  sink "file" {\n    config = {\n      path = "/t"\n      mode = "rw"\n    }\n  }\n}\n',
         "agent.hcl:6: sink \"file\" config 'mode': 'rw' is not an octal file mode such as \"0640\""),
        (AUTH + '  sink "socket" {\n    config = { path = "/t" }\n  }\n}\n',
         "agent.hcl:3: sink type 'socket' is not supported (only \"file\")"),
        ('auto_auth {\n  method "approle" {\n    wrap_ttl = "5m"\n    config = { role_id_file_path = "/r" }\n'
         '  }\n}\n',
         "agent.hcl:1: auto_auth: wrapping enabled on auth method and 0 or many sinks defined"),
        (SINK_ONLY + 'template {\n  destination = "/t"\n}\n',
         "agent.hcl:7: template: exactly one of 'source' or 'contents' must be specified"),
        (SINK_ONLY + 'template {\n  source = "/s"\n  contents = "x"\n  destination = "/t"\n}\n',
         "agent.hcl:7: template: exactly one of 'source' or 'contents' must be specified"),
        (SINK_ONLY + 'template {\n  source = "/s"\n}\n',
         "agent.hcl:7: template: 'destination' must be specified"),
        (SINK_ONLY + 'template {\n  source = "/s"\n  destination = "/t"\n  perms = "rwx"\n}\n',
         "agent.hcl:10: template 'perms': 'rwx' is not an octal file mode such as \"0640\""),
        (SINK_ONLY + 'template {\n  source = "/s"\n  destination = "/t"\n'
         '  exec {\n    timeout = "5s"\n  }\n}\n',
         "agent.hcl:10: template exec needs a 'command'"),
        (SINK_ONLY + 'template {\n  source = "/s"\n  destination = "/t"\n  wait {\n    min = "10s"\n'
         '    max = "5s"\n  }\n}\n',
         "agent.hcl:10: template wait 'max' cannot be shorter than 'min'"),
        (SINK_ONLY + 'api_proxy {\n  use_auto_auth_token = "always"\n}\n',
         "agent.hcl:8: api_proxy 'use_auto_auth_token': can be either true/false/force, "
         "'always' is an invalid option"),
        (SINK_ONLY + 'api_proxy {\n  use_auto_auth_token = true\n}\n',
         "agent.hcl:7: configuring the api_proxy requires at least 1 listener to be defined"),
        (SINK_ONLY + 'listener "tcp" {\n  address = "127.0.0.1:8100"\n}\n',
         "agent.hcl:7: a TLS listener needs tls_cert_file and tls_key_file (or tls_disable = true)"),
        (SINK_ONLY + 'listener "udp" {\n  tls_disable = true\n}\n',
         "agent.hcl:7: unsupported listener type 'udp'"),
        (AUTH + "}\n",
         "agent.hcl:1: auto_auth requires at least one sink or at least one template or "
         "api_proxy.use_auto_auth_token=true"),
        ('pid_file = "/p"\n', "agent.hcl: no auto_auth, cache, or listener block found in config"),
        (SINK_ONLY + 'exec {\n  command = ["./app"]\n}\n',
         "agent.hcl:7: must specify at least one 'env_template' element with a top-level 'exec' element"),
        (SINK_ONLY + 'env_template "A" {\n  contents = "x"\n}\n',
         "agent.hcl:7: a top-level 'exec' element must be specified with 'env_template' entries"),
        (SINK_ONLY + 'env_template "A" {\n  contents = "x"\n  destination = "/t"\n}\n',
         "agent.hcl:9: env_template[A]: 'destination' is not allowed"),
        (SINK_ONLY + 'env_template "A" {\n  contents = "x"\n}\nexec {\n  command = ["./app"]\n'
         '  restart_on_secret_changes = "sometimes"\n}\n',
         "agent.hcl:12: exec 'restart_on_secret_changes': 'sometimes' is not one of always, never"),
        (SINK_ONLY + 'env_template "A" {\n  contents = "x"\n}\nexec {\n  command = ["./app"]\n'
         '  restart_stop_signal = "SIGNOPE"\n}\n',
         "agent.hcl:12: exec 'restart_stop_signal': 'SIGNOPE' is not a signal name such as SIGTERM"),
        (SINK_ONLY + 'env_template "A" {\n  contents = "x"\n}\n'
         'exec {\n  restart_on_secret_changes = "never"\n}\n',
         "agent.hcl:10: 'exec' requires a non-empty 'command' field"),
        (SINK_ONLY + 'env_template "A" {\n  contents = "x"\n}\nexec {\n  command = ["./app"]\n}\n'
         "exit_after_auth = true\n",
         "agent.hcl:10: 'exit_after_auth' cannot be specified with 'exec'"),
        (SINK_ONLY + 'log_level = "loud"\n',
         "agent.hcl:7: 'log_level': 'loud' is not one of trace, debug, info, warn, warning, err, error"),
        (SINK_ONLY + "exit_after_auth = 3\n", "agent.hcl:7: 'exit_after_auth': expected a boolean"),
        ('auto_auth {\n  method "approle" {\n',
         "agent.hcl:3: object expected closing '}', found end of file"),
    ],
)  # fmt: skip
def test_each_refusal_names_its_line(tmp_path: Path, text: str, expected: str) -> None:
    assert reasons(tmp_path, text) == [expected]


def test_every_broken_stanza_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
vault {
  address = 8200
}
template {
  destination = "/a"
}
template {
  source = "/s"
  destination = "/b"
  perms = "9"
}
exit_after_auth = "maybe"
"""
    assert reasons(tmp_path, text) == [
        "agent.hcl:2: vault 'address': expected a string",
        "agent.hcl:4: template: exactly one of 'source' or 'contents' must be specified",
        "agent.hcl:10: template 'perms': '9' is not an octal file mode such as \"0640\"",
        "agent.hcl:12: 'exit_after_auth': expected a boolean",
    ]


def test_json_refusals_name_the_file(tmp_path: Path) -> None:
    doc = {"auto_auth": {"method": {"approle": {"config": {"role_id": "x"}}}}}
    assert reasons(tmp_path, json.dumps(doc), "agent.json") == [
        "agent.json: method \"approle\" config needs 'role_id_file_path'"
    ]


def test_unknown_keys_are_ignored_with_a_notice_as_vault_agent_ignores_them(tmp_path: Path) -> None:
    text = SINK_ONLY.replace('"/etc/app/token" }', '"/etc/app/token", token = "x" }')
    text += 'nonsense = 1\nvault {\n  adress = "x"\n}\n'
    config = load_agent_config([write(tmp_path, text)])
    assert [n.removeprefix(f"{tmp_path}/") for n in config.notices] == [
        "agent.hcl:3: unknown key 'token' in method \"token_file\" config is ignored, "
        "as Vault Agent ignores it",
        "agent.hcl:7: unknown key 'nonsense' is ignored, as Vault Agent ignores it",
        "agent.hcl:9: unknown key 'adress' in vault is ignored, as Vault Agent ignores it",
    ]


def test_missing_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(AgentConfigError) as caught:
        load_agent_config([tmp_path / "nope.hcl"])
    assert caught.value.reasons == (f"{tmp_path / 'nope.hcl'}: no such file or directory",)
    with pytest.raises(AgentConfigError) as caught:
        load_agent_config([tmp_path])
    assert caught.value.reasons == ("no configuration files found",)


def test_a_type_inside_a_labelled_block_wins_and_the_static_cache_can_be_turned_off(tmp_path: Path) -> None:
    text = """\
auto_auth {
  method "approle" {
    type = "token_file"
    config = { token_file_path = "/t" }
  }
  sink "file" { config = { path = "/s" } }
}
cache {
  cache_static_secrets = false
}
listener "tcp" {
  tls_disable = true
}
"""
    config = load_agent_config([write(tmp_path, text)])
    assert config.auto_auth is not None
    assert config.auto_auth.method.login == TokenFileLogin(token_file_path="/t")
    assert config.cache == CacheSettings(static_secrets=False)


def test_the_lease_cache_and_outage_serving_are_cache_keys(tmp_path: Path) -> None:
    text = """\
auto_auth {
  method "token_file" {
    config = { token_file_path = "/t" }
  }
}
cache {
  disable_caching_dynamic_secrets = true
  serve_during_outage = true
}
api_proxy {
  use_auto_auth_token = true
  serve_during_outage = true
}
serve_during_outage = true
listener "tcp" {
  tls_disable = true
}
"""
    config = load_agent_config([write(tmp_path, text)])
    assert config.cache == CacheSettings(dynamic_secrets=False, serve_during_outage=True)
    # Outside `cache` it is a key Vault Agent does not know: ignored, with the notice that says so.
    assert [n.removeprefix(f"{tmp_path}/") for n in config.notices] == [
        "agent.hcl:12: unknown key 'serve_during_outage' in api_proxy is ignored, as Vault Agent ignores it",
        "agent.hcl:14: unknown key 'serve_during_outage' is ignored, as Vault Agent ignores it",
    ]
    assert load_agent_config(
        [write(tmp_path, text.replace("  serve_during_outage = true\n}\napi", "}\napi"))]
    ).cache == (CacheSettings(dynamic_secrets=False))
