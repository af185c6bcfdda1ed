"""The cubbyhole engine through BackendHarness."""

from __future__ import annotations

import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.errors import InvalidRequestError, UnsupportedOperationError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Response


@pytest.fixture
async def cubby() -> BackendHarness:
    return await BackendHarness.create(SECRETS_ENGINES["cubbyhole"], "cubbyhole")


async def test_declares_per_token_storage(cubby: BackendHarness) -> None:
    assert cubby.backend.per_token_storage is True


async def test_write_read_delete(cubby: BackendHarness) -> None:
    assert await cubby.write("x", {"a": 1, "ttl": "1h"}) is None
    assert await cubby.read("x") == Response(data={"a": 1, "ttl": "1h"})
    assert await cubby.delete("x") is None
    assert await cubby.read("x") is None
    assert await cubby.delete("nope") is None
    assert await cubby.delete("") is None


async def test_errors_match_openbao(cubby: BackendHarness) -> None:
    # OpenBao answers these with a 500; bad input is the client's fault, so strongroom says 400.
    with pytest.raises(InvalidRequestError, match=r"^missing data fields$"):
        await cubby.write("x", {})
    with pytest.raises(InvalidRequestError, match=r"^missing path$"):
        await cubby.read("")
    with pytest.raises(InvalidRequestError) as caught:
        await cubby.write("x/", {"a": 1})
    assert caught.value.errors == ("cannot write to a path ending in '/'",)
    with pytest.raises(UnsupportedOperationError):
        await cubby.patch("x", {"a": 1})


async def test_list(cubby: BackendHarness) -> None:
    await cubby.write("x", {"a": 1})
    await cubby.write("x/y", {"a": 1})
    response = await cubby.list("")
    assert response is not None
    assert response.data == {"keys": ["x", "x/"]}
    response = await cubby.list("q")
    assert response is not None
    assert response.data == {}


async def test_help_and_openapi(cubby: BackendHarness) -> None:
    response = await cubby.help("x/y")
    assert response is not None
    assert response.data is not None
    assert response.data["help"].startswith(
        "Request:        x/y\nMatching Route: ^(?P<path>.*)$\n\nPass-through"
    )
    item = cubby.backend.openapi_paths()["/{path}"]
    assert item["x-vault-createSupported"] is True
    assert sorted(k for k in item if k in {"get", "post", "delete"}) == ["delete", "get", "post"]
