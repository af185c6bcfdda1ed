"""Secret leases through the real core, in process: a mounted engine's secret gets a lease clamped by the
mount's TTLs, renewals are clamped from the issue time, and expiry, revocation and the issuing token's
revocation all reach the engine's revoke handler. Time is a ManualClock; storage is in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from tests.unit.leases.engine import MOUNT_TYPE, leasing_factory

from strongroom.builtin.registry import AUTH_METHODS, SECRETS_ENGINES
from strongroom.core.core import Core
from strongroom.errors import InvalidRequestError
from strongroom.logical import Operation, Request, Response
from strongroom.physical.inmem import InmemBackend
from strongroom.util.clock import ManualClock

FACTORIES = {"mounts": {**SECRETS_ENGINES, MOUNT_TYPE: leasing_factory}, "auth": AUTH_METHODS}


@dataclass
class Server:
    core: Core
    clock: ManualClock
    root: str
    unseal_key: bytes

    async def call(
        self, operation: Operation, path: str, data: Mapping[str, Any] | None = None, token: str | None = None
    ) -> Response | None:
        request = Request(
            operation=operation, path=path, data=dict(data or {}), client_token=token or self.root
        )
        return await self.core.handle(request)

    async def ok(
        self, operation: Operation, path: str, data: Mapping[str, Any] | None = None, token: str | None = None
    ) -> Response:
        response = await self.call(operation, path, data, token)
        assert response is not None
        return response

    async def engine_keys(self, folder: str) -> list[str]:
        response = await self.call(Operation.LIST, f"leasing/{folder}/")
        return [] if response is None or response.data is None else list(response.data["keys"])


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    clock = ManualClock()
    core = Core(InmemBackend(), FACTORIES, clock=clock)
    result = await core.initialize(1, 1)
    await core.unseal(result.keys[0])
    running = Server(core, clock, result.root_token, result.keys[0])
    await running.call(
        Operation.UPDATE,
        "sys/mounts/leasing",
        {"type": MOUNT_TYPE, "config": {"default_lease_ttl": "10m", "max_lease_ttl": "1h"}},
    )
    yield running
    await core.seal()


def username(response: Response) -> str:
    assert response.data is not None
    return str(response.data["username"])


async def test_a_secret_gets_a_lease_with_the_mount_default_ttl(server: Server) -> None:
    response = await server.ok(Operation.READ, "leasing/creds/ro")
    assert response.lease_id.startswith("leasing/creds/ro/")
    assert (response.lease_duration, response.renewable) == (600, True)
    assert response.secret is not None
    assert response.secret.lease_id == response.lease_id
    lease = await server.core.services.leases.lookup(response.lease_id)
    assert lease is not None
    assert lease.internal["username"] == username(response)
    assert lease.internal["secret_type"] == "creds"
    assert "password" not in lease.internal


async def test_a_secret_ttl_is_capped_by_the_mount_max(server: Server) -> None:
    response = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "2h"})
    assert response.lease_duration == 3600
    assert response.warnings == (
        'TTL of "2h" exceeded the effective max_ttl of "1h"; TTL value is capped accordingly',
    )


async def test_renewal_is_clamped_from_the_issue_time(server: Server) -> None:
    issued = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "20m"})
    renew = {"lease_id": issued.lease_id, "increment": "30m"}
    server.clock.advance(1000)
    first = await server.ok(Operation.UPDATE, "sys/leases/renew", renew)
    assert (first.lease_id, first.lease_duration, first.renewable, first.warnings) == (
        issued.lease_id, 1800, True, ()
    )  # fmt: skip
    server.clock.advance(1700)
    second = await server.ok(Operation.UPDATE, "sys/leases/renew", renew)
    assert second.lease_duration == 900
    assert second.data == {"renewed": username(issued)}
    assert second.warnings == (
        'TTL of "30m" exceeded the effective max_ttl of "15m"; TTL value is capped accordingly',
    )
    lease = await server.core.services.leases.lookup(issued.lease_id)
    assert lease is not None
    assert lease.expire_time == lease.issue_time + 3600
    assert lease.last_renewal == server.clock.now()


async def test_renewal_without_increment_uses_the_backend_ttl(server: Server) -> None:
    issued = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "5m"})
    server.clock.advance(120)
    renewed = await server.ok(Operation.UPDATE, f"sys/leases/renew/{issued.lease_id}")
    assert renewed.lease_duration == 300
    assert renewed.warnings == ()


async def test_a_secret_without_a_renew_handler_is_not_renewable(server: Server) -> None:
    issued = await server.ok(Operation.READ, "leasing/creds/ro", {"renewable": False})
    assert issued.renewable is False
    with pytest.raises(InvalidRequestError) as refused:
        await server.call(Operation.UPDATE, "sys/leases/renew", {"lease_id": issued.lease_id})
    assert refused.value.errors == ("lease is not renewable",)


async def test_expiry_calls_the_backend_revoke(server: Server) -> None:
    issued = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "1m"})
    kept = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "5m"})
    server.clock.advance(61)
    assert await server.core.services.leases.expire_due() == [issued.lease_id]
    assert await server.engine_keys("revoked") == [username(issued)]
    assert await server.engine_keys("live") == [username(kept)]


async def test_revoke_passes_the_mount_relative_path_to_the_backend(server: Server) -> None:
    issued = await server.ok(Operation.READ, "leasing/creds/ro")
    assert await server.call(Operation.UPDATE, "sys/leases/revoke", {"lease_id": issued.lease_id}) is None
    with pytest.raises(InvalidRequestError) as gone:
        await server.call(Operation.UPDATE, "sys/leases/lookup", {"lease_id": issued.lease_id})
    assert gone.value.errors == ("invalid lease",)
    stored = await server.core.services.mounts.storage_for(
        server.core.services.mounts.get("mounts", "leasing") or pytest.fail("no mount")
    ).get(f"revoked/{username(issued)}")
    assert stored == b"creds/ro"


async def test_revoking_the_token_revokes_its_secrets(server: Server) -> None:
    created = await server.ok(Operation.UPDATE, "auth/token/create", {"ttl": "1h"})
    assert created.auth is not None
    child = created.auth.client_token
    mine = await server.ok(Operation.READ, "leasing/creds/ro", token=child)
    theirs = await server.ok(Operation.READ, "leasing/creds/ro")
    await server.call(Operation.UPDATE, "auth/token/revoke", {"token": child})
    assert await server.engine_keys("revoked") == [username(mine)]
    assert await server.core.services.leases.lookup(mine.lease_id) is None
    assert await server.core.services.leases.lookup(theirs.lease_id) is not None


async def test_revoke_force_removes_a_lease_the_backend_cannot_revoke(server: Server) -> None:
    issued = await server.ok(Operation.READ, "leasing/creds/ro", {"fail_revoke": True})
    with pytest.raises(InvalidRequestError) as refused:
        await server.call(Operation.UPDATE, "sys/leases/revoke", {"lease_id": issued.lease_id})
    assert refused.value.errors == ("failed to revoke entry: the database refused to drop the user",)
    assert await server.call(Operation.UPDATE, "sys/leases/revoke-force/leasing/creds") is None
    assert await server.core.services.leases.lookup(issued.lease_id) is None
    assert await server.engine_keys("live") == [username(issued)]


async def test_leases_survive_seal_and_expire_on_unseal(server: Server) -> None:
    expiring = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "1m"})
    lasting = await server.ok(Operation.READ, "leasing/creds/ro", {"ttl": "10m"})
    await server.core.seal()
    server.clock.advance(120)
    await server.core.unseal(server.unseal_key)
    assert await server.engine_keys("revoked") == [username(expiring)]
    assert await server.core.services.leases.lookup(lasting.lease_id) is not None
    server.clock.advance(600)
    assert await server.core.services.leases.expire_due() == [lasting.lease_id]
