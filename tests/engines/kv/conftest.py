"""Fixtures of the KV engine tests: a manual clock and a KV v2 engine in the in-process harness."""

from __future__ import annotations

import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock
from tests.engines.kv.support import START


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
async def kv(clock: ManualClock) -> BackendHarness:
    return await BackendHarness.create(SECRETS_ENGINES["kv"], "kv", options={"version": "2"}, clock=clock)
