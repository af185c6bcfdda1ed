"""The server config's `audit` stanza, in OpenBao 2.4's two forms, and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.config.server import AuditStanza, ServerConfig, load_server_config
from strongroom.errors import ConfigError
from strongroom.server import audit_devices

BASE = 'storage "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n}\n'


def load_config(tmp_path: Path, text: str) -> ServerConfig:
    (tmp_path / "server.hcl").write_text(BASE + text)
    return load_server_config([tmp_path / "server.hcl"])


def load(tmp_path: Path, text: str) -> tuple[AuditStanza, ...]:
    return load_config(tmp_path, text).audit


def test_two_label_and_one_label_forms(tmp_path: Path) -> None:
    config = load_config(
        tmp_path,
        'audit "file" "to-stdout" {\n  description = "d"\n  options {\n    file_path = "stdout"\n'
        "    log_raw = true\n  }\n}\n"
        'audit "socket" {\n  type = "socket"\n  path = "sock/"\n  options = { address = "127.0.0.1:9" }\n}\n'
        "unsafe_allow_api_audit_creation = true\n",
    )
    assert config.audit == (
        AuditStanza(
            type="file", path="to-stdout", description="d", options={"file_path": "stdout", "log_raw": "true"}
        ),
        AuditStanza(type="socket", path="sock", options={"address": "127.0.0.1:9"}),
    )
    assert [d.path for d in audit_devices(config)] == ["to-stdout", "sock"]


def test_bad_stanzas(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown audit key 'bogus'"):
        load(tmp_path, 'audit "file" "a" {\n  bogus = 1\n}\n')
    with pytest.raises(ConfigError, match="declared twice"):
        load(tmp_path, 'audit "file" "a" {}\naudit "file" "a" {}\n')
    with pytest.raises(ConfigError, match="audit 'a': file_path is required"):
        audit_devices(load_config(tmp_path, 'audit "file" "a" {\n  options { mode = "0600" }\n}\n'))


def test_declared_devices_follow_the_prefix_and_file_rules(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "audit.log"
    prefixed = (
        f'audit "file" "a" {{\n  options {{\n    file_path = "{log}"\n    prefix = "@cee: "\n  }}\n}}\n'
    )
    with pytest.raises(ConfigError, match=r"^audit 'a': audit log prefixing is not allowed$"):
        audit_devices(load_config(tmp_path, prefixed))
    allowed = load_config(tmp_path, prefixed + "allow_audit_log_prefixing = true\n")
    assert allowed.allow_audit_log_prefixing is True
    assert [d.options["prefix"] for d in audit_devices(allowed)] == ["@cee: "]
    beside = f'audit "file" "a" {{\n  options {{\n    file_path = "{tmp_path / "audit.log"}"\n  }}\n}}\n'
    # A directory given to -config is read whole: nothing goes in it. Beside a config file, yes; over it, no.
    with pytest.raises(ConfigError, match="which holds code or configuration"):
        audit_devices(load_config(tmp_path, beside), [str(tmp_path)])
    assert audit_devices(load_config(tmp_path, beside), [str(tmp_path / "server.hcl")])
    over = beside.replace("audit.log", "server.hcl")
    with pytest.raises(ConfigError, match=f"lies under {tmp_path / 'server.hcl'}, which holds code"):
        audit_devices(load_config(tmp_path, over), [str(tmp_path / "server.hcl")])
    with pytest.raises(ConfigError, match="prefix cannot contain control characters"):
        audit_devices(
            load_config(
                tmp_path, prefixed.replace("@cee: ", "#!/bin/sh\\n") + "allow_audit_log_prefixing = true\n"
            )
        )


def test_a_dev_config_needs_no_storage_or_listener_and_keeps_to_memory(tmp_path: Path) -> None:
    (tmp_path / "dev.hcl").write_text("unsafe_allow_api_audit_creation = true\n")
    config = load_server_config([tmp_path / "dev.hcl"], dev=True)
    assert (config.storage.type, config.listeners, config.unsafe_allow_api_audit_creation) == (
        "inmem",
        (),
        True,
    )
    with pytest.raises(ConfigError, match="a storage stanza is required"):
        load_server_config([tmp_path / "dev.hcl"])
