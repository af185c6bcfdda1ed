"""The server configuration: Vault's server.hcl (or JSON, or a directory of both) -> ServerConfig.

Layer: config. Imports hcl, util and errors only. Every refusal names the file and line.

Keys that Vault's config has but that mean nothing to strongroom are accepted with a one-line notice in
`ServerConfig.notices`; unknown keys and bad values raise ConfigError.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom import hcl
from strongroom.errors import ConfigError
from strongroom.util.durations import parse_duration

STORAGE_TYPES = ("inmem", "sqlite", "postgresql")
TLS_VERSIONS = ("tls10", "tls11", "tls12", "tls13")
LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "err", "error")
LOG_FORMATS = ("standard", "json")
# Vault's default cache_size: storage reads kept in memory, in entries.
DEFAULT_CACHE_SIZE = 131072
# Failed logins per second from one client address before its next login attempts get 429 (README).
DEFAULT_FAILED_LOGIN_RATE_LIMIT = 20

# Vault keys accepted and ignored, with why (what the notice says).
_IGNORED_TOP = {
    "disable_mlock": "strongroom does not lock memory; run it with swap disabled",
    "cluster_addr": "standbys forward requests to the active server's api_addr over HTTP",
    "disable_clustering": "strongroom does not use request forwarding between nodes",
    "plugin_directory": "strongroom has no external plugins",
    "cluster_name": "the cluster name is generated and stored on initialization",
    "raw_storage_endpoint": "sys/raw is not served",
    "introspection_endpoint": "sys/internal/inspect is not served",
    "enable_response_header_hostname": "response headers carry no host name",
    "enable_response_header_raft_node_id": "strongroom does not use raft",
}
_ONLY_PROMETHEUS = "only the Prometheus format of sys/metrics is served"
_DEFAULT_NAMES = "metrics keep Vault's default names and labels"
_IGNORED_TELEMETRY = {
    **dict.fromkeys(
        ("statsite_address", "statsd_address", "dogstatsd_addr", "dogstatsd_tags", "stackdriver_project_id",
         "stackdriver_location", "stackdriver_namespace", "stackdriver_debug_logs", "circonus_api_token",
         "circonus_api_app", "circonus_api_url", "circonus_submission_interval", "circonus_submission_url",
         "circonus_check_id", "circonus_check_force_metric_activation", "circonus_check_instance_id",
         "circonus_check_search_tag", "circonus_check_tags", "circonus_check_display_name",
         "circonus_broker_id", "circonus_broker_select_tag"),
        _ONLY_PROMETHEUS,
    ),
    **dict.fromkeys(
        ("enable_hostname_label", "metrics_prefix", "maximum_gauge_cardinality", "lease_metrics_epsilon",
         "num_lease_metrics_buckets", "add_lease_metrics_namespace_labels", "filter_default",
         "prefix_filter"),
        _DEFAULT_NAMES,
    ),
}  # fmt: skip
_IGNORED_LISTENER = {
    "cluster_address": "strongroom does not use request forwarding between nodes",
    "proxy_protocol_behavior": "the PROXY protocol is not supported",
    "tls_prefer_server_cipher_suites": "the TLS stack (rustls) chooses the cipher order",
    "tls_cipher_suites": "the TLS stack (rustls) chooses the cipher suites",
}


@dataclass(frozen=True, slots=True)
class StorageConfig:
    """The `storage "TYPE" { ... }` stanza."""

    type: str
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ListenerConfig:
    """One `listener "tcp" { ... }` stanza."""

    address: str = "127.0.0.1:8200"
    tls_disable: bool = False
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_min_version: str = "tls12"
    tls_client_ca_file: str = ""
    tls_require_and_verify_client_cert: bool = False
    # Vault requests a client certificate on every TLS listener, for auth/cert to read. Here a listener does
    # so only with tls_request_client_certs: its TLS is then terminated in Python (util/tls_relay.py), which
    # costs about 0.15 ms of CPU a request and 1 ms a connection more than granian's rustls. Vault's
    # tls_disable_client_certs is accepted and is what happens without it.
    tls_request_client_certs: bool = False
    tls_disable_client_certs: bool = False
    max_request_size: int = 32 * 1024 * 1024
    # The listener's `telemetry { unauthenticated_metrics_access = true }`: sys/metrics without a token.
    unauthenticated_metrics_access: bool = False
    # OpenBao's defaults: the unauthenticated sys/generate-root/* and sys/rekey/* endpoints are off, so no
    # caller without a token can start or cancel an attempt (HCSEC-2026-08, HCSEC-2025-11).
    disable_unauthed_generate_root_endpoints: bool = True
    disable_unauthed_rekey_endpoints: bool = True
    # X-Forwarded-For is believed only from peers in these networks (none: never). The reject flags take
    # Vault's documented default, true.
    x_forwarded_for_authorized_addrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    x_forwarded_for_hop_skips: int = 0
    x_forwarded_for_reject_not_authorized: bool = True
    x_forwarded_for_reject_not_present: bool = True


@dataclass(frozen=True, slots=True)
class TelemetryConfig:
    """The `telemetry { ... }` stanza, with Vault's defaults (durations in seconds).

    disable_hostname is read and kept but changes nothing: Vault puts the host name in metric names only when
    it feeds more than one sink, and the Prometheus sink is the only one here.
    """

    prometheus_retention_time: int = 24 * 3600
    disable_hostname: bool = False
    usage_gauge_period: int = 600


@dataclass(frozen=True, slots=True)
class SealStanza:
    """A `seal "TYPE" { ... }` stanza (auto-unseal)."""

    type: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditStanza:
    """An `audit "TYPE" "PATH" { description = "...", options = { ... } }` stanza (OpenBao 2.4's declared
    audit devices): always enabled, never disabled through the API."""

    type: str
    path: str
    description: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    local: bool = False


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Everything `strongroom server -config=...` reads."""

    storage: StorageConfig
    listeners: tuple[ListenerConfig, ...]
    seals: tuple[SealStanza, ...] = ()
    audit: tuple[AuditStanza, ...] = ()
    api_addr: str = ""
    default_lease_ttl: int = 0
    max_lease_ttl: int = 0
    log_level: str = "info"
    log_format: str = "standard"
    pid_file: str = ""
    unsafe_allow_api_audit_creation: bool = False
    allow_audit_log_prefixing: bool = False
    # Vault's storage read cache: entries kept, and the switch to turn it off.
    cache_size: int = DEFAULT_CACHE_SIZE
    disable_cache: bool = False
    # Vault's `ui = true`: the web UI at /ui/ on every listener (always on in dev mode).
    ui: bool = False
    # strongroom's guard against guessing: failed logins per second per client address (0: no guard).
    failed_login_rate_limit: int = DEFAULT_FAILED_LOGIN_RATE_LIMIT
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    notices: tuple[str, ...] = ()


def load_server_config(paths: Sequence[str | Path], *, dev: bool = False) -> ServerConfig:
    """Read and merge the config files (a file, or a directory of *.hcl and *.json, in name order).

    For a dev server (`dev`) the files add to the dev defaults, as OpenBao's do: storage and listeners are
    optional, and storage can only be "inmem" (dev data lives in memory or in -dev-data-dir)."""
    files: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in (".hcl", ".json") and p.is_file())
        elif path.is_file():
            files.append(path)
        else:
            raise ConfigError(f"{path}: no such file or directory")
    if not files:
        raise ConfigError("no configuration files found")
    reader = _Reader()
    for file in files:
        reader.read(str(file), hcl.load(file))
    return reader.result(dev)


class _Reader:
    """Accumulates the documents of several files; later files override single values."""

    def __init__(self) -> None:
        self.storage: StorageConfig | None = None
        self.listeners: list[ListenerConfig] = []
        self.seals: list[SealStanza] = []
        self.audit: list[AuditStanza] = []
        self.values: dict[str, Any] = {}
        self.notices: list[str] = []

    def read(self, filename: str, doc: Mapping[str, Any]) -> None:
        here = _Where(filename)
        for key, value in doc.items():
            line = hcl.assignment_line(doc, key)
            if key in _IGNORED_TOP:
                self.notices.append(f"{here.at(line)}: {key!r} is accepted and ignored: {_IGNORED_TOP[key]}")
            elif key in ("storage", "backend"):
                self._storage(here, value)
            elif key == "ha_storage":
                raise here.error(_first_line(value), 'ha_storage is not supported; use storage "postgresql"')
            elif key == "listener":
                for labels, body in _blocks(here, value, 1):
                    self.listeners.append(_listener(here, labels[0], body, self.notices))
            elif key == "telemetry":
                self.values["telemetry"] = _telemetry(here, value, self.notices)
            elif key == "seal":
                for labels, body in _blocks(here, value, 1):
                    self.seals.append(SealStanza(type=labels[0], options=dict(body)))
            elif key == "audit":
                for labels, body in _blocks(here, value, 1):
                    self._audit(here, labels[0], body)
            elif key in _SCALARS:
                self.values[key] = _SCALARS[key](here.at(line), value)
            else:
                raise here.error(line or _first_line(value), f"unknown key {key!r}")

    def _storage(self, here: _Where, value: Any) -> None:
        found = _blocks(here, value, 1)
        if len(found) != 1 or self.storage is not None:
            raise here.error(_first_line(value), "exactly one storage stanza is required")
        (kind,), body = found[0]
        if kind not in STORAGE_TYPES:
            raise here.error(
                hcl.block_line(body),
                f"unknown storage type {kind!r} (expected one of {', '.join(STORAGE_TYPES)})",
            )
        options = {}
        for key, option in body.items():
            if isinstance(option, dict | list):
                raise here.error(
                    hcl.assignment_line(body, key), f"storage option {key!r} must be a plain value"
                )
            options[key] = str(option).lower() if isinstance(option, bool) else str(option)
        if kind == "sqlite" and not options.get("path"):
            raise here.error(hcl.block_line(body), 'storage "sqlite" needs a path')
        self.storage = StorageConfig(type=kind, options=options)

    def _audit(self, here: _Where, label: str, body: Mapping[str, Any]) -> None:
        # Two labels (`audit "file" "to-stdout" {...}`) nest one level deeper than the one-label form whose
        # body names its type and path.
        if _AUDIT_FIELDS.isdisjoint(body):
            for path, inner in body.items():
                if not isinstance(inner, dict):
                    raise here.error(hcl.assignment_line(body, path), f"audit {label!r}: expected a block")
                self._audit_device(here, label, path, inner)
        else:
            self._audit_device(here, label, "", body)

    def _audit_device(self, here: _Where, kind: str, path: str, body: Mapping[str, Any]) -> None:
        line = hcl.block_line(body)
        for key in body:
            if key not in _AUDIT_FIELDS:
                raise here.error(hcl.assignment_line(body, key) or line, f"unknown audit key {key!r}")
        kind = _string(here.at(line), body.get("type", kind))
        path = _string(here.at(line), body.get("path", path)).strip("/")
        if not kind or not path:
            raise here.error(line, "an audit stanza needs a type and a path")
        if any(a.path == path for a in self.audit):
            raise here.error(line, f"audit path {path + '/'!r} is declared twice")
        options = body.get("options") or {}
        if isinstance(options, list):
            options = {k: v for item in options for k, v in item.items()}
        if not isinstance(options, dict) or any(isinstance(v, dict | list) for v in options.values()):
            raise here.error(line, f"audit {path!r}: options must be a map of plain values")
        self.audit.append(
            AuditStanza(
                type=kind,
                path=path,
                description=_string(here.at(line), body.get("description", "")),
                options={k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()},
                local=_bool(here.at(line), body.get("local", False)),
            )
        )

    def result(self, dev: bool) -> ServerConfig:
        if dev:
            if self.storage is not None and self.storage.type != "inmem":
                raise ConfigError(
                    f'storage "{self.storage.type}" is for `server -config` without -dev: a dev server '
                    "keeps its data in memory or in -dev-data-dir"
                )
            self.storage = self.storage or StorageConfig(type="inmem")
        if self.storage is None:
            raise ConfigError('a storage stanza is required, such as storage "sqlite" { path = "..." }')
        if not self.listeners and not dev:
            raise ConfigError('at least one listener stanza is required, such as listener "tcp" { ... }')
        default_ttl, max_ttl = self.values.get("default_lease_ttl", 0), self.values.get("max_lease_ttl", 0)
        if default_ttl and max_ttl and default_ttl > max_ttl:
            raise ConfigError("default_lease_ttl cannot be longer than max_lease_ttl")
        if self.storage.options.get("ha_enabled", "").lower() in ("true", "1", "t") and not self.values.get(
            "api_addr"
        ):
            raise ConfigError(
                f'storage "{self.storage.type}": ha_enabled needs api_addr, the address other servers '
                'forward requests to (such as api_addr = "http://10.0.0.5:8200")'
            )
        return ServerConfig(
            storage=self.storage,
            listeners=tuple(self.listeners),
            seals=tuple(self.seals),
            audit=tuple(self.audit),
            notices=tuple(self.notices),
            **self.values,
        )


@dataclass(frozen=True, slots=True)
class _Where:
    filename: str

    def at(self, line: int) -> str:
        return f"{self.filename}:{line}" if line else self.filename

    def error(self, line: int, message: str) -> ConfigError:
        return ConfigError(f"{self.at(line)}: {message}")


def _first_line(value: Any) -> int:
    if isinstance(value, list) and value:
        return _first_line(value[0])
    if isinstance(value, dict):
        line = hcl.block_line(value)
        if line:
            return line
        return next((_first_line(v) for v in value.values() if isinstance(v, dict | list)), 0)
    return 0


def _blocks(here: _Where, value: Any, depth: int) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    try:
        return hcl.blocks(value, depth)
    except ConfigError as exc:
        raise here.error(_first_line(value), str(exc)) from None


def _string(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


# Go's strconv.ParseBool, which Vault's parseutil.ParseBool applies to strings.
_TRUE_WORDS = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE_WORDS = frozenset({"", "0", "f", "F", "FALSE", "false", "False"})


def _bool(where: str, value: Any) -> bool:
    """A boolean as Vault's parseutil.ParseBool takes it: true, 1 (any non-zero number), "1", "t", "TRUE",
    "True", "true" and their false twins; the empty string is false."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str) and value in _TRUE_WORDS | _FALSE_WORDS:
        return value in _TRUE_WORDS
    raise ConfigError(f"{where}: expected a boolean, not {value!r}")


def _duration(where: str, value: Any) -> int:
    try:
        return parse_duration(value)
    except (ValueError, TypeError):
        raise ConfigError(f"{where}: invalid duration {value!r}") from None


def _choice(options: tuple[str, ...]) -> Callable[[str, Any], str]:
    def check(where: str, value: Any) -> str:
        text = _string(where, value).lower()
        if text not in options:
            raise ConfigError(f"{where}: {value!r} is not one of {', '.join(options)}")
        return text

    return check


def _integer(where: str, value: Any) -> int:
    """A whole number as Vault's parseutil.ParseInt takes it: a number, or a decimal string ("" is 0)."""
    if value == "":
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.removeprefix("-").removeprefix("+").isdigit() and value.isascii():
        return int(value)
    raise ConfigError(f"{where}: expected a whole number, not {value!r}")


def _size(where: str, value: Any) -> int:
    try:
        return _integer(where, value)
    except ConfigError:
        raise ConfigError(f"{where}: expected a number of bytes") from None


def _hop_skips(where: str, value: Any) -> int:
    skips = _integer(where, value)
    if skips < 0:
        raise ConfigError(f"{where}: x_forwarded_for_hop_skips cannot be negative but set to {skips}")
    return skips


def _networks(where: str, value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Addresses and CIDRs as Vault's parseutil.ParseAddrs takes them: a comma-separated string or a list."""
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")]
        if items == [""]:
            raise ConfigError(f"{where}: unable to parse addresses from {value!r}")
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = [item.strip() for item in value]
    else:
        raise ConfigError(f"{where}: expected a comma-separated string or a list of addresses")
    networks = []
    for item in items:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{where}: error parsing address {item!r}: not an IP address or CIDR") from None
    return tuple(networks)


def _count(where: str, value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | str)
        or not str(value).isdigit()
        or int(value) < 1
    ):
        raise ConfigError(f"{where}: expected a whole number of at least 1")
    return int(value)


_SCALARS: dict[str, Callable[[str, Any], Any]] = {
    "api_addr": _string,
    "default_lease_ttl": _duration,
    "max_lease_ttl": _duration,
    "log_level": _choice(LOG_LEVELS),
    "log_format": _choice(LOG_FORMATS),
    "pid_file": _string,
    "unsafe_allow_api_audit_creation": _bool,
    "allow_audit_log_prefixing": _bool,
    "cache_size": _count,
    "disable_cache": _bool,
    "ui": _bool,
    "failed_login_rate_limit": lambda where, value: 0 if value in (0, "0") else _count(where, value),
}

_AUDIT_FIELDS = frozenset({"type", "path", "description", "options", "local"})

_LISTENER_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "address": _string,
    "tls_disable": _bool,
    "tls_cert_file": _string,
    "tls_key_file": _string,
    "tls_min_version": _choice(TLS_VERSIONS),
    "tls_client_ca_file": _string,
    "tls_require_and_verify_client_cert": _bool,
    "tls_disable_client_certs": _bool,
    "tls_request_client_certs": _bool,
    "max_request_size": _size,
    "disable_unauthed_generate_root_endpoints": _bool,
    "disable_unauthed_rekey_endpoints": _bool,
    "x_forwarded_for_authorized_addrs": _networks,
    "x_forwarded_for_hop_skips": _hop_skips,
    "x_forwarded_for_reject_not_authorized": _bool,
    "x_forwarded_for_reject_not_present": _bool,
}


def _listener(here: _Where, kind: str, body: Mapping[str, Any], notices: list[str]) -> ListenerConfig:
    if kind != "tcp":
        raise here.error(hcl.block_line(body), f'unknown listener type {kind!r} (only "tcp" is supported)')
    values: dict[str, Any] = {}
    for key, value in body.items():
        line = hcl.assignment_line(body, key)
        if key in _IGNORED_LISTENER:
            notices.append(
                f"{here.at(line)}: listener {key!r} is accepted and ignored: {_IGNORED_LISTENER[key]}"
            )
        elif key == "telemetry":
            values["unauthenticated_metrics_access"] = _listener_telemetry(here, value)
        elif key in _LISTENER_FIELDS:
            values[key] = _LISTENER_FIELDS[key](here.at(line), value)
        else:
            raise here.error(line or hcl.block_line(body), f"unknown listener key {key!r}")
    listener = ListenerConfig(**values)
    if not listener.tls_disable and not (listener.tls_cert_file and listener.tls_key_file):
        raise here.error(
            hcl.block_line(body),
            "a TLS listener needs tls_cert_file and tls_key_file (or tls_disable = true)",
        )
    if listener.tls_disable_client_certs and listener.tls_require_and_verify_client_cert:
        raise here.error(
            hcl.block_line(body),
            "'tls_disable_client_certs' and 'tls_require_and_verify_client_cert' are mutually exclusive",
        )
    if listener.tls_disable_client_certs and listener.tls_request_client_certs:
        raise here.error(
            hcl.block_line(body),
            "'tls_disable_client_certs' and 'tls_request_client_certs' are mutually exclusive",
        )
    if listener.max_request_size < 0:
        raise here.error(hcl.block_line(body), "max_request_size cannot be negative")
    return listener


def _usage_period(where: str, value: Any) -> int:
    return 0 if value == "none" else _duration(where, value)


_TELEMETRY_FIELDS: dict[str, Callable[[str, Any], Any]] = {
    "prometheus_retention_time": _duration,
    "disable_hostname": _bool,
    "usage_gauge_period": _usage_period,
}


def _telemetry(here: _Where, value: Any, notices: list[str]) -> TelemetryConfig:
    found = _blocks(here, value, 0)
    if len(found) != 1:
        raise here.error(_first_line(value), "only one 'telemetry' block is permitted")
    body = found[0][1]
    values: dict[str, Any] = {}
    for key, option in body.items():
        line = hcl.assignment_line(body, key)
        if key in _IGNORED_TELEMETRY:
            notices.append(
                f"{here.at(line)}: telemetry {key!r} is accepted and ignored: {_IGNORED_TELEMETRY[key]}"
            )
        elif key in _TELEMETRY_FIELDS:
            values[key] = _TELEMETRY_FIELDS[key](here.at(line), option)
        else:
            raise here.error(line or hcl.block_line(body), f"unknown telemetry key {key!r}")
    return TelemetryConfig(**values)


def _listener_telemetry(here: _Where, value: Any) -> bool:
    unauthenticated = False
    for _, body in _blocks(here, value, 0):
        for key, option in body.items():
            line = hcl.assignment_line(body, key)
            if key == "unauthenticated_metrics_access":
                unauthenticated = _bool(here.at(line), option)
            elif key in ("metrics_only", "metrics_path"):
                # Ignoring these would serve the whole API where the operator meant to expose metrics only.
                raise here.error(line, f"listener telemetry {key!r} is not supported")
            else:
                raise here.error(line or hcl.block_line(body), f"unknown listener telemetry key {key!r}")
    return unauthenticated
