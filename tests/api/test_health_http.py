"""sys/health, sys/seal-status, sys/init and sys/leader over real HTTP: no token needed; Vault's flags."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.servers import RunningServer


@pytest.fixture
def anonymous(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.address, timeout=10) as client:
        yield client


def test_health_of_an_active_node(anonymous: httpx.Client) -> None:
    response = anonymous.get("/v1/sys/health")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert (body["initialized"], body["sealed"], body["standby"]) == (True, False, False)
    assert body["replication_performance_mode"] == "disabled"
    assert body["replication_dr_mode"] == "disabled"
    assert body["cluster_name"].startswith("vault-cluster-")
    assert isinstance(body["server_time_utc"], int)


def test_head_answers_the_status_without_a_body(anonymous: httpx.Client) -> None:
    response = anonymous.head("/v1/sys/health")
    assert response.status_code == 200
    assert response.content == b""
    assert anonymous.head("/v1/sys/health?activecode=204").status_code == 204


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("activecode=299", 299),
        ("activecode=200", 200),
        ("activecode=600", 600),  # OpenBao sends any code up to 999
        ("activecode=999", 999),
        ("standbyok=true", 200),
        ("standbyok=false", 200),
        ("standbyok=true&activecode=218", 218),
        (
            "sealedcode=299&uninitcode=299",
            200,
        ),  # hvac and the bao CLI send these; they apply only when sealed
        ("standbycode=299", 200),
        ("perfstandbyok=true", 200),
    ],
)
def test_health_query_flags(anonymous: httpx.Client, query: str, status: int) -> None:
    response = anonymous.get(f"/v1/sys/health?{query}")
    assert response.status_code == status
    assert response.json()["sealed"] is False


@pytest.mark.parametrize(
    "query",
    [
        "activecode=abc",
        "activecode=",
        "activecode=2.5",
        "activecode=%20299",
        "sealedcode=abc",
        "uninitcode=x",
        "standbycode=y",
        "standbyok=maybe",
        "activecode=99",  # OpenBao drops the connection here; a 400 says why
        "activecode=1000",  # the same
    ],
)
def test_invalid_health_flags_are_refused(anonymous: httpx.Client, query: str) -> None:
    response = anonymous.get(f"/v1/sys/health?{query}")
    assert response.status_code == 400
    assert response.json() == {"errors": []}


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_health_refuses_other_methods(anonymous: httpx.Client, method: str) -> None:
    assert anonymous.request(method, "/v1/sys/health").status_code == 405


def test_seal_status_init_and_leader(anonymous: httpx.Client) -> None:
    seal = anonymous.get("/v1/sys/seal-status").json()
    assert (seal["type"], seal["initialized"], seal["sealed"], seal["t"], seal["n"]) == (
        "shamir", True, False, 1, 1,
    )  # fmt: skip
    assert seal["progress"] == 0
    assert seal["storage_type"] == "inmem"
    assert anonymous.get("/v1/sys/init").json() == {"initialized": True}
    assert anonymous.get("/v1/sys/leader").json()["ha_enabled"] is False
