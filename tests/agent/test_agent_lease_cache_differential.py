"""The lease cache of strongroom's agent and of OpenBao Agent, each beside its own server with the same
agent.hcl (the root token by token_file, `cache {}`, `use_auto_auth_token = true`): the same requests
through each, and the same observations of what was served again, what was evicted, and when. The
database engine on both talks to the tests' real PostgreSQL.
"""

from __future__ import annotations

import time
import uuid

import httpx

from tests.agent.test_agent_api_differential import Start, start_agents
from tests.postgres import Postgres
from tests.servers import RunningServer

__all__ = ["start_agents"]


def _token(http: httpx.Client, body: dict[str, object], token: str = "") -> str:
    headers = {"X-Vault-Token": token} if token else {}
    answer = http.post("/v1/auth/token/create", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["auth"]["client_token"])


def _observe(url: str, server: RunningServer, postgres: Postgres) -> dict[str, object]:
    database = f"db-{uuid.uuid4().hex[:8]}"
    creator = f"creator-{database}"
    with server.client() as root:
        postgres.enable_database(root, database)
        rules = 'path "auth/token/create" { capabilities = ["update"] }\n'
        root.put(f"/v1/sys/policies/acl/{creator}", json={"policy": rules}).raise_for_status()
    seen: dict[str, object] = {}
    renewable = {"policies": [creator], "ttl": "1h"}
    with httpx.Client(base_url=url, timeout=10) as http:

        def lease() -> str:
            answer = http.get(f"/v1/{database}/creds/app")
            assert answer.status_code == 200, answer.text
            return str(answer.json()["lease_id"])

        def clear(kind: str, value: str) -> None:
            answer = http.post("/agent/v1/cache-clear", json={"type": kind, "value": value})
            assert answer.status_code == 200, answer.text

        created = [http.post("/v1/auth/token/create", json=renewable) for _ in range(2)]
        # Age counts whole seconds since the answer was cached: which number depends on the machine's pace.
        seen["X-Cache and Age"] = [
            (a.headers.get("x-cache"), _seconds(a.headers.get("age"))) for a in created
        ]
        first = str(created[0].json()["auth"]["client_token"])
        seen["a token created twice is one token"] = _token(http, renewable) == first
        fixed = {"policies": [creator], "ttl": "1h", "renewable": False}
        seen["a non-renewable token is not cached"] = _token(http, fixed) != _token(http, fixed)
        child = _token(http, renewable, first)
        seen["a child token is cached"] = _token(http, renewable, first) == child
        revoked = http.post("/v1/auth/token/revoke", json={"token": first})
        seen["revoke answers"] = revoked.status_code
        parentless = http.post("/v1/auth/token/create", json=renewable, headers={"X-Vault-Token": first})
        seen["the revoked parent's child is evicted"] = parentless.status_code
        second = _token(http, renewable)
        seen["the revoked token is not served again"] = second != first
        accessor = http.post("/v1/auth/token/lookup", json={"token": second}).json()["data"]["accessor"]
        clear("token_accessor", accessor)
        seen["cleared by accessor"] = _token(http, renewable) != second
        leased = lease()
        seen["a lease read twice is one lease"] = lease() == leased
        seen["lease revoke answers"] = http.put(
            "/v1/sys/leases/revoke", json={"lease_id": leased}
        ).status_code
        # OpenBao Agent evicts a revoked lease after it has answered the revocation: the next read may still
        # find it for a moment.
        renewed, deadline = lease(), time.monotonic() + 2
        while renewed == leased and time.monotonic() < deadline:
            time.sleep(0.1)
            renewed = lease()
        seen["a revoked lease is not served again"] = renewed != leased
        clear("request_path", f"/v1/{database}/creds")
        seen["cleared by request path prefix"] = lease() != renewed
        third = lease()
        clear("lease", third)
        seen["cleared by lease"] = lease() != third
    with server.client() as root:
        root.put(f"/v1/sys/leases/revoke-prefix/{database}").raise_for_status()
        root.delete(f"/v1/sys/mounts/{database}").raise_for_status()
        root.delete(f"/v1/sys/policies/acl/{creator}").raise_for_status()
    return seen


def _seconds(age: str | None) -> str | None:
    """An Age header as what it is: absent, a count of seconds, or something else (shown as it is)."""
    return age if age is None or not age.isdigit() else "seconds"


def test_the_lease_cache_serves_and_evicts_as_openbao_agent_does(
    server: RunningServer, bao: RunningServer, postgres: Postgres, start_agents: Start
) -> None:
    ours = _observe(start_agents(server, "", False), server, postgres)
    theirs = _observe(start_agents(bao, "", True), bao, postgres)
    assert ours == theirs, (ours, theirs)
    assert ours["a lease read twice is one lease"] is True
    assert ours.pop("the revoked parent's child is evicted") == 403
    assert ours["X-Cache and Age"] == [("MISS", None), ("HIT", "seconds")]
    assert all(value is True for key, value in ours.items() if key[0].islower() and "answers" not in key)
