"""KV v1 (passthrough) through BackendHarness."""

from __future__ import annotations

import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.errors import InvalidRequestError, UnsupportedOperationError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Response


@pytest.fixture
async def kv() -> BackendHarness:
    return await BackendHarness.create(SECRETS_ENGINES["kv"], "kv", default_lease_ttl=2764800)


async def test_write_read_with_default_lease(kv: BackendHarness) -> None:
    assert await kv.write("a", {"x": 1, "y": {"z": True}}) is None
    assert await kv.read("a") == Response(data={"x": 1, "y": {"z": True}}, lease_duration=2764800)


async def test_ttl_and_lease_set_lease_duration(kv: BackendHarness) -> None:
    await kv.write("t", {"ttl": "1h", "x": 1})
    response = await kv.read("t")
    assert response is not None
    assert response.lease_duration == 3600
    assert response.data == {"ttl": "1h", "x": 1}
    await kv.write("t", {"lease": "2h"})
    response = await kv.read("t")
    assert response is not None
    assert response.lease_duration == 7200
    assert response.secret is None


async def test_errors(kv: BackendHarness) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await kv.write("a", {})
    assert caught.value.errors == ("missing data fields",)
    with pytest.raises(InvalidRequestError) as caught:
        await kv.write("a/", {"x": 1})
    assert caught.value.errors == ("cannot write to a path ending in '/'",)
    with pytest.raises(UnsupportedOperationError):
        await kv.patch("a", {"x": 1})


async def test_missing_and_delete(kv: BackendHarness) -> None:
    assert await kv.read("zz") is None
    assert await kv.read("") is None
    await kv.write("a", {"x": 1})
    assert await kv.delete("a") is None
    assert await kv.read("a") is None
    assert await kv.delete("zz") is None


async def test_list(kv: BackendHarness) -> None:
    await kv.write("a", {"x": 1})
    await kv.write("a/b", {"x": 1})
    response = await kv.list("")
    assert response is not None
    assert response.data == {"keys": ["a", "a/"]}
    response = await kv.list("a")
    assert response is not None
    assert response.data == {"keys": ["b"]}
    response = await kv.list("zz")
    assert response is not None
    assert response.data == {}


async def test_free_form_body_has_no_warning(kv: BackendHarness) -> None:
    await kv.write("a", {"anything": 1})
    response = await kv.read("a")
    assert response is not None
    assert response.warnings == ()
