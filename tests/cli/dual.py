"""Helpers for CLI tests that run against both servers and compare our CLI with `bao`.

`dual_target` is parametrized over strongroom's dev server and OpenBao's; `strongroom` runs our CLI in this
process (fast: no interpreter start-up) and `bao` runs the reference CLI, both against that target with HOME
in the test's own directory. Import the fixtures into a test module to use them.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from strongroom.cli.main import main
from tests.servers import RunningServer, bao_binary


@dataclass(frozen=True)
class Outcome:
    """What one CLI run printed and how it exited."""

    code: int
    out: str
    err: str


Run = Callable[..., Outcome]


@pytest.fixture(params=["strongroom", "openbao"])
def dual_target(request: pytest.FixtureRequest) -> RunningServer:
    """The server under test: ours, then OpenBao as the reference."""
    server: RunningServer = request.getfixturevalue("server" if request.param == "strongroom" else "bao")
    return server


def run_strongroom(
    address: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    home: Path,
) -> Run:
    """A runner of `strongroom ARGS...` in this process against `address`; `token=None` sets no token."""
    for name in list(os.environ):
        if name.startswith(("VAULT_", "BAO_", "STRONGROOM_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("STRONGROOM_ADDR", address)

    def run(*args: str, token: str | None = "root", stdin: str = "") -> Outcome:
        if token is None:
            monkeypatch.delenv("STRONGROOM_TOKEN", raising=False)
        else:
            monkeypatch.setenv("STRONGROOM_TOKEN", token)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


def run_bao(address: str, home: Path) -> Run:
    """A runner of the reference `bao ARGS...` against `address`."""
    home.mkdir(exist_ok=True)

    def run(*args: str, token: str | None = "root", stdin: str = "") -> Outcome:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
        env |= {"BAO_ADDR": address, "HOME": str(home)}
        if token is not None:
            env["BAO_TOKEN"] = token
        done = subprocess.run(
            [bao_binary(), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def strongroom(
    dual_target: RunningServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> Run:
    """Our CLI against `dual_target`."""
    return run_strongroom(dual_target.address, monkeypatch, capsys, tmp_path)


@pytest.fixture
def bao_cli(dual_target: RunningServer, tmp_path: Path) -> Run:
    """The reference CLI against `dual_target`."""
    return run_bao(dual_target.address, tmp_path / "bao-home")


def api(
    server: RunningServer, method: str, path: str, body: object = None, token: str = "root"
) -> httpx.Response:
    """One API call as root (or `token`), asserting success."""
    with server.client(token) as http:
        response = http.request(method, f"/v1/{path}", json=body)
    assert response.status_code < 400, response.text
    return response


def same(ours: Outcome, theirs: Outcome) -> None:
    """Our CLI and bao exited alike and printed the same bytes."""
    assert (ours.code, ours.out, ours.err) == (theirs.code, theirs.out, theirs.err)
