"""A listener's x_forwarded_for options over real HTTP on strongroom alone: the reject flags' documented
default (true), refused requests that leave no audit entry, and WebSocket handshakes refused alike.

The answers compared with OpenBao's, and the CIDR bindings: tests/security/test_case6_forwarded_for_cidr.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.servers import free_port, strongroom_config_server

MISSING = "missing x-forwarded-for header and configured to reject when not present"
NOT_AUTHORIZED = "client address not authorized for x-forwarded-for and configured to reject connection"


@dataclass(frozen=True)
class Listeners:
    setup: str
    trusted: str
    untrusted: str
    root_token: str
    audit_log: Path


@pytest.fixture(scope="module")
def listeners(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Listeners]:
    workdir = tmp_path_factory.mktemp("forwarded-for")
    setup, trusted, untrusted = free_port(), free_port(), free_port()
    audit_log = workdir / "audit.log"
    config = (
        'storage "inmem" {}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{setup}"\n  tls_disable = "true"\n}}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{trusted}"\n  tls_disable = 1\n'
        '  x_forwarded_for_authorized_addrs = "127.0.0.1"\n}\n'
        f'listener "tcp" {{\n  address = "127.0.0.1:{untrusted}"\n  tls_disable = "T"\n'
        '  x_forwarded_for_authorized_addrs = "10.0.0.0/8"\n}\n'
        f'audit "file" "to-file" {{\n  options {{\n    file_path = "{audit_log}"\n  }}\n}}\n'
    )
    with strongroom_config_server(workdir, config, setup) as server:
        init = httpx.put(f"{server.address}/v1/sys/init", json={"secret_shares": 1, "secret_threshold": 1})
        assert init.status_code == 200, init.text
        unseal = httpx.put(f"{server.address}/v1/sys/unseal", json={"key": init.json()["keys_base64"][0]})
        assert unseal.json()["sealed"] is False
        yield Listeners(
            setup=server.address,
            trusted=f"http://127.0.0.1:{trusted}",
            untrusted=f"http://127.0.0.1:{untrusted}",
            root_token=init.json()["root_token"],
            audit_log=audit_log,
        )


def test_both_reject_flags_default_to_true(listeners: Listeners) -> None:
    missing = httpx.get(f"{listeners.trusted}/v1/sys/health")
    assert (missing.status_code, missing.json()) == (400, {"errors": [MISSING]})
    forwarded = httpx.get(f"{listeners.trusted}/v1/sys/health", headers={"X-Forwarded-For": "10.1.2.3"})
    assert forwarded.status_code == 200
    unauthorized = httpx.get(f"{listeners.untrusted}/v1/sys/health", headers={"X-Forwarded-For": "10.1.2.3"})
    assert (unauthorized.status_code, unauthorized.json()) == (400, {"errors": [NOT_AUTHORIZED]})
    # Presence is checked first, so a direct request without the header is refused even from a peer whose
    # header would not be believed.
    direct = httpx.get(f"{listeners.untrusted}/v1/sys/health")
    assert (direct.status_code, direct.json()) == (400, {"errors": [MISSING]})


def test_a_refused_request_goes_no_further_than_the_listener(listeners: Listeners) -> None:
    token = {"X-Vault-Token": listeners.root_token}
    refused = httpx.get(f"{listeners.trusted}/v1/sys/policies/acl/refused-by-listener", headers=token)
    assert refused.status_code == 400
    served = httpx.get(
        f"{listeners.trusted}/v1/sys/policies/acl/default", headers={**token, "X-Forwarded-For": "10.4.5.6"}
    )
    assert served.status_code == 200
    entries = [orjson.loads(line) for line in listeners.audit_log.read_bytes().splitlines() if line]
    paths = {(e["request"]["path"], e["request"].get("remote_address")) for e in entries}
    assert ("sys/policies/acl/default", "10.4.5.6") in paths
    assert not any(path.endswith("refused-by-listener") for path, _ in paths)


async def test_websocket_handshakes_are_refused_alike(listeners: Listeners) -> None:
    url = listeners.trusted.replace("http://", "ws://") + "/v1/sys/events/subscribe/kv*?json=true"
    with pytest.raises(InvalidStatus):
        async with connect(url, additional_headers={"X-Vault-Token": listeners.root_token}):
            pass
    headers = {"X-Vault-Token": listeners.root_token, "X-Forwarded-For": "10.4.5.6"}
    async with connect(url, additional_headers=headers) as ws:
        assert ws.response is not None
        assert ws.response.status_code == 101
