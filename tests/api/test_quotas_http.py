"""sys/quotas over real HTTP: the API answers compared with OpenBao's, and rate limits enforced.

Each module gets servers of its own: a quota is server-wide state, and every client here is 127.0.0.1.
Timing: intervals are long (30-60 s) wherever a test needs requests to fall in one window, so a loaded
machine cannot split them; the tests that wait for a window or a block to pass allow a second of slack.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import pytest

from tests.servers import (
    API_AUDIT,
    RunningServer,
    bao_dev_server,
    free_port,
    init_and_unseal,
    sqlite_config,
    strongroom_config_server,
    strongroom_dev_server,
)

QUOTAS = "/v1/sys/quotas"
DEFAULT_EXEMPT = [
    "sys/generate-recovery-token/attempt",
    "sys/generate-recovery-token/update",
    "sys/generate-root/attempt",
    "sys/generate-root/update",
    "sys/health",
    "sys/seal-status",
    "sys/unseal",
]


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with strongroom_dev_server(tmp_path_factory.mktemp("quotas"), config=API_AUDIT) as running:
        _prepare(running)
        yield running


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with bao_dev_server(tmp_path_factory.mktemp("quotas-bao")) as running:
        _prepare(running)
        yield running


def _prepare(server: RunningServer) -> None:
    with server.client() as client:
        for path, kind in (("approle", "approle"), ("userpass", "userpass")):
            client.post(f"/v1/sys/auth/{path}", json={"type": kind}).raise_for_status()
        for role in ("web", "api"):
            client.post(f"/v1/auth/approle/role/{role}", json={"bind_secret_id": False, "token_ttl": "1h",
                        "secret_id_bound_cidrs": ["127.0.0.1/32"]}).raise_for_status()  # fmt: skip


def _answer(response: httpx.Response) -> tuple[int, Any]:
    """Status and the parts of the body that do not vary between servers (no request IDs)."""
    if not response.content:
        return response.status_code, None
    body = response.json()
    return response.status_code, body.get("data", body) if isinstance(body, dict) else body


# The same requests to both servers, in order; none is rate limited (rates are high, or scoped elsewhere).
API_REQUESTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "config", None),
    ("LIST", "rate-limit", None),
    ("GET", "rate-limit/missing", None),
    ("DELETE", "rate-limit/missing", None),
    ("POST", "rate-limit/a", {}),
    ("POST", "rate-limit/a", {"rate": -1}),
    ("POST", "rate-limit/a", {"rate": "abc"}),
    ("POST", "rate-limit/a", {"rate": 5, "interval": "abc"}),
    ("POST", "rate-limit/a", {"rate": 5, "block_interval": -5}),
    ("POST", "rate-limit/a", {"rate": 5, "path": "nomount/"}),
    ("POST", "rate-limit/a", {"rate": 5, "path": "secret/foo", "role": "web"}),
    ("POST", "rate-limit/a", {"rate": 5, "path": "secret/", "role": "web"}),
    ("POST", "rate-limit/a", {"rate": 5, "path": "auth/userpass", "role": "web"}),
    ("POST", "rate-limit/a", {"rate": 5, "path": "auth/token", "role": "web"}),
    ("POST", "rate-limit/bad%20name", {"rate": 5}),
    ("POST", "rate-limit/mount", {"rate": 500, "path": "/secret", "interval": "1m", "block_interval": "2m"}),
    ("GET", "rate-limit/mount", None),
    ("POST", "rate-limit/exact", {"rate": 500.5, "path": "secret/foo/"}),
    ("GET", "rate-limit/exact", None),
    ("POST", "rate-limit/other", {"rate": 500, "path": "secret/foo"}),
    ("POST", "rate-limit/glob", {"rate": 500, "path": "secret/foo*"}),
    ("GET", "rate-limit/glob", None),
    ("POST", "rate-limit/role", {"rate": 500, "path": "auth/approle", "role": "web"}),
    ("GET", "rate-limit/role", None),
    ("POST", "rate-limit/global", {"rate": 1000}),
    ("GET", "rate-limit/global", None),
    ("POST", "rate-limit/global", {"rate": 900, "path": "secret/bar", "inheritable": False}),
    ("GET", "rate-limit/global", None),
    ("GET", "rate-limit", None),
    ("POST", "config", {"enable_rate_limit_response_headers": True}),
    ("GET", "config", None),
    (
        "POST",
        "config",
        {"rate_limit_exempt_paths": ["sys/health", "kv/"], "enable_rate_limit_audit_logging": 1},
    ),
    ("GET", "config", None),
    ("POST", "config", {"rate_limit_exempt_paths": "a,b"}),
    ("GET", "config", None),
    ("DELETE", "rate-limit/mount", None),
    ("GET", "rate-limit/mount", None),
    ("POST", "lease-count/x", {"max_leases": 1}),
]


def test_the_api_answers_as_openbao(ours: RunningServer, reference: RunningServer) -> None:
    with ours.client() as mine, reference.client() as theirs:
        for method, path, body in API_REQUESTS:
            url = f"{QUOTAS}/{path}"
            if path == "lease-count/x":
                continue  # Vault Enterprise's; OpenBao has none (see test_lease_count_paths)
            got, want = (_answer(c.request(method, url, json=body)) for c in (mine, theirs))
            assert got == want, (method, path, body)
        keys = [
            sorted(c.request("LIST", f"{QUOTAS}/rate-limit").json()["data"]["keys"]) for c in (mine, theirs)
        ]
        assert keys[0] == keys[1] == ["exact", "glob", "global", "role"]
        for client in (mine, theirs):
            for name in keys[0]:
                assert client.delete(f"{QUOTAS}/rate-limit/{name}").status_code == 204
            assert client.post(f"{QUOTAS}/config", json={}).status_code == 204


def test_hvac_quota_calls(ours: RunningServer) -> None:
    client = hvac.Client(url=ours.address, token=ours.root_token)
    client.sys.create_or_update_quota(name="hv", rate=250.0, path="secret/", interval="10s")
    read = client.sys.read_quota(name="hv")["data"]
    assert (read["path"], read["rate"], read["interval"]) == ("secret/", 250, 10)
    assert client.sys.list_quotas()["data"]["keys"] == ["hv"]
    client.sys.delete_quota(name="hv")
    with pytest.raises(hvac.exceptions.InvalidPath):
        client.sys.read_quota(name="hv")


def _quota(client: httpx.Client, name: str, **fields: Any) -> None:
    assert client.post(f"{QUOTAS}/rate-limit/{name}", json=fields).status_code == 204


def _headers(client: httpx.Client, on: bool) -> None:
    assert client.post(f"{QUOTAS}/config", json={"enable_rate_limit_response_headers": on}).status_code == 204


def test_the_third_request_in_a_window_of_two_is_refused_with_retry_after(ours: RunningServer) -> None:
    with ours.client() as client:
        _headers(client, True)
        _quota(client, "two", rate=2, interval="60s", path="secret/")
        try:
            first = client.get("/v1/secret/data/nothing")
            assert first.status_code == 404
            assert (first.headers["X-Ratelimit-Limit"], first.headers["X-Ratelimit-Remaining"]) == ("2", "1")
            # Refused by a later stage, the answer still carries them (as Vault's: quotas are checked first).
            denied = httpx.get(f"{ours.address}/v1/secret/data/nothing", headers={"X-Vault-Token": "bad"})
            assert denied.status_code == 403
            assert denied.headers["X-Ratelimit-Remaining"] == "0"
            third = client.get("/v1/secret/data/nothing")
            assert third.status_code == 429
            assert third.json() == {
                "errors": ['request path "secret/data/nothing": rate limit quota exceeded']
            }
            assert 0 < int(third.headers["Retry-After"]) <= 60
            assert third.headers["X-Ratelimit-Reset"] == third.headers["Retry-After"]
            # Other mounts are not limited by it.
            assert all(client.get("/v1/sys/mounts").status_code == 200 for _ in range(4))
            # Without the header switch, a refusal carries no rate limit header.
            _headers(client, False)
            refused = client.get("/v1/secret/data/nothing")
            assert refused.status_code == 429
            assert "Retry-After" not in refused.headers
            assert "X-Ratelimit-Limit" not in refused.headers
        finally:
            client.delete(f"{QUOTAS}/rate-limit/two")
        assert client.get("/v1/secret/data/nothing").status_code == 404


def test_block_interval_refuses_the_client_until_it_has_passed(ours: RunningServer) -> None:
    with ours.client() as client:
        _headers(client, True)
        _quota(client, "blocking", rate=1, interval="1s", block_interval="4s", path="secret/")
        try:
            for _ in range(20):  # one request per 1 s window passes: the second in the same window blocks
                refused = client.get("/v1/secret/data/nothing")
                if refused.status_code == 429:
                    break
            blocked_at = time.monotonic()
            assert refused.status_code == 429
            assert 3 <= int(refused.headers["Retry-After"]) <= 4
            time.sleep(1.5)  # a new window, yet the block holds
            still = client.get("/v1/secret/data/nothing")
            assert still.status_code == 429
            assert "X-Ratelimit-Limit" not in still.headers
            assert int(still.headers["Retry-After"]) <= 3
            time.sleep(max(0.0, blocked_at + 5 - time.monotonic()))
            assert client.get("/v1/secret/data/nothing").status_code == 404
        finally:
            client.delete(f"{QUOTAS}/rate-limit/blocking")
            _headers(client, False)


def test_the_most_specific_quota_applies_and_exempt_paths_pass(ours: RunningServer) -> None:
    with ours.client() as client:
        _quota(client, "mount", rate=1, interval="60s", path="secret/")
        _quota(client, "hot", rate=3, interval="60s", path="secret/data/hot")
        _quota(client, "prefix", rate=2, interval="60s", path="secret/data/pre*")
        try:
            statuses = [client.get("/v1/secret/data/hot").status_code for _ in range(4)]
            assert statuses == [404, 404, 404, 429]
            # "hot/more" is not "hot": the exact rule does not reach it; the mount's does.
            prefixed = [client.get(f"/v1/secret/data/pre{n}").status_code for n in ("a", "b", "fix/c")]
            assert prefixed == [404, 404, 429]
            assert [client.get("/v1/secret/data/hot/more").status_code for _ in range(2)] == [404, 429]
            assert client.get("/v1/secret/data/cold").status_code == 429
            # An exempt path is never limited; the default list is back once the config is reset.
            exempt = {"rate_limit_exempt_paths": ["secret/data/free"]}
            assert client.post(f"{QUOTAS}/config", json=exempt).status_code == 204
            assert [client.get("/v1/secret/data/free").status_code for _ in range(3)] == [404] * 3
            assert client.get(f"{QUOTAS}/config").json()["data"]["rate_limit_exempt_paths"] == [
                "secret/data/free"
            ]
        finally:
            for name in ("mount", "hot", "prefix"):
                client.delete(f"{QUOTAS}/rate-limit/{name}")
            client.post(f"{QUOTAS}/config", json={"rate_limit_exempt_paths": DEFAULT_EXEMPT})
        assert client.get("/v1/secret/data/cold").status_code == 404


def test_a_global_quota_spares_the_exempt_status_paths(ours: RunningServer) -> None:
    with ours.client() as client:
        _quota(client, "everything", rate=1, interval="10s")
        try:
            assert client.get("/v1/secret/data/x").status_code == 404
            assert client.get("/v1/sys/mounts").status_code == 429
            assert all(client.get("/v1/sys/health").status_code == 200 for _ in range(3))
            assert all(client.get("/v1/sys/seal-status").status_code == 200 for _ in range(3))
        finally:
            # The quota's own path is limited too: the window must pass before it can be deleted.
            deadline = time.monotonic() + 20
            while client.delete(f"{QUOTAS}/rate-limit/everything").status_code == 429:
                assert time.monotonic() < deadline
                time.sleep(1)


def _role_id(client: httpx.Client, role: str) -> str:
    role_id: str = client.get(f"/v1/auth/approle/role/{role}/role-id").json()["data"]["role_id"]
    return role_id


def test_a_role_quota_limits_that_roles_logins_only(ours: RunningServer) -> None:
    with ours.client() as client:
        web, api = _role_id(client, "web"), _role_id(client, "api")
        _quota(client, "web-logins", rate=1, interval="60s", path="auth/approle", role="web")
        try:
            login = "/v1/auth/approle/login"
            assert client.post(login, json={"role_id": web}).status_code == 200
            refused = client.post(login, json={"role_id": web})
            assert refused.status_code == 429
            assert refused.json()["errors"] == [
                'request path "auth/approle/login": rate limit quota exceeded'
            ]
            assert [client.post(login, json={"role_id": api}).status_code for _ in range(3)] == [200] * 3
        finally:
            client.delete(f"{QUOTAS}/rate-limit/web-logins")


def test_failed_logins_are_limited_per_client_address(ours: RunningServer) -> None:
    """The default guard: 20 failed logins a second from one address, then its logins get 429 until the
    second is over; successful logins never count (bench/bench.py logs in ~1,800 times a second)."""
    login = "/v1/auth/approle/login"
    with ours.client() as client:
        web = _role_id(client, "web")
        assert all(client.post(login, json={"role_id": web}).status_code == 200 for _ in range(30))
        statuses: list[int] = []
        while 429 not in statuses and len(statuses) < 500:
            statuses.append(client.post(login, json={"role_id": "guess"}).status_code)
        assert statuses[-1] == 429
        assert set(statuses[:-1]) == {400}
        assert len(statuses) > 20
        assert statuses[-1] == client.post(login, json={"role_id": web}).status_code  # refused unchecked
        time.sleep(1.2)
        assert client.post(login, json={"role_id": web}).status_code == 200


def test_the_failed_login_guard_can_be_switched_off(tmp_path_factory: pytest.TempPathFactory) -> None:
    config = "failed_login_rate_limit = 0\n"
    with (
        strongroom_dev_server(tmp_path_factory.mktemp("noguard"), config=config) as server,
        server.client() as c,
    ):
        c.post("/v1/sys/auth/userpass", json={"type": "userpass"}).raise_for_status()
        statuses = {
            c.post("/v1/auth/userpass/login/nobody", json={"password": "x"}).status_code for _ in range(40)
        }
        assert statuses == {400}


def test_quotas_survive_a_restart_and_a_seal(tmp_path_factory: pytest.TempPathFactory) -> None:
    workdir = tmp_path_factory.mktemp("quotas-persist")
    port = free_port()
    config = sqlite_config(workdir, port)
    with strongroom_config_server(workdir, config, port) as server:
        key, token = init_and_unseal(server.address)
        with httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as client:
            client.post("/v1/sys/mounts/secret", json={"type": "kv"}).raise_for_status()
            _quota(client, "kept", rate=1, interval="60s", path="secret/", block_interval="5s")
            client.post(
                f"{QUOTAS}/config", json={"enable_rate_limit_response_headers": True}
            ).raise_for_status()
            client.post("/v1/sys/seal").raise_for_status()
            client.put("/v1/sys/unseal", json={"key": key}).raise_for_status()
            assert client.get(f"{QUOTAS}/rate-limit/kept").json()["data"]["block_interval"] == 5
    with (
        strongroom_config_server(workdir, config, port) as server,
        httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as client,
    ):
        client.put("/v1/sys/unseal", json={"key": key}).raise_for_status()
        read = client.get(f"{QUOTAS}/rate-limit/kept").json()["data"]
        assert (read["path"], read["rate"], read["interval"], read["block_interval"]) == (
            "secret/",
            1,
            60,
            5,
        )
        config_now = client.get(f"{QUOTAS}/config").json()["data"]
        assert config_now == {
            "enable_rate_limit_audit_logging": False,
            "enable_rate_limit_response_headers": True,
            "rate_limit_exempt_paths": [],
        }
        assert [client.get("/v1/secret/x").status_code for _ in range(2)] == [404, 429]


def test_a_lease_count_quota_refuses_new_leases_until_one_is_revoked(ours: RunningServer) -> None:
    login = "/v1/auth/counted/login"
    with ours.client() as client:
        client.post("/v1/sys/auth/counted", json={"type": "approle"}).raise_for_status()
        client.post("/v1/auth/counted/role/app", json={"bind_secret_id": False, "token_ttl": "1h",
                    "secret_id_bound_cidrs": ["127.0.0.1/32"]}).raise_for_status()  # fmt: skip
        role_id = client.get("/v1/auth/counted/role/app/role-id").json()["data"]["role_id"]
        refused = client.post(f"{QUOTAS}/lease-count/two", json={"max_leases": 0, "path": "auth/counted"})
        assert refused.status_code == 400
        written = client.post(f"{QUOTAS}/lease-count/two", json={"max_leases": 2, "path": "auth/counted"})
        assert written.status_code == 204
        try:
            tokens = [
                client.post(login, json={"role_id": role_id}).json()["auth"]["client_token"] for _ in "ab"
            ]
            over = client.post(login, json={"role_id": role_id})
            assert over.status_code == 429
            assert over.json() == {
                "errors": ['request path "auth/counted/login": lease count quota exceeded']
            }
            read = client.get(f"{QUOTAS}/lease-count/two").json()["data"]
            assert (read["max_leases"], read["counter"], read["path"]) == (2, 2, "auth/counted/")
            assert client.request("LIST", f"{QUOTAS}/lease-count").json()["data"]["keys"] == ["two"]
            # Other mounts are not counted against it; revoking a token frees its place.
            assert client.get("/v1/auth/approle/role/web/role-id").status_code == 200
            client.post("/v1/auth/token/revoke", json={"token": tokens[0]}).raise_for_status()
            assert client.post(login, json={"role_id": role_id}).status_code == 200
        finally:
            assert client.delete(f"{QUOTAS}/lease-count/two").status_code == 204
        assert client.post(login, json={"role_id": role_id}).status_code == 200


def test_disabling_a_mount_deletes_its_quotas_as_openbao(
    ours: RunningServer, reference: RunningServer
) -> None:
    answers = []
    for server in (ours, reference):
        with server.client() as client:
            client.post("/v1/sys/mounts/pruned", json={"type": "kv"}).raise_for_status()
            _quota(client, "pruned", rate=100, path="pruned/")
            _quota(client, "kept", rate=100, path="secret/")
            client.delete("/v1/sys/mounts/pruned").raise_for_status()
            answers.append(
                [_answer(client.get(f"{QUOTAS}/rate-limit/{name}")) for name in ("pruned", "kept")]
            )
            client.delete(f"{QUOTAS}/rate-limit/kept")
    assert answers[0] == answers[1]
    assert [status for status, _ in answers[0]] == [404, 200]


def test_rate_limit_refusals_are_audited_only_when_the_config_says_so(
    ours: RunningServer, tmp_path: Path
) -> None:
    log = tmp_path / "audit.log"

    def refusals() -> list[str]:
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        return [entry["error"] for entry in entries if "rate limit" in entry.get("error", "")]

    with ours.client() as client:
        device = {"type": "file", "options": {"file_path": str(log)}}
        assert client.put("/v1/sys/audit/quota-file", json=device).status_code == 204
        _quota(client, "audited", rate=1, interval="60s", path="secret/")
        try:
            assert [client.get(f"/v1/secret/data/{n}").status_code for n in "ab"] == [404, 429]
            assert refusals() == []
            logging = {"enable_rate_limit_audit_logging": True}
            assert client.post(f"{QUOTAS}/config", json=logging).status_code == 204
            assert client.get("/v1/secret/data/c").status_code == 429
            assert set(refusals()) == {'request path "secret/data/c": rate limit quota exceeded'}
        finally:
            client.delete(f"{QUOTAS}/rate-limit/audited")
            client.post(f"{QUOTAS}/config", json={"rate_limit_exempt_paths": DEFAULT_EXEMPT})
            client.delete("/v1/sys/audit/quota-file")
