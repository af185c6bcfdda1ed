"""Server config settings seen from outside: request size limit, JSON logs, notices for ignored keys."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.servers import free_port, sqlite_config, strongroom_config_server


def test_max_request_size_json_logs_and_notices(tmp_path: Path) -> None:
    port = free_port()
    config = (
        f'storage "sqlite" {{ path = "{tmp_path / "db"}" }}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n'
        "  max_request_size = 1024\n}\n"
        'log_format = "json"\nui = true\n'
    )
    with strongroom_config_server(tmp_path, config, port) as server:
        small = httpx.put(f"{server.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        assert small.status_code == 200
        big = httpx.put(f"{server.address}/v1/sys/unseal", content=b'{"key":"' + b"a" * 2000 + b'"}')
        assert (big.status_code, big.json()) == (413, {"errors": ["http: request body too large"]})
        entries = [json.loads(line) for line in server.log.read_text().splitlines() if line.startswith("{")]
        notice = next(e for e in entries if "'ui' is accepted and ignored" in e["@message"])
        assert notice["@level"] == "info"
        assert notice["@message"].startswith(f"{server.config}:8: ")


def test_the_default_request_limit_is_32_mib(tmp_path: Path) -> None:
    port = free_port()
    with strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port) as server:
        body = b'{"key":"' + b"a" * (32 * 1024 * 1024) + b'"}'
        assert httpx.put(f"{server.address}/v1/sys/unseal", content=body).status_code == 413
