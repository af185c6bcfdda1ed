"""The HCL v1 reader: every construct Vault configs use, real files, error positions, and a round trip."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom import hcl
from strongroom.errors import ConfigError, HCLError
from strongroom.policy.default import DEFAULT_POLICY

AGENT_HCL = """
pid_file = "/tmp/agent.pid"

vault {
  address = "http://127.0.0.1:8200"
  retry { num_retries = 5 }
}

auto_auth {
  method "approle" {
    mount_path = "auth/approle"
    config = {
      role_id_file_path = "/etc/agent/role-id"
      secret_id_file_path = "/etc/agent/secret-id"
      remove_secret_id_file_after_reading = false
    }
  }

  sink "file" {
    config = {
      path = "/run/agent/token"
      mode = 0600
    }
  }
}

template_config {
  static_secret_render_interval = "5m"
  exit_on_retry_failure = true
}

template {
  source      = "/etc/agent/db.ctmpl"
  destination = "/run/secrets/db"
  perms       = 0640
}

template {
  contents    = "{{ with secret \\"secret/data/app\\" }}{{ .Data.data.password }}{{ end }}"
  destination = "/run/secrets/app"
  command     = "pkill -HUP app"
}

exec {
  command = ["/usr/bin/app", "--config", "/etc/app.conf"]
  restart_on_secret_changes = "always"
}
"""

SERVER_HCL = """
ui            = true
cluster_addr  = "https://127.0.0.1:8201"
api_addr      = "https://127.0.0.1:8200"
disable_mlock = true
max_lease_ttl = "768h"

storage "sqlite" {
  path = "/var/lib/strongroom/data.db"
}

listener "tcp" {
  address       = "127.0.0.1:8200"
  tls_disable   = 1
}

listener "tcp" {
  address = "0.0.0.0:8300"
  tls_cert_file = "/etc/tls/cert.pem"
  tls_key_file  = "/etc/tls/key.pem"
}

seal "static" {
  current_key_id = "20240101-1"
  current_key    = "file:///etc/strongroom/unseal.key"
}

telemetry {
  prometheus_retention_time = "30s"
  disable_hostname = true
}
"""


def test_agent_config_keeps_both_templates_and_octal_modes() -> None:
    doc = hcl.loads(AGENT_HCL, "agent.hcl")
    assert doc["pid_file"] == "/tmp/agent.pid"
    vault = hcl.single_block(doc["vault"], "vault")
    assert vault == {"address": "http://127.0.0.1:8200", "retry": [{"num_retries": 5}]}
    (auto_auth,) = [body for _, body in hcl.blocks(doc["auto_auth"], 0)]
    methods = hcl.blocks(auto_auth["method"], 1)
    assert methods == [
        (
            ("approle",),
            {
                "mount_path": "auth/approle",
                "config": {
                    "role_id_file_path": "/etc/agent/role-id",
                    "secret_id_file_path": "/etc/agent/secret-id",
                    "remove_secret_id_file_after_reading": False,
                },
            },
        )
    ]
    sinks = hcl.blocks(auto_auth["sink"], 1)
    assert sinks == [(("file",), {"config": {"path": "/run/agent/token", "mode": 0o600}})]
    templates = [body for _, body in hcl.blocks(doc["template"], 0)]
    assert [t["destination"] for t in templates] == ["/run/secrets/db", "/run/secrets/app"]
    assert templates[0]["perms"] == 416
    assert templates[1]["contents"] == (
        '{{ with secret "secret/data/app" }}{{ .Data.data.password }}{{ end }}'
    )
    assert hcl.single_block(doc["template_config"], "template_config") == {
        "static_secret_render_interval": "5m",
        "exit_on_retry_failure": True,
    }
    exec_block = hcl.single_block(doc["exec"], "exec")
    assert exec_block is not None
    assert exec_block["command"] == ["/usr/bin/app", "--config", "/etc/app.conf"]


def test_server_config_blocks_and_top_level_attributes() -> None:
    doc = hcl.loads(SERVER_HCL, "server.hcl")
    assert doc["ui"] is True
    assert doc["disable_mlock"] is True
    assert doc["max_lease_ttl"] == "768h"
    assert hcl.blocks(doc["storage"], 1) == [(("sqlite",), {"path": "/var/lib/strongroom/data.db"})]
    listeners = hcl.blocks(doc["listener"], 1)
    assert [(labels, body["address"]) for labels, body in listeners] == [
        (("tcp",), "127.0.0.1:8200"),
        (("tcp",), "0.0.0.0:8300"),
    ]
    assert listeners[0][1]["tls_disable"] == 1
    assert hcl.blocks(doc["seal"], 1)[0][0] == ("static",)
    assert hcl.single_block(doc["telemetry"], "telemetry") == {
        "prometheus_retention_time": "30s",
        "disable_hostname": True,
    }


def test_openbao_default_policy() -> None:
    doc = hcl.loads(DEFAULT_POLICY)
    paths = hcl.blocks(doc["path"], 1)
    assert len(paths) == 16
    assert paths[0] == (("auth/token/lookup-self",), {"capabilities": ["read"]})
    assert (("cubbyhole/*",), {"capabilities": ["create", "read", "update", "delete", "list"]}) in paths
    assert paths[-1] == (("identity/oidc/provider/+/authorize",), {"capabilities": ["read", "update"]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = 1", 1),
        ("a = -42", -42),
        ("a = 1.5", 1.5),
        ("a = -0.25", -0.25),
        ("a = 1e3", 1000.0),
        ("a = 0640", 416),
        ("a = 0600", 384),
        ("a = 0", 0),
        ("a = 0x1F", 31),
        ("a = true", True),
        ("a = false", False),
        ('a = ""', ""),
        ('a = "x\\ty\\n\\"q\\" \\\\ \\u00e9 \\U0001F600"', 'x\ty\n"q" \\ é 😀'),
        ('a = "${foo("bar")}"', '${foo("bar")}'),
        ("a = []", []),
        ('a = [1, "two", true, [3], { b = 4 }]', [1, "two", True, [3], {"b": 4}]),
        ("a = [\n  1,\n  2,\n]", [1, 2]),
        ("a = [\n  1, # one\n  2 // two\n]", [1, 2]),
        ("a = { b = 1, c = 2 }", {"b": 1, "c": 2}),
        ("a = { b = 1 c = 2 }", {"b": 1, "c": 2}),
        ("a = {\n b = 1\n c { d = 2 }\n}", {"b": 1, "c": [{"d": 2}]}),
        ('"quoted key" = 1', None),
    ],
)
def test_values(text: str, expected: Any) -> None:
    doc = hcl.loads(text)
    if expected is None:
        assert doc == {"quoted key": 1}
    else:
        assert doc == {"a": expected}


def test_comments_of_every_kind() -> None:
    text = """
    # hash
    // slashes
    /* block
       comment */ a = 1 /* inline */
    b = 2 # trailing
    """
    assert hcl.loads(text) == {"a": 1, "b": 2}


def test_heredocs() -> None:
    text = "a = <<EOF\nline one\n  line two\nEOF\nb = <<-EOT\n    indented\n      more\n    EOT\nc = 1\n"
    assert hcl.loads(text) == {"a": "line one\n  line two\n", "b": "indented\n  more\n", "c": 1}


def test_indented_heredoc_keeps_text_when_a_line_is_less_indented() -> None:
    text = "a = <<-EOT\n    x\n  y\n    EOT\n"
    assert hcl.loads(text) == {"a": "    x\n  y\n"}


def test_blocks_with_several_labels_and_repeats() -> None:
    doc = hcl.loads('a "x" "y" { v = 1 }\na "x" "z" { v = 2 }\nb { }\nb { w = 3 }')
    assert doc["a"] == [{"x": {"y": {"v": 1}}}, {"x": {"z": {"v": 2}}}]
    assert hcl.blocks(doc["a"], 2) == [(("x", "y"), {"v": 1}), (("x", "z"), {"v": 2})]
    assert hcl.blocks(doc["b"], 0) == [((), {}), ((), {"w": 3})]


def test_repeated_attribute_keeps_the_last_value() -> None:
    assert hcl.loads("a = 1\na = 2") == {"a": 2}


def test_assignment_lines_are_recorded() -> None:
    doc = hcl.loads('x = 1\n\nblock "l" {\n  y = 2\n}\n')
    assert hcl.assignment_line(doc, "x") == 1
    assert hcl.assignment_line(doc, "block") == 0
    assert hcl.assignment_line(doc["block"][0]["l"], "y") == 4
    assert hcl.assignment_line({"x": 1}, "x") == 0


def test_json_form_reads_the_same_through_blocks() -> None:
    as_hcl = hcl.loads('path "secret/*" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }')
    as_json = hcl.loads(
        json.dumps({"path": {"secret/*": {"capabilities": ["read"]}, "a": {"capabilities": ["list"]}}})
    )
    as_json_list = hcl.loads(
        json.dumps({"path": [{"secret/*": {"capabilities": ["read"]}}, {"a": [{"capabilities": ["list"]}]}]})
    )
    expected = [(("secret/*",), {"capabilities": ["read"]}), (("a",), {"capabilities": ["list"]})]
    assert hcl.blocks(as_hcl["path"], 1) == expected
    assert hcl.blocks(as_json["path"], 1) == expected
    assert hcl.blocks(as_json_list["path"], 1) == expected


def test_json_form_of_agent_templates() -> None:
    doc = hcl.loads('  {"template": [{"destination": "a"}, {"destination": "b"}], "vault": {"address": "x"}}')
    assert [body["destination"] for _, body in hcl.blocks(doc["template"], 0)] == ["a", "b"]
    assert hcl.single_block(doc["vault"], "vault") == {"address": "x"}


def test_blocks_of_nothing_and_of_a_non_block() -> None:
    assert hcl.blocks(None, 1) == []
    with pytest.raises(ConfigError, match="expected a block, found a string"):
        hcl.blocks({"path": "oops"}, 1)
    with pytest.raises(ConfigError, match="only one 'vault' block is allowed"):
        hcl.single_block([{}, {}], "vault")
    assert hcl.single_block(None, "vault") is None


def test_load_reads_a_file(tmp_path: Path) -> None:
    file = tmp_path / "agent.hcl"
    file.write_text(AGENT_HCL)
    assert hcl.load(file)["pid_file"] == "/tmp/agent.pid"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        ('a = "abc', 1, 5, "string literal not terminated"),
        ('a = 1\nb = "x\ny"', 2, 5, "string literal not terminated"),
        ("a = 1\nb = ", 2, 5, "expected a value, found end of file"),
        ("a = 1\nb = \nc = 2", 2, 5, "expected a value, found end of line"),
        ("a = [1, 2", 1, 10, "list expected closing ']', found end of file"),
        ("a = [1 2]", 1, 8, "expected ',' or ']' in a list, found '2'"),
        ('path "x" {\n  capabilities = ["read"]\n', 3, 1, "object expected closing '}', found end of file"),
        ("a = 1\n}", 2, 1, "expected a key, found '}'"),
        ("a = foo", 1, 5, "unexpected 'f' where a value was expected"),
        ("a = 089", 1, 5, "invalid octal number 089"),
        ("a = 10m", 1, 5, "invalid number"),
        ("a = <<EOF\nnever closed\n", 1, 5, "heredoc not terminated: no closing 'EOF' line"),
        ('a = "\\q"', 1, 6, "invalid escape sequence \\q"),
        ("a = 1 /* open", 1, 7, "comment not terminated"),
        ("a b = 1", 1, 5, "expected '{' after block labels"),
        ("a = 1\na { }", 2, 1, "'a' is used both as an attribute and as a block"),
        ('{"a": }', 1, 7, "Expecting value"),
    ],
)
def test_errors_carry_positions(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(HCLError) as caught:
        hcl.loads(text, "conf.hcl")
    error = caught.value
    assert (error.filename, error.line, error.column, error.message) == ("conf.hcl", line, column, message)
    assert str(error) == f"conf.hcl:{line}:{column}: {message}"


_keys = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=12)
_scalars = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.booleans(),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=20),
    st.floats(allow_nan=False, allow_infinity=False, width=32).filter(lambda f: f != int(f)),
)
_values = st.one_of(_scalars, st.lists(_scalars, max_size=4))


def _emit(value: Any) -> str:
    """A tiny HCL emitter for flat maps; the reader must give back exactly what went in."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
        escaped = escaped.replace("${", "$\\u007b")
        return f'"{escaped}"'
    return "[" + "".join(f"{_emit(item)}, " for item in value) + "]"


@given(st.dictionaries(_keys, _values, max_size=8), st.sampled_from(["\n", " ", ", "]))
def test_flat_maps_round_trip(data: dict[str, Any], separator: str) -> None:
    text = separator.join(f"{key} = {_emit(value)}" for key, value in data.items())
    assert hcl.loads(text) == data
