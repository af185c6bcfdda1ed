"""sys/events/subscribe over a real WebSocket against a real dev server: delivery within a second, the
subscribe capability, per-event read filtering, globs, refusals, revocation and sealing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.servers import RunningServer, strongroom_dev_server

SECRET_VALUE = "hunter2-never-in-an-event"


def ws_url(server: RunningServer, pattern: str, json: str = "true") -> str:
    return server.address.replace("http://", "ws://") + f"/v1/sys/events/subscribe/{pattern}?json={json}"


@asynccontextmanager
async def subscribed(
    server: RunningServer, pattern: str, token: str = "root"
) -> AsyncIterator[ClientConnection]:
    async with connect(ws_url(server, pattern), additional_headers={"X-Vault-Token": token}) as ws:
        yield ws


async def next_event(ws: ClientConnection, timeout: float = 1.0) -> dict[str, Any]:
    frame = await asyncio.wait_for(ws.recv(), timeout)
    assert isinstance(frame, str)
    event: dict[str, Any] = orjson.loads(frame)
    return event


async def no_event(ws: ClientConnection, wait: float = 0.3) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ws.recv(), wait)


def put(server: RunningServer, path: str, token: str = "root", **data: str) -> httpx.Response:
    with server.client(token) as client:
        response = client.post(f"/v1/{path}", json={"data": data} if "/data/" in path else data)
    assert response.status_code in (200, 204), response.text
    return response


def token_with(server: RunningServer, policy: str) -> str:
    name = f"events-{uuid.uuid4().hex[:8]}"
    with server.client() as client:
        assert client.put(f"/v1/sys/policies/acl/{name}", json={"policy": policy}).status_code == 204
        created = client.post("/v1/auth/token/create", json={"policies": [name]})
    assert created.status_code == 200, created.text
    token: str = created.json()["auth"]["client_token"]
    return token


async def test_data_write_event_arrives_within_a_second_without_values(server: RunningServer) -> None:
    key = f"events/{uuid.uuid4().hex[:8]}"
    async with subscribed(server, "kv-v2/data-write") as ws:
        put(server, f"secret/data/{key}", password=SECRET_VALUE)
        first = await next_event(ws)
        put(server, f"secret/data/{key}", password=SECRET_VALUE + "2")
        second = await next_event(ws)
    with server.client() as client:
        accessor = client.get("/v1/sys/mounts/secret").json()["accessor"]
    assert SECRET_VALUE not in orjson.dumps(first).decode()
    assert first["type"] == "kv-v2/data-write"
    assert first["specversion"] == "1.0"
    assert first["source"] == "https://vaultproject.io/"
    assert first["datacontentype"] == "application/cloudevents"
    assert first["data"]["event"]["id"] == first["id"]
    assert first["data"]["event_type"] == "kv-v2/data-write"
    assert first["data"]["plugin_info"] == {
        "mount_class": "secret",
        "mount_accessor": accessor,
        "mount_path": "secret/",
        "plugin": "kv",
    }
    assert first["data"]["event"]["metadata"] == {
        "current_version": "1",
        "data_path": f"secret/data/{key}",
        "modified": "true",
        "operation": "data-write",
        "path": f"secret/data/{key}",
    }
    assert second["data"]["event"]["metadata"]["current_version"] == "2"
    assert second["id"] != first["id"]


async def test_glob_pattern_selects_kv_v1_and_v2_events(server: RunningServer) -> None:
    mount = f"kv1-{uuid.uuid4().hex[:6]}"
    with server.client() as client:
        assert client.post(f"/v1/sys/mounts/{mount}", json={"type": "kv"}).status_code == 204
    key = uuid.uuid4().hex[:8]
    async with subscribed(server, "kv*") as ws, subscribed(server, "kv-v2/data-*") as v2_data:
        put(server, f"{mount}/{key}", value=SECRET_VALUE)
        with server.client() as client:
            assert client.delete(f"/v1/{mount}/{key}").status_code == 204
            put(server, f"secret/data/{key}", value="x")
            assert client.delete(f"/v1/secret/metadata/{key}").status_code == 204
        types = [(await next_event(ws))["data"]["event_type"] for _ in range(4)]
        v2_type = (await next_event(v2_data))["data"]["event_type"]
        await no_event(v2_data)
    assert types == ["kv-v1/write", "kv-v1/delete", "kv-v2/data-write", "kv-v2/metadata-delete"]
    assert v2_type == "kv-v2/data-write"


async def test_events_are_filtered_by_read_capability_on_the_data_path(server: RunningServer) -> None:
    token = token_with(
        server,
        """
        path "sys/events/subscribe/*" { capabilities = ["subscribe"] }
        path "secret/data/visible/*" { capabilities = ["read"] }
        """,
    )
    async with subscribed(server, "kv-v2/data-write", token) as ws:
        put(server, "secret/data/hidden/a", value="x")
        put(server, "secret/data/visible/b", value="y")
        event = await next_event(ws)
        await no_event(ws)
    assert event["data"]["event"]["metadata"]["path"] == "secret/data/visible/b"


@pytest.mark.parametrize(
    "policy",
    [
        'path "secret/*" { capabilities = ["read"] }',
        'path "sys/events/subscribe/*" { capabilities = ["read", "list"] }',
        'path "sys/events/subscribe/kv-v1/*" { capabilities = ["subscribe"] }',
    ],
)
async def test_subscribe_needs_the_subscribe_capability_on_the_pattern(
    server: RunningServer, policy: str
) -> None:
    token = token_with(server, policy)
    with pytest.raises(InvalidStatus) as refused:
        async with subscribed(server, "kv-v2/data-write", token):
            pass
    assert refused.value.response.status_code == 403
    assert orjson.loads(refused.value.response.body) == {"errors": ["permission denied"]}


@pytest.mark.parametrize(("token", "status"), [("", 403), ("not-a-token", 403)])
async def test_missing_or_bad_token_is_refused(server: RunningServer, token: str, status: int) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            ws_url(server, "kv*"), additional_headers={"X-Vault-Token": token} if token else {}
        ):
            pass
    assert refused.value.response.status_code == status


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/v1/sys/events/subscribe/", "did not specify eventType to subscribe to"),
        ("/v1/sys/events/subscribe/kv*?json=maybe", "invalid parameter for JSON: maybe"),
        ("/v1/sys/events/subscribe/kv*", "only JSON event streams are supported: add json=true"),
    ],
)
async def test_bad_subscribe_requests_get_400(server: RunningServer, path: str, error: str) -> None:
    url = server.address.replace("http://", "ws://") + path
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, additional_headers={"X-Vault-Token": "root"}):
            pass
    assert refused.value.response.status_code == 400
    assert orjson.loads(refused.value.response.body) == {"errors": [error]}


def test_plain_http_get_is_checked_then_told_to_upgrade(server: RunningServer) -> None:
    with server.client() as client:
        answer = client.get("/v1/sys/events/subscribe/kv*?json=true")
    with server.client("not-a-token") as client:
        denied = client.get("/v1/sys/events/subscribe/kv*?json=true")
    assert (answer.status_code, answer.json()) == (426, {"errors": ["could not accept as websocket"]})
    assert (denied.status_code, denied.json()) == (403, {"errors": ["permission denied"]})


async def test_revoked_token_ends_its_subscription_at_the_next_event(server: RunningServer) -> None:
    token = token_with(server, 'path "*" { capabilities = ["read", "subscribe"] }')
    async with subscribed(server, "kv-v2/data-write", token) as ws:
        put(server, "secret/data/revocation/a", value="x")
        assert (await next_event(ws))["data"]["event_type"] == "kv-v2/data-write"
        with server.client() as client:
            assert client.post("/v1/auth/token/revoke", json={"token": token}).status_code == 204
        put(server, "secret/data/revocation/a", value="y")
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 1.0)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "token revoked or expired")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A dev server of this module's own: the seal test must not seal the shared one."""
    workdir: Path = tmp_path_factory.mktemp("events-seal")
    with strongroom_dev_server(workdir) as running:
        yield running


async def test_sealing_closes_every_subscription(own_server: RunningServer) -> None:
    async with subscribed(own_server, "*") as ws, subscribed(own_server, "kv-v2/data-write") as other:
        with own_server.client() as client:
            assert client.put("/v1/sys/seal").status_code == 204
        for connection in (ws, other):
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(connection.recv(), 1.0)
            assert closed.value.rcvd is not None
            assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1000, "server sealed")
    with pytest.raises(InvalidStatus) as refused:
        async with subscribed(own_server, "*"):
            pass
    assert refused.value.response.status_code == 503
