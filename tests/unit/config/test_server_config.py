"""The server config reader: Vault's syntax in, frozen values out, every refusal with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.config.server import ListenerConfig, StorageConfig, load_server_config
from strongroom.errors import ConfigError

FULL = """
storage "sqlite" { path = "/var/lib/strongroom/strongroom.db" }
listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/strongroom/tls.crt"
  tls_key_file  = "/etc/strongroom/tls.key"
  tls_min_version = "tls13"
}
api_addr          = "https://vault.internal:8200"
default_lease_ttl = "768h"
max_lease_ttl     = "768h"
disable_mlock     = true
ui                = true
log_format        = "json"
"""


def write(tmp_path: Path, text: str, name: str = "server.hcl") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_issue_example_reads_into_values(tmp_path: Path) -> None:
    config = load_server_config([write(tmp_path, FULL)])
    assert config.storage == StorageConfig(
        type="sqlite", options={"path": "/var/lib/strongroom/strongroom.db"}
    )
    assert config.listeners == (
        ListenerConfig(
            address="0.0.0.0:8200",
            tls_cert_file="/etc/strongroom/tls.crt",
            tls_key_file="/etc/strongroom/tls.key",
            tls_min_version="tls13",
        ),
    )
    assert config.api_addr == "https://vault.internal:8200"
    assert (config.default_lease_ttl, config.max_lease_ttl) == (768 * 3600, 768 * 3600)
    assert config.log_format == "json"
    assert [n.split(": ", 1)[1].split(" is ")[0] for n in config.notices] == ["'disable_mlock'", "'ui'"]
    assert config.notices[0].startswith(f"{tmp_path / 'server.hcl'}:12: ")


def test_a_directory_merges_hcl_and_json_in_name_order(tmp_path: Path) -> None:
    write(tmp_path, 'storage "inmem" {}\n', "a.hcl")
    write(tmp_path, '{"listener": {"tcp": {"address": "127.0.0.1:9000", "tls_disable": true}}}', "b.json")
    write(tmp_path, "not config at all", "notes.txt")
    config = load_server_config([tmp_path])
    assert config.storage.type == "inmem"
    assert config.listeners == (ListenerConfig(address="127.0.0.1:9000", tls_disable=True),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'storage "inmem" {}\nlistener "tcp" { tls_disable = true }\nbogus = 1\n',
            r"server.hcl:3: unknown key 'bogus'",
        ),
        ('storage "etcd" {}\n', r"server.hcl:1: unknown storage type 'etcd'"),
        ('storage "sqlite" {}\n', r'server.hcl:1: storage "sqlite" needs a path'),
        (
            'storage "inmem" {}\nlistener "tcp" {\n  tls_disable = true\n  colour = "red"\n}\n',
            r"server.hcl:4: unknown listener key 'colour'",
        ),
        ('storage "inmem" {}\nlistener "tcp" { address = "x" }\n', r"server.hcl:2: a TLS listener needs"),
        (
            'storage "inmem" {}\nlistener "tcp" { tls_disable = true }\ndefault_lease_ttl = "forever"\n',
            r"server.hcl:3: invalid duration 'forever'",
        ),
        (
            'storage "inmem" {}\nlistener "tcp" { tls_disable = true }\nlog_level = "loud"\n',
            r"server.hcl:3: 'loud' is not one of",
        ),
        (
            'storage "inmem" {}\nlistener "tcp" { tls_disable = true }\ncache_size = 0\n',
            r"server.hcl:3: expected a whole number of at least 1",
        ),
        ('storage "inmem" {}\n', r"at least one listener stanza is required"),
        ('listener "tcp" { tls_disable = true }\n', r"a storage stanza is required"),
        (
            'storage "inmem" {}\nlistener "tcp" { tls_disable = true }\n'
            'default_lease_ttl = "2h"\nmax_lease_ttl = "1h"\n',
            r"default_lease_ttl cannot be longer than max_lease_ttl",
        ),
    ],
)
def test_bad_configs_are_refused_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_server_config([write(tmp_path, text)])


def test_the_storage_cache_is_on_by_default_and_can_be_sized_or_turned_off(tmp_path: Path) -> None:
    base = 'storage "inmem" {}\nlistener "tcp" { tls_disable = true }\n'
    default = load_server_config([write(tmp_path, base)])
    assert (default.cache_size, default.disable_cache, default.notices) == (131072, False, ())
    tuned = load_server_config([write(tmp_path, base + "cache_size = 1000\ndisable_cache = true\n")])
    assert (tuned.cache_size, tuned.disable_cache, tuned.notices) == (1000, True, ())


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such file or directory"):
        load_server_config([tmp_path / "nope.hcl"])


def test_unauthenticated_keyholder_endpoints_are_off_unless_a_listener_turns_them_on(tmp_path: Path) -> None:
    default = load_server_config([write(tmp_path, FULL)]).listeners[0]
    assert default.disable_unauthed_generate_root_endpoints is True
    assert default.disable_unauthed_rekey_endpoints is True
    opened = FULL.replace(
        'tls_min_version = "tls13"',
        'tls_min_version = "tls13"\n  disable_unauthed_generate_root_endpoints = false\n'
        '  disable_unauthed_rekey_endpoints = "false"',
    )
    listener = load_server_config([write(tmp_path, opened)]).listeners[0]
    assert listener.disable_unauthed_generate_root_endpoints is False
    assert listener.disable_unauthed_rekey_endpoints is False
    bad = FULL.replace('tls_min_version = "tls13"', 'disable_unauthed_rekey_endpoints = "maybe"')
    with pytest.raises(ConfigError, match="expected a boolean"):
        load_server_config([write(tmp_path, bad)])
