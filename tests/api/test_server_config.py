"""Server config settings seen from outside: request size limit, JSON logs, notices for ignored keys,
SQLite durability."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.servers import free_port, sqlite_config, strongroom_config_server


def test_max_request_size_json_logs_and_notices(tmp_path: Path) -> None:
    port = free_port()
    config = (
        f'storage "sqlite" {{ path = "{tmp_path / "db"}" }}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n'
        "  max_request_size = 1024\n}\n"
        'log_format = "json"\ndisable_mlock = true\n'
    )
    with strongroom_config_server(tmp_path, config, port) as server:
        small = httpx.put(f"{server.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        assert small.status_code == 200
        big = httpx.put(f"{server.address}/v1/sys/unseal", content=b'{"key":"' + b"a" * 2000 + b'"}')
        assert (big.status_code, big.json()) == (413, {"errors": ["http: request body too large"]})
        entries = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
        notice = next(e for e in entries if "'disable_mlock' is accepted and ignored" in e["@message"])
        assert notice["@level"] == "info"
        assert notice["@message"].startswith(f"{server.config}:8: ")


def test_the_default_request_limit_is_32_mib(tmp_path: Path) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        body = b'{"key":"' + b"a" * (32 * 1024 * 1024) + b'"}'
        assert httpx.put(f"{server.address}/v1/sys/unseal", content=body).status_code == 413


def test_relaxed_sqlite_durability_is_announced_at_start(tmp_path: Path) -> None:
    port = free_port()
    config = sqlite_config(tmp_path, port).replace('" }\n', '"\n  synchronous = "normal"\n}\n', 1)
    with strongroom_config_server(tmp_path, config, port) as server:
        deadline = time.monotonic() + 10
        while "Storage:" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.log.read_text()
    assert "Storage: sqlite (synchronous=normal: writes acknowledged before a power loss may be lost)" in log
    assert 'storage "sqlite": synchronous = "normal"' in log


def test_durable_sqlite_is_the_default_and_says_nothing_more(tmp_path: Path) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        deadline = time.monotonic() + 10
        while "Storage:" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        log = server.log.read_text()
    assert "Storage: sqlite\n" in log
    assert "synchronous" not in log


def test_an_unknown_sqlite_synchronous_value_stops_the_server(tmp_path: Path) -> None:
    config = sqlite_config(tmp_path, free_port()).replace('" }\n', '"\n  synchronous = "off"\n}\n', 1)
    (tmp_path / "server.hcl").write_text(config)
    result = subprocess.run(
        [sys.executable, "-m", "strongroom", "server", f"-config={tmp_path / 'server.hcl'}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert 'storage "sqlite": "synchronous" must be one of full, normal' in result.stderr
