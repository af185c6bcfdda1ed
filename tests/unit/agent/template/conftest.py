"""Fixtures of the template engine tests."""

from __future__ import annotations

import pytest

from .support import MemorySource, kv1, kv2


@pytest.fixture
def source() -> MemorySource:
    return MemorySource(
        reads={
            "secret/data/db": kv2({"username": "app", "password": "s3cr3t", "port": 5432}),
            "secret/data/flags": kv2({"enabled": True, "ratio": 0.25, "empty": "", "tags": ["a", "b"]}),
            "kv/app": kv1({"api_key": "k-123", "nested": {"x": 1}}),
            "database/creds/ro": {
                "request_id": "r3",
                "lease_id": "database/creds/ro/abc",
                "lease_duration": 3600,
                "renewable": True,
                "data": {"username": "v-ro-1", "password": "p-1"},
            },
        },
        lists={"secret/metadata/": ["zeta", "alpha/", "mid"]},
    )
