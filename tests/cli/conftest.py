"""Fixtures for the CLI tests: the server the CLI talks to, and a runner for `python -m strongroom`."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.servers import RunningServer

CLI = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def target(request: pytest.FixtureRequest) -> RunningServer:
    """The server under test: strongroom's dev server (swap in "bao" to check the CLI against OpenBao)."""
    server: RunningServer = request.getfixturevalue("server")
    return server


@pytest.fixture
def cli(target: RunningServer, tmp_path: Path) -> CLI:
    """Run `strongroom ARGS...` as a subprocess against `target` with HOME in a fresh directory.

    `token=None` runs without a token in the environment (the token file is then used).
    """

    def run(
        *args: str, token: str | None = target.root_token, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        env |= {"STRONGROOM_ADDR": target.address, "HOME": str(tmp_path)}
        if token is not None:
            env["STRONGROOM_TOKEN"] = token
        return subprocess.run(
            [sys.executable, "-m", "strongroom", *args],
            input=stdin or "",
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )

    return run


@pytest.fixture
def unique() -> str:
    """A name no other test uses, so tests can share one server."""
    return f"t{uuid.uuid4().hex[:10]}"
