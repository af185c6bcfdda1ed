"""Static-secret caching in the agent's proxy (`cache {}`), and the agent API (/agent/v1/...), against a
strongroom dev server of this module's own that allows audit devices through the API: server-side reads
are counted in a file audit device's log.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.agent.conftest import Agent, Setup, agent_world, read, wait_for
from tests.servers import API_AUDIT, RunningServer, free_port, strongroom_dev_server


@pytest.fixture(scope="module")
def audited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with strongroom_dev_server(tmp_path_factory.mktemp("audited"), config=API_AUDIT) as server:
        yield server


@pytest.fixture
def setup(audited_server: RunningServer, tmp_path: Path) -> Iterator[Setup]:
    with agent_world(audited_server, tmp_path) as world:
        yield world


def _agent(setup: Setup, run_agent: Agent, extra: str = "", listener: str = "") -> tuple[str, Path]:
    port = free_port()
    config = setup.approle_config(
        "cache {\n}\napi_proxy {\n  use_auto_auth_token = true\n}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n{listener}}}\n' + extra
    )
    run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "token") != "", 10, "the agent's login", log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            answer = httpx.get(f"{url}/agent/v1/metrics", headers={"X-Vault-Request": "true"}, timeout=1)
            return answer.status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 10, "the agent's listener", log)
    return url, log


@contextmanager
def _audited(setup: Setup) -> Iterator[Path]:
    """A file audit device on the shared server for the test's duration; yields its log."""
    name = f"cache-{uuid.uuid4().hex[:8]}"
    log = setup.dir / "audit.log"
    answer = setup.root.put(
        f"/v1/sys/audit/{name}", json={"type": "file", "options": {"file_path": str(log)}}
    )
    assert answer.status_code == 204, answer.text
    try:
        yield log
    finally:
        setup.root.delete(f"/v1/sys/audit/{name}").raise_for_status()


def _server_reads(log: Path, path: str) -> int:
    """Responses the server logged for GET-style reads of `path`."""
    count = 0
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        request = entry.get("request") or {}
        if (
            entry.get("type") == "response"
            and request.get("path") == path
            and request.get("operation") == "read"
        ):
            count += 1
    return count


def _value(http: httpx.Client, kv: str, key: str = "db") -> str:
    answer = http.get(f"/v1/{kv}/data/{key}")
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["data"]["v"])


def _metric(url: str, name: str) -> int:
    text = httpx.get(f"{url}/agent/v1/metrics").text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith(f"{name} ")))


def _warm(http: httpx.Client, kv: str) -> None:
    """Read until the answers come from the cache (the token's event subscription is open)."""
    wait_for(lambda: "age" in http.get(f"/v1/{kv}/data/db").headers, 10, "a cached answer")


def test_a_tight_read_loop_costs_one_server_read_per_change(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"v": "1"})
    url, _ = _agent(setup, run_agent)
    path = f"{setup.kv}/data/db"
    with _audited(setup) as audit, httpx.Client(base_url=url, timeout=5) as http:
        _warm(http, setup.kv)
        before = _server_reads(audit, path)
        hits = _metric(url, "vault_agent_cache_hit")
        assert all(_value(http, setup.kv) == "1" for _ in range(300))
        assert _server_reads(audit, path) == before
        assert _metric(url, "vault_agent_cache_hit") >= hits + 300
        for version in ("2", "3"):
            setup.put("db", {"v": version})
            changed = time.monotonic()
            # Typically ~10 ms (bench/agent_cache_bench.py); without invalidation it would never come.
            wait_for(lambda v=version: _value(http, setup.kv) == v, 5, f"version {version}")
            assert time.monotonic() - changed < 2.0
            assert all(_value(http, setup.kv) == version for _ in range(200))
        # One read per change, give or take the read that raced the event (not stored, read again).
        assert _server_reads(audit, path) - before in (2, 3, 4)


def test_concurrent_readers_share_one_server_read_after_a_change(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"v": "1"})
    url, _ = _agent(setup, run_agent)
    path = f"{setup.kv}/data/db"
    with _audited(setup) as audit, httpx.Client(base_url=url, timeout=5) as warm:
        _warm(warm, setup.kv)
        before = _server_reads(audit, path)
        setup.put("db", {"v": "2"})
        changed = time.monotonic()

        def reader(_: int) -> float:
            with httpx.Client(base_url=url, timeout=5) as http:
                while _value(http, setup.kv) != "2":
                    assert time.monotonic() - changed < 10, "the change never reached the cache"
                for _ in range(50):
                    assert _value(http, setup.kv) == "2"
            return time.monotonic() - changed

        with ThreadPoolExecutor(max_workers=16) as pool:
            delays = list(pool.map(reader, range(16)))
        assert max(delays) < 10
        # Reads that raced the event are not stored, so a few may repeat; nothing like one per reader.
        assert 1 <= _server_reads(audit, path) - before <= 4


def test_kv_v1_reads_are_cached_and_invalidated_too(setup: Setup, run_agent: Agent) -> None:
    mount = f"kv1-{uuid.uuid4().hex[:8]}"
    setup.root.post(f"/v1/sys/mounts/{mount}", json={"type": "kv"}).raise_for_status()
    url, _ = _agent(setup, run_agent)
    try:
        setup.root.put(f"/v1/{mount}/db", json={"v": "1"}).raise_for_status()
        headers = {"X-Vault-Token": setup.server.root_token}
        with httpx.Client(base_url=url, timeout=5, headers=headers) as http:
            wait_for(lambda: "age" in http.get(f"/v1/{mount}/db").headers, 10, "a cached answer")
            setup.root.put(f"/v1/{mount}/db", json={"v": "2"}).raise_for_status()
            took = wait_for(lambda: http.get(f"/v1/{mount}/db").json()["data"]["v"] == "2", 5, "the change")
            assert took < 2.0
            # Not KV: forwarded every time, never answered from memory.
            assert all("age" not in http.get("/v1/sys/mounts").headers for _ in range(3))
            wait_for(lambda: "age" in http.get(f"/v1/{mount}/db").headers, 10, "a cached answer")
            # Disabling the mount sends no event: the next access check finds the mount gone.
            setup.root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()
            took = wait_for(lambda: http.get(f"/v1/{mount}/db").status_code != 200, 5, "the mount gone")
            assert took < 3.0  # the 1 s refresh interval, on a loaded machine
    finally:
        setup.root.delete(f"/v1/sys/mounts/{mount}").raise_for_status()


def test_tokens_never_share_entries(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"v": "secret"})
    url, _ = _agent(setup, run_agent)
    outsider = setup.root.post("/v1/auth/token/create", json={"policies": ["default"], "ttl": "10m"})
    token = outsider.json()["auth"]["client_token"]
    with httpx.Client(base_url=url, timeout=5) as http:
        _warm(http, setup.kv)
        refused = http.get(f"/v1/{setup.kv}/data/db", headers={"X-Vault-Token": token})
        assert refused.status_code == 403
        assert "secret" not in refused.text


def test_a_token_that_loses_read_is_refused_within_the_refresh_interval(
    setup: Setup, run_agent: Agent
) -> None:
    setup.put("db", {"v": "1"})
    policy = f"reader-{uuid.uuid4().hex[:8]}"
    subscribe = 'path "sys/events/subscribe/*" { capabilities = ["read", "subscribe"] }\n'
    rules = f'path "{setup.kv}/data/*" {{ capabilities = ["read"] }}\n' + subscribe
    setup.root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": rules}).raise_for_status()
    created = setup.root.post("/v1/auth/token/create", json={"policies": [policy], "ttl": "10m"})
    token = created.json()["auth"]["client_token"]
    url, _ = _agent(setup, run_agent)
    try:
        with httpx.Client(base_url=url, timeout=5, headers={"X-Vault-Token": token}) as http:
            _warm(http, setup.kv)
            setup.root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": subscribe}).raise_for_status()
            took = wait_for(lambda: http.get(f"/v1/{setup.kv}/data/db").status_code == 403, 5, "a 403")
            assert took < 3.0  # the 1 s refresh interval, on a loaded machine
    finally:
        setup.root.delete(f"/v1/sys/policies/acl/{policy}").raise_for_status()


def test_agent_api_metrics_cache_clear_and_quit(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"v": "1"})
    url, _ = _agent(setup, run_agent, listener="  agent_api {\n    enable_quit = true\n  }\n")
    with httpx.Client(base_url=url, timeout=5) as http:
        _warm(http, setup.kv)
        metrics = http.get("/agent/v1/metrics")
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "# TYPE vault_agent_cache_hit counter" in metrics.text
        assert http.post("/agent/v1/metrics").status_code == 405
        bad = http.post("/agent/v1/cache-clear", json={"type": "everything"})
        assert (bad.status_code, bad.json()) == (
            400,
            {"errors": ["failed to clear cache: invalid type provided"]},
        )
        empty = http.post("/agent/v1/cache-clear", json={})
        assert (empty.status_code, empty.json()) == (
            400,
            {"errors": ["failed to parse clear input: no type provided"]},
        )
        for body in (
            {"type": "request_path", "value": f"/v1/{setup.kv}/data/db"},
            {"type": "all"},
        ):
            misses = _metric(url, "vault_agent_cache_miss")
            cleared = http.post("/agent/v1/cache-clear", json=body)
            assert (cleared.status_code, cleared.content) == (200, b"")
            assert "age" not in http.get(f"/v1/{setup.kv}/data/db").headers
            assert _metric(url, "vault_agent_cache_miss") == misses + 1
        assert http.get("/agent/v1/quit").status_code == 405
        assert http.post("/agent/v1/quit").status_code == 200
    wait_for(lambda: not _up(url), 10, "the agent to quit")


def _up(url: str) -> bool:
    try:
        httpx.get(f"{url}/agent/v1/metrics", timeout=1)
    except httpx.HTTPError:
        return False
    return True


def test_quit_is_404_unless_enabled_and_require_request_header_guards_every_path(
    setup: Setup, run_agent: Agent
) -> None:
    url, _ = _agent(setup, run_agent, listener="  require_request_header = true\n")
    with httpx.Client(base_url=url, timeout=5) as http:
        for path in ("/v1/sys/health", "/agent/v1/metrics", "/agent/v1/quit"):
            missing = http.get(path)
            assert (missing.status_code, missing.json()) == (
                412,
                {"errors": ['missing "X-Vault-Request" header']},
            )
            assert http.get(path, headers={"X-Vault-Request": "True"}).status_code == 412
        http.headers["X-Vault-Request"] = "true"
        assert http.post("/agent/v1/quit").status_code == 404
        assert http.get("/v1/sys/health").status_code == 200
        assert http.get("/agent/v1/metrics").status_code == 200
    assert _up(url)


def test_without_cache_reads_go_to_the_server(setup: Setup, run_agent: Agent) -> None:
    setup.put("db", {"v": "1"})
    port = free_port()
    config = setup.approle_config(
        "api_proxy {\n  use_auto_auth_token = true\n}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    process: subprocess.Popen[str] = run_agent(config)
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: _up(url), 10, "the agent's listener", setup.dir / "agent.log")
    wait_for(lambda: read(setup.dir / "token") != "", 10, "the agent's login")
    with _audited(setup) as audit, httpx.Client(base_url=url, timeout=5) as http:
        assert all(_value(http, setup.kv) == "1" for _ in range(20))
        assert _server_reads(audit, f"{setup.kv}/data/db") == 20
        assert "vault_agent_cache_hit" not in http.get("/agent/v1/metrics").text
    assert process.poll() is None
