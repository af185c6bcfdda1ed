"""sys/events/subscribe for browsers, over a real WebSocket against the dev server: a browser cannot set
headers on a WebSocket, so it offers the token as a subprotocol ("vault-token.b64url.<token>") beside the
marker "vault-events.v1", and the server names the marker in its answer. The token never rides in the URL.
"""

from __future__ import annotations

import asyncio
import base64
import uuid

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Subprotocol

from tests.servers import RunningServer

MARKER = Subprotocol("vault-events.v1")


def offered(token: str) -> Subprotocol:
    encoded = base64.urlsafe_b64encode(token.encode()).decode().rstrip("=")
    return Subprotocol(f"vault-token.b64url.{encoded}")


def url(server: RunningServer, pattern: str = "kv-v2/data-write") -> str:
    return server.address.replace("http://", "ws://") + f"/v1/sys/events/subscribe/{pattern}?json=true"


async def test_a_token_offered_as_a_subprotocol_subscribes(server: RunningServer) -> None:
    key = f"browser/{uuid.uuid4().hex[:8]}"
    async with connect(url(server), subprotocols=[MARKER, offered(server.root_token)]) as ws:
        assert ws.subprotocol == MARKER  # only the marker comes back, never the token
        with server.client() as client:
            client.post(f"/v1/secret/data/{key}", json={"data": {"v": "x"}}).raise_for_status()
        event = orjson.loads(await asyncio.wait_for(ws.recv(), 2))
    assert event["data"]["event"]["metadata"]["path"] == f"secret/data/{key}"


async def test_a_header_token_needs_no_subprotocol(server: RunningServer) -> None:
    headers = {"X-Vault-Token": server.root_token}
    async with connect(url(server), additional_headers=headers) as ws:
        assert ws.subprotocol is None
    # A header wins over the subprotocol: a bad header token is refused though the offered one is good.
    bad = {"X-Vault-Token": "not-a-token"}
    with pytest.raises(InvalidStatus) as refused:
        async with connect(
            url(server), additional_headers=bad, subprotocols=[MARKER, offered(server.root_token)]
        ):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    "protocols",
    [
        [MARKER, offered("not-a-token")],
        [offered("root")],  # the token without the marker is not read
        [MARKER],
        [MARKER, Subprotocol("vault-token.b64url.!!!")],
        [MARKER, offered("root"), offered("root")],  # two offered tokens: neither is read
    ],
)
async def test_refused_before_the_upgrade(server: RunningServer, protocols: list[Subprotocol]) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url(server), subprotocols=protocols):
            pass
    assert refused.value.response.status_code == 403
    assert orjson.loads(refused.value.response.body or b"{}") == {"errors": ["permission denied"]}


def test_a_token_in_the_query_is_not_read(server: RunningServer) -> None:
    # Plain HTTP answers the same checks as the upgrade (then 426): a token in the URL counts for nothing.
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        answer = anonymous.get(
            "/v1/sys/events/subscribe/kv-v2/data-write", params={"json": "true", "token": server.root_token}
        )
    assert answer.status_code == 403
