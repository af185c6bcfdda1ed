"""The telemetry stanza and a listener's telemetry block, read as Vault reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from strongroom.config.server import TelemetryConfig, load_server_config
from strongroom.errors import ConfigError

BASE = 'storage "inmem" {}\nlistener "tcp" {\n  address = "127.0.0.1:8200"\n  tls_disable = true\n%s}\n'


def test_defaults_are_vaults(tmp_path: Path) -> None:
    config = load_server_config([_write(tmp_path, BASE % "")])
    assert config.telemetry == TelemetryConfig(
        prometheus_retention_time=86400, disable_hostname=False, usage_gauge_period=600
    )
    assert config.listeners[0].unauthenticated_metrics_access is False


def test_the_telemetry_stanza(tmp_path: Path) -> None:
    text = BASE % "  telemetry {\n    unauthenticated_metrics_access = true\n  }\n" + (
        'telemetry {\n  prometheus_retention_time = "30s"\n  disable_hostname = true\n'
        '  usage_gauge_period = "none"\n  statsd_address = "127.0.0.1:9125"\n}\n'
    )
    config = load_server_config([_write(tmp_path, text)])
    assert config.telemetry == TelemetryConfig(
        prometheus_retention_time=30, disable_hostname=True, usage_gauge_period=0
    )
    assert config.listeners[0].unauthenticated_metrics_access is True
    assert config.notices == (
        f"{tmp_path / 'server.hcl'}:13: telemetry 'statsd_address' is accepted and ignored: "
        "only the Prometheus format of sys/metrics is served",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("telemetry {\n  no_such_key = 1\n}\n", "unknown telemetry key 'no_such_key'"),
        ('telemetry {\n  prometheus_retention_time = "soon"\n}\n', "invalid duration 'soon'"),
        ('telemetry {\n  disable_hostname = "maybe"\n}\n', "expected a boolean"),
        ("telemetry {}\ntelemetry {}\n", "only one 'telemetry' block is permitted"),
    ],
)
def test_bad_telemetry_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_server_config([_write(tmp_path, BASE % "" + text)])


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "  telemetry {\n    metrics_only = true\n  }\n",
            "listener telemetry 'metrics_only' is not supported",
        ),
        ("  telemetry {\n    bogus = true\n  }\n", "unknown listener telemetry key 'bogus'"),
    ],
)
def test_bad_listener_telemetry_is_refused(tmp_path: Path, block: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_server_config([_write(tmp_path, BASE % block)])


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.hcl"
    path.write_text(text)
    return path
