"""Fixtures for the delivery tests: `strongroom ...` as a subprocess against the shared dev server."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.servers import RunningServer

Strongroom = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture
def strongroom_env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    """The environment of a `strongroom` subprocess: the dev server, its root token, a fresh HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    return env | {
        "STRONGROOM_ADDR": server.address,
        "STRONGROOM_TOKEN": server.root_token,
        "HOME": str(tmp_path),
    }


@pytest.fixture
def strongroom(strongroom_env: dict[str, str]) -> Strongroom:
    """Start `strongroom ARGS...` with pipes on stdin, stdout and stderr."""

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "strongroom", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=strongroom_env,
        )

    return start


@pytest.fixture
def unique() -> str:
    """A secret name no other test uses."""
    return f"t{uuid.uuid4().hex[:10]}"
