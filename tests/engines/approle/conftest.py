"""Fixtures for AppRole engine tests: a fresh mount over in-memory storage, with a manual clock."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.builtin.registry import AUTH_METHODS
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Connection, Operation, Response
from strongroom.util.clock import ManualClock

LOOPBACK = "127.0.0.1"


@pytest.fixture
async def harness() -> BackendHarness:
    return await BackendHarness.create(
        AUTH_METHODS["approle"], "approle", clock=ManualClock(), mount_path="auth/approle/"
    )


async def login(harness: BackendHarness, address: str = LOOPBACK, **data: Any) -> Response | None:
    """A login request from `address`, as the core would route it."""
    request = harness.make_request(Operation.UPDATE, "login", data).evolve(
        connection=Connection(address, 40000)
    )
    return await harness.backend.handle(request)


async def role_id(harness: BackendHarness, role: str) -> str:
    response = await harness.read(f"role/{role}/role-id")
    assert response is not None
    assert response.data is not None
    return str(response.data["role_id"])


async def secret_id(harness: BackendHarness, role: str, **data: Any) -> tuple[str, str]:
    """(secret ID, accessor) of a new secret ID of `role`."""
    response = await harness.write(f"role/{role}/secret-id", data)
    assert response is not None
    assert response.data is not None
    return str(response.data["secret_id"]), str(response.data["secret_id_accessor"])
