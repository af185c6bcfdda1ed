"""Fixtures of the pki engine tests: a manual clock and a pki engine in the in-process harness."""

from __future__ import annotations

import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock

NOW = 1_700_000_000.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
async def pki(clock: ManualClock) -> BackendHarness:
    """A pki mount whose system TTLs are 32 days (default) and 32 days (max), as the harness sets them."""
    return await BackendHarness.create(SECRETS_ENGINES["pki"], "pki", clock=clock, mount_path="pki/")
