"""The server config reader: Vault's syntax in, frozen values out, every refusal with file and line."""

from __future__ import annotations

import ipaddress
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
    assert [n.split(": ", 1)[1].split(" is ")[0] for n in config.notices] == ["'disable_mlock'"]
    assert config.ui is True
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


def listener(tmp_path: Path, body: str) -> ListenerConfig:
    text = f'storage "inmem" {{}}\nlistener "tcp" {{\n{body}\n}}\n'
    (only,) = load_server_config([write(tmp_path, text)]).listeners
    return only


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True), ("1", True), ("2", True), ("1.5", True), ('"1"', True), ('"t"', True), ('"T"', True),
        ('"TRUE"', True), ('"true"', True), ('"True"', True),
        ("false", False), ("0", False), ('"0"', False), ('"f"', False), ('"F"', False), ('"FALSE"', False),
        ('"false"', False), ('"False"', False), ('""', False),
    ],
)  # fmt: skip
def test_listener_booleans_take_the_forms_vaults_parse_bool_takes(
    tmp_path: Path, value: str, expected: bool
) -> None:
    tls = '\ntls_cert_file = "c.pem"\ntls_key_file = "k.pem"'
    found = listener(tmp_path, f"tls_disable = {value}{tls}\ntls_require_and_verify_client_cert = {value}")
    assert (found.tls_disable, found.tls_require_and_verify_client_cert) == (expected, expected)
    metrics = listener(
        tmp_path, f"tls_disable = 1\ntelemetry {{\n  unauthenticated_metrics_access = {value}\n}}"
    )
    assert metrics.unauthenticated_metrics_access is expected


def test_node_vaults_example_server_config_loads(tmp_path: Path) -> None:
    # node-vault's example/server.hcl: an integer where Vault takes a boolean.
    text = 'backend "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = 1\n}\n'
    (only,) = load_server_config([write(tmp_path, text)]).listeners
    assert only.tls_disable is True


@pytest.mark.parametrize("value", ['"tRuE"', '"yes"', '"on"', "[true]", '" true"'])
def test_other_boolean_forms_are_refused_with_file_and_line(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"server.hcl:3: expected a boolean"):
        listener(tmp_path, f"tls_disable = {value}")


@pytest.mark.parametrize(("value", "expected"), [("2048", 2048), ('"2048"', 2048), ('"+7"', 7), ('""', 0)])
def test_max_request_size_takes_a_number_or_a_decimal_string(
    tmp_path: Path, value: str, expected: int
) -> None:
    assert listener(tmp_path, f"tls_disable = true\nmax_request_size = {value}").max_request_size == expected


@pytest.mark.parametrize("value", ["1.5", '"0x10"', '"12 "', "true", '"١٢"'])
def test_max_request_size_refuses_what_parse_int_refuses(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"server.hcl:4: expected a number of bytes"):
        listener(tmp_path, f"tls_disable = true\nmax_request_size = {value}")


def test_x_forwarded_for_options_default_to_ignoring_the_header(tmp_path: Path) -> None:
    found = listener(tmp_path, "tls_disable = true")
    assert found.x_forwarded_for_authorized_addrs == ()
    assert (found.x_forwarded_for_hop_skips, found.x_forwarded_for_reject_not_authorized) == (0, True)
    assert found.x_forwarded_for_reject_not_present is True


@pytest.mark.parametrize(
    "value",
    ['" 127.0.0.1 , 10.0.0.0/8,fd00::/8"', '["127.0.0.1", "10.0.0.0/8", "fd00::/8"]'],
)
def test_x_forwarded_for_options_read_vaults_forms(tmp_path: Path, value: str) -> None:
    found = listener(
        tmp_path,
        f'tls_disable = true\nx_forwarded_for_authorized_addrs = {value}\nx_forwarded_for_hop_skips = "2"\n'
        'x_forwarded_for_reject_not_authorized = "false"\nx_forwarded_for_reject_not_present = 0',
    )
    assert [str(n) for n in found.x_forwarded_for_authorized_addrs] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "fd00::/8",
    ]
    assert found.x_forwarded_for_hop_skips == 2
    assert (found.x_forwarded_for_reject_not_authorized, found.x_forwarded_for_reject_not_present) == (
        False,
        False,
    )
    assert found.x_forwarded_for_authorized_addrs[0] == ipaddress.ip_network("127.0.0.1/32")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ('x_forwarded_for_authorized_addrs = ""', r"server.hcl:4: unable to parse addresses from ''"),
        ('x_forwarded_for_authorized_addrs = "bogus"', r"server.hcl:4: error parsing address 'bogus'"),
        ('x_forwarded_for_authorized_addrs = "10.0.0.0/8,,127.0.0.1"', r"error parsing address ''"),
        (
            "x_forwarded_for_authorized_addrs = 5",
            r"server.hcl:4: expected a comma-separated string or a list",
        ),
        (
            'x_forwarded_for_authorized_addrs = ["127.0.0.1", 5]',
            r"expected a comma-separated string or a list",
        ),
        ("x_forwarded_for_hop_skips = -1", r"server.hcl:4: x_forwarded_for_hop_skips cannot be negative but"),
        ('x_forwarded_for_hop_skips = "two"', r"server.hcl:4: expected a whole number, not 'two'"),
        ('x_forwarded_for_reject_not_present = "maybe"', r"server.hcl:4: expected a boolean"),
    ],
)
def test_bad_x_forwarded_for_options_are_refused(tmp_path: Path, option: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        listener(tmp_path, f"tls_disable = true\n{option}")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ("tls_disable_client_certs = true\ntls_require_and_verify_client_cert = true",
         "'tls_disable_client_certs' and 'tls_require_and_verify_client_cert' are mutually exclusive"),
        ("tls_disable_client_certs = true\ntls_request_client_certs = true",
         "'tls_disable_client_certs' and 'tls_request_client_certs' are mutually exclusive"),
    ],
)  # fmt: skip
def test_client_certificate_options_that_exclude_each_other(tmp_path: Path, lines: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        listener(tmp_path, f'tls_cert_file = "c.pem"\ntls_key_file = "k.pem"\n{lines}')


def test_a_listener_requests_client_certificates_only_when_told(tmp_path: Path) -> None:
    tls = 'tls_cert_file = "c.pem"\ntls_key_file = "k.pem"\n'
    assert listener(tmp_path, tls).tls_request_client_certs is False
    assert listener(tmp_path, tls + "tls_request_client_certs = true").tls_request_client_certs is True
