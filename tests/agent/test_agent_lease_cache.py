"""The agent's lease cache (`cache {}` with `api_proxy`): PostgreSQL credentials from the database engine
and tokens created through the proxy, served again per request and token, renewed by the agent, and
evicted on revocation and /agent/v1/cache-clear. A real agent process, a real server of this module's own
(server reads counted in a file audit device's log) and the tests' real PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import hvac
import pytest

from tests.agent.conftest import Agent, Setup, agent_world, read, wait_for
from tests.agent.test_agent_static_cache import _audited, _server_reads
from tests.postgres import CREATE_ROLE, Postgres
from tests.servers import API_AUDIT, RunningServer, free_port, strongroom_dev_server


@pytest.fixture(scope="module")
def audited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with strongroom_dev_server(tmp_path_factory.mktemp("lease-cache"), config=API_AUDIT) as server:
        yield server


@pytest.fixture
def world(audited_server: RunningServer, postgres: Postgres, tmp_path: Path) -> Iterator[tuple[Setup, str]]:
    """The agent world plus a database mount (role "app", a 1 h lease) whose credentials the agent's
    token may read, and the token rights the tests use through the proxy."""
    database = f"db-{uuid.uuid4().hex[:8]}"
    rules = (
        f'path "{database}/creds/*" {{ capabilities = ["read"] }}\n'
        'path "auth/token/create" { capabilities = ["update"] }\n'
    )
    with agent_world(audited_server, tmp_path, rules=rules) as setup:
        postgres.enable_database(setup.root, database, default_ttl="1h", max_ttl="2h")
        try:
            yield setup, database
        finally:
            setup.root.put(f"/v1/sys/leases/revoke-prefix/{database}").raise_for_status()
            setup.root.delete(f"/v1/sys/mounts/{database}").raise_for_status()


def _agent(setup: Setup, run_agent: Agent, cache: str = "") -> str:
    port = free_port()
    config = setup.approle_config(
        f"cache {{\n{cache}}}\napi_proxy {{\n  use_auto_auth_token = true\n}}\n"
        f'listener "tcp" {{\n  address = "127.0.0.1:{port}"\n  tls_disable = true\n}}\n'
    )
    run_agent(config)
    log = setup.dir / "agent.log"
    wait_for(lambda: read(setup.dir / "token") != "", 10, "the agent's login", log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/agent/v1/metrics", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 10, "the agent's listener", log)
    return url


def _creds(http: httpx.Client, database: str, token: str = "") -> dict[str, object]:
    headers = {"X-Vault-Token": token} if token else {}
    answer = http.get(f"/v1/{database}/creds/app", headers=headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def _lease(http: httpx.Client, database: str) -> str:
    return str(_creds(http, database)["lease_id"])


def test_replicas_share_one_database_lease_and_the_server_sees_one_read(
    world: tuple[Setup, str], run_agent: Agent, postgres: Postgres
) -> None:
    setup, database = world
    url = _agent(setup, run_agent)
    path = f"{database}/creds/app"
    with _audited(setup) as audit:
        # Eight replicas ask at once: the first request goes to the server, the others wait for its answer.
        def replica(index: int) -> dict[str, object]:
            with httpx.Client(base_url=url, timeout=10, headers={"User-Agent": f"replica-{index}"}) as http:
                return _creds(http, database)

        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(replica, range(8)))
        leases = {str(a["lease_id"]) for a in answers}
        users = {str(a["data"]["username"]) for a in answers}  # type: ignore[index]
        assert (len(leases), len(users)) == (1, 1)
        assert postgres.role_exists(users.pop())
        tokenless = hvac.Client(url=url, timeout=10)
        tokenless.token = ""
        from_hvac = tokenless.secrets.database.generate_credentials(name="app", mount_point=database)
        assert from_hvac["lease_id"] in leases
        with httpx.Client(base_url=url, timeout=10) as http:
            began = time.monotonic()
            cached = [http.get(f"/v1/{path}") for _ in range(1000)]
            took = time.monotonic() - began
        assert {a.json()["lease_id"] for a in cached} == leases
        assert all("age" in a.headers for a in cached)
        assert _server_reads(audit, path) == 1
    # A number the report quotes: 1000 cached reads, one server read.
    print(f"1000 leased reads through the agent: {took:.2f}s, {_server_reads(audit, path)} on the server")
    metrics = httpx.get(f"{url}/agent/v1/metrics").text
    assert "vault_agent_lease_cache_hit " in metrics


def test_the_agent_renews_the_leases_it_caches(
    world: tuple[Setup, str], run_agent: Agent, postgres: Postgres
) -> None:
    setup, database = world
    _role(setup, database, "short", default_ttl="6s", max_ttl="1h")
    url = _agent(setup, run_agent)
    with httpx.Client(base_url=url, timeout=10) as http:
        first = http.get(f"/v1/{database}/creds/short").json()
        lease = first["lease_id"]

        def expiry() -> datetime:
            answer = setup.root.put("/v1/sys/leases/lookup", json={"lease_id": lease})
            answer.raise_for_status()
            return datetime.fromisoformat(answer.json()["data"]["expire_time"])

        issued = expiry()
        # Renewed at two thirds of its 6 s: the server's expiry moves on, and the cache still serves it.
        wait_for(lambda: (expiry() - issued).total_seconds() >= 2, 15, "the lease's renewal")
        time.sleep(2.5)
        again = http.get(f"/v1/{database}/creds/short").json()
        assert again["lease_id"] == lease
        assert postgres.role_exists(first["data"]["username"])
    assert _metric(url, "vault_agent_lease_cache_renewal") >= 1


def test_a_lease_capped_by_its_max_ttl_is_evicted_before_it_expires(
    world: tuple[Setup, str], run_agent: Agent
) -> None:
    setup, database = world
    _role(setup, database, "capped", default_ttl="3s", max_ttl="4s")
    url = _agent(setup, run_agent)
    with httpx.Client(base_url=url, timeout=10) as http:
        began = time.monotonic()
        lease = http.get(f"/v1/{database}/creds/capped").json()["lease_id"]
        # Renewed at 2 s, the server grants the 2 s left to the max TTL: the last term, kept for 90% of it
        # (3.8 s), never renewed again; the next read gets a new lease.
        path = f"/v1/{database}/creds/capped"
        wait_for(lambda: http.get(path).json()["lease_id"] != lease, 15, "a new lease")
        assert time.monotonic() - began < 4.5
    assert _metric(url, "vault_agent_lease_cache_renewal") == 1


def _role(setup: Setup, database: str, name: str, **ttls: str) -> None:
    body = {"db_name": "pg", "creation_statements": [CREATE_ROLE], **ttls}
    setup.root.post(f"/v1/{database}/roles/{name}", json=body).raise_for_status()


def _metric(url: str, name: str) -> int:
    text = httpx.get(f"{url}/agent/v1/metrics").text
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith(f"{name} ")))


def test_revocation_through_the_proxy_evicts_what_it_revoked(
    world: tuple[Setup, str], run_agent: Agent
) -> None:
    setup, database = world
    url = _agent(setup, run_agent)
    root = {"X-Vault-Token": setup.server.root_token}
    with httpx.Client(base_url=url, timeout=10) as http:
        lease = _lease(http, database)
        assert _lease(http, database) == lease
        revoked = http.put("/v1/sys/leases/revoke", json={"lease_id": lease}, headers=root)
        assert revoked.status_code == 204, revoked.text
        second = _lease(http, database)
        assert second != lease
        assert _lease(http, database) == second
        prefix = http.put(f"/v1/sys/leases/revoke-prefix/{database}/creds", headers=root)
        assert prefix.status_code == 204, prefix.text
        third = _lease(http, database)
        assert third not in (lease, second)
        # A revocation the server refuses evicts nothing.
        refused = http.put("/v1/sys/leases/revoke", json={"lease_id": third})
        assert refused.status_code == 403
        assert _lease(http, database) == third


def test_tokens_created_through_the_proxy_are_cached_until_revoked(
    world: tuple[Setup, str], run_agent: Agent
) -> None:
    setup, database = world
    url = _agent(setup, run_agent)
    policy = f"agent-{setup.kv.removeprefix('kv-')}"
    create = {"policies": [policy], "ttl": "1h"}
    with httpx.Client(base_url=url, timeout=10) as http:
        made = http.post("/v1/auth/token/create", json=create)
        assert made.status_code == 200, made.text
        parent = made.json()["auth"]["client_token"]
        assert http.post("/v1/auth/token/create", json=create).json()["auth"]["client_token"] == parent
        # A child of the created token, and a lease obtained with it: both managed, both cached.
        child = http.post("/v1/auth/token/create", json=create, headers={"X-Vault-Token": parent})
        assert child.status_code == 200, child.text
        lease = _creds(http, database, parent)["lease_id"]
        assert _creds(http, database, parent)["lease_id"] == lease
        # Revoking the parent through the proxy evicts it, its child's entry and its lease's.
        revoked = http.post("/v1/auth/token/revoke-self", headers={"X-Vault-Token": parent})
        assert revoked.status_code == 204, revoked.text
        again = http.post("/v1/auth/token/create", json=create, headers={"X-Vault-Token": parent})
        assert again.status_code == 403
        assert http.get(f"/v1/{database}/creds/app", headers={"X-Vault-Token": parent}).status_code == 403
        fresh = http.post("/v1/auth/token/create", json=create).json()["auth"]["client_token"]
        assert fresh != parent
        # auth/token/revoke names the token in the body.
        root = {"X-Vault-Token": setup.server.root_token}
        assert http.post("/v1/auth/token/revoke", json={"token": fresh}, headers=root).status_code == 204
        assert http.post("/v1/auth/token/create", json=create).json()["auth"]["client_token"] != fresh


def test_a_login_through_the_proxy_is_cached(world: tuple[Setup, str], run_agent: Agent) -> None:
    setup, _ = world
    url = _agent(setup, run_agent)
    role_id = (setup.dir / "role_id").read_text()
    login = {"role_id": role_id, "secret_id": setup.new_secret_id()}
    with httpx.Client(base_url=url, timeout=10) as http:
        first = http.post(f"/v1/auth/{setup.approle}/login", json=login)
        assert first.status_code == 200, first.text
        second = http.post(f"/v1/auth/{setup.approle}/login", json=login)
        assert second.json()["auth"]["client_token"] == first.json()["auth"]["client_token"]
        assert "age" in second.headers


def test_cache_clear_by_each_type(world: tuple[Setup, str], run_agent: Agent) -> None:
    setup, database = world
    url = _agent(setup, run_agent)
    agent_token = read(setup.dir / "token")
    with httpx.Client(base_url=url, timeout=10) as http:

        def cleared(kind: str, value: str = "", namespace: str = "") -> None:
            body = {"type": kind, "value": value, **({"namespace": namespace} if namespace else {})}
            answer = http.post("/agent/v1/cache-clear", json=body)
            assert (answer.status_code, answer.content) == (200, b"")

        lease = _lease(http, database)
        for kind, value in (
            ("lease", lease),
            ("request_path", f"/v1/{database}/creds"),
            ("token", agent_token),
            ("all", ""),
        ):
            # Something else by that name clears nothing.
            if kind != "all":
                cleared(kind, value + "x" if kind != "request_path" else f"/v1/{database}/other")
                assert _lease(http, database) == lease
            cleared(kind, value, "root" if kind == "request_path" else "")
            renewed = _lease(http, database)
            assert renewed != lease, kind
            lease = renewed
        made = http.post("/v1/auth/token/create", json={"ttl": "1h", "policies": ["default"]})
        token, accessor = made.json()["auth"]["client_token"], made.json()["auth"]["accessor"]
        create = {"ttl": "1h", "policies": ["default"]}
        assert http.post("/v1/auth/token/create", json=create).json()["auth"]["client_token"] == token
        cleared("token_accessor", accessor)
        assert http.post("/v1/auth/token/create", json=create).json()["auth"]["client_token"] != token
        for kind, named in (("token", "token"), ("lease", "lease"), ("request_path", "request path")):
            missing = http.post("/agent/v1/cache-clear", json={"type": kind})
            assert (missing.status_code, missing.json()) == (
                500,
                {"errors": [f"failed to clear cache: {named} not provided"]},
            )


def test_disable_caching_dynamic_secrets_forwards_every_request(
    world: tuple[Setup, str], run_agent: Agent
) -> None:
    setup, database = world
    url = _agent(setup, run_agent, cache="  disable_caching_dynamic_secrets = true\n")
    with httpx.Client(base_url=url, timeout=10) as http:
        assert _lease(http, database) != _lease(http, database)
