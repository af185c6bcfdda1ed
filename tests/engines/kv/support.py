"""What the KV v2 engine tests share: a fixed start time, and small readers of responses and errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from strongroom.errors import InvalidRequestError
from strongroom.logical import Response
from strongroom.util.clock import rfc3339

START = 1_700_000_000.0
T0 = rfc3339(START)


def body(response: Response | None) -> Mapping[str, Any]:
    assert response is not None
    assert response.data is not None
    return response.data


async def error_of(call: Any) -> tuple[str, ...]:
    with pytest.raises(InvalidRequestError) as caught:
        await call
    return caught.value.errors
