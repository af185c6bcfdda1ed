"""Fixtures of the transit engine tests: a manual clock and a transit engine in the in-process harness."""

from __future__ import annotations

import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_700_000_000.0)


@pytest.fixture
async def transit(clock: ManualClock) -> BackendHarness:
    return await BackendHarness.create(SECRETS_ENGINES["transit"], "transit", clock=clock)
