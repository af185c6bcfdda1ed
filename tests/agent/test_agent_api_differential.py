"""The agent API (/agent/v1/quit, /agent/v1/cache-clear, require_request_header) of strongroom's agent and
of OpenBao Agent, each beside its own server with the same agent.hcl: same requests, same answers.

Metrics are not compared: OpenBao Agent serves Prometheus text only with a `telemetry` stanza and JSON
otherwise, where strongroom's agent always serves Prometheus text (tests/agent/test_agent_static_cache.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import wait_for
from tests.servers import RunningServer, bao_binary, free_port, stop

Start = Callable[[RunningServer, str, bool], str]


@pytest.fixture
def start_agents(tmp_path: Path) -> Iterator[Start]:
    """Start an agent (OpenBao's when `openbao`) before `server`, with `listener` settings; its URL."""
    running: list[subprocess.Popen[bytes]] = []

    def start(server: RunningServer, listener: str, openbao: bool) -> str:
        directory = tmp_path / str(len(running))
        directory.mkdir()
        (directory / "token").write_text(server.root_token)
        port = free_port()
        config = directory / "agent.hcl"
        config.write_text(
            f'vault {{\n  address = "{server.address}"\n}}\n'
            f'auto_auth {{\n  method "token_file" {{\n'
            f'    config = {{ token_file_path = "{directory}/token" }}\n'
            "  }\n}\ncache {\n}\napi_proxy {\n  use_auto_auth_token = true\n}\n"
            f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n{listener}}}\n'
        )
        argv = (
            [bao_binary(), "agent", f"-config={config}"]
            if openbao
            else [sys.executable, "-m", "strongroom", "agent", f"-config={config}"]
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        log = directory / "agent.log"
        with log.open("wb") as out:
            running.append(
                subprocess.Popen(
                    argv, stdout=out, stderr=subprocess.STDOUT, env=env | {"HOME": str(directory)}
                )
            )
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                httpx.get(f"{url}/v1/sys/health", headers={"X-Vault-Request": "true"}, timeout=1)
            except httpx.HTTPError:
                return False
            return True

        wait_for(up, 30, "the agent's listener", log)
        return url

    yield start
    for process in running:
        stop(process)


def _answer(response: httpx.Response) -> tuple[int, object]:
    body: object = response.json() if response.content.strip() else None
    return response.status_code, body


def _steps(url: str) -> dict[str, tuple[int, object]]:
    with httpx.Client(base_url=url, timeout=10) as http:
        return {
            "clear bad type": _answer(http.post("/agent/v1/cache-clear", json={"type": "everything"})),
            "clear no type": _answer(http.post("/agent/v1/cache-clear", json={"value": "x"})),
            "clear empty body": _answer(http.post("/agent/v1/cache-clear", content=b"")),
            "clear all": _answer(http.post("/agent/v1/cache-clear", json={"type": "all"})),
            "clear token by PUT": _answer(
                http.put("/agent/v1/cache-clear", json={"type": "token", "value": "x"})
            ),
            "clear request_path": _answer(
                http.post(
                    "/agent/v1/cache-clear", json={"type": "request_path", "value": "/v1/secret/data/x"}
                )
            ),
            "clear lease": _answer(
                http.post("/agent/v1/cache-clear", json={"type": "lease", "value": "x/y"})
            ),
            "clear by GET": _answer(http.get("/agent/v1/cache-clear")),
            **{
                f"clear {kind} without a value": _answer(
                    http.post("/agent/v1/cache-clear", json={"type": kind, "namespace": "root"})
                )
                for kind in ("token", "token_accessor", "lease", "request_path")
            },
            "quit by GET": _answer(http.get("/agent/v1/quit")),
        }


def test_quit_and_cache_clear_answer_as_openbao_agent_does(
    server: RunningServer, bao: RunningServer, start_agents: Start
) -> None:
    enabled = "  agent_api {\n    enable_quit = true\n  }\n"
    ours, theirs = start_agents(server, enabled, False), start_agents(bao, enabled, True)
    assert _steps(ours) == _steps(theirs)
    quits = [httpx.post(f"{url}/agent/v1/quit").status_code for url in (ours, theirs)]
    assert quits == [200, 200]


def test_disabled_quit_and_the_required_header_answer_as_openbao_agent_does(
    server: RunningServer, bao: RunningServer, start_agents: Start
) -> None:
    listener = "  require_request_header = true\n"
    answers = []
    for url in (start_agents(server, listener, False), start_agents(bao, listener, True)):
        with httpx.Client(base_url=url, timeout=10) as http:
            seen = [_answer(http.post(path)) for path in ("/agent/v1/quit", "/agent/v1/cache-clear")]
            seen.append(_answer(http.get("/v1/sys/health")))
            http.headers["X-Vault-Request"] = "true"
            seen.append(_answer(http.post("/agent/v1/quit")))
            seen.append((http.get("/v1/sys/health").status_code, None))
            answers.append(seen)
    assert answers[0] == answers[1]
