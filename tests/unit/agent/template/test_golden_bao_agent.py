"""Golden outputs captured from OpenBao Agent (consul-template inside) for data-free templates.

Each template in golden_bao_agent.json was rendered by `bao agent` against a dev server; the engine must
reproduce the bytes exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import render

_GOLDEN = json.loads((Path(__file__).parent / "golden_bao_agent.json").read_text())["cases"]


@pytest.mark.parametrize("case", _GOLDEN, ids=[case["id"] for case in _GOLDEN])
async def test_matches_bao_agent_output(case: dict[str, str]) -> None:
    assert await render(case["template"]) == case["expected"]
