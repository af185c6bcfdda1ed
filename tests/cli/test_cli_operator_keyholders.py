"""`strongroom operator generate-root` and `operator rekey` against servers with their default listener, where
the unauthenticated sys/generate-root/* and sys/rekey/* are off (strongroom's and OpenBao 2.7.2's dev
servers): with a token they use the authenticated sys/generate-root-token/* and sys/rotate/root/*, without
one they say in one line what is off and what to use."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.cli.dual import Run, api, bao_cli, dual_target, same, strongroom
from tests.servers import RunningServer

__all__ = ["bao_cli", "dual_target", "strongroom"]

GENERATE_ROOT_OFF = (
    "{}: the server has turned off the unauthenticated sys/generate-root/* endpoints "
    "(disable_unauthed_generate_root_endpoints); run this with a token allowed sys/generate-root-token/*\n"
)
REKEY_OFF = (
    "{}: the server has turned off the unauthenticated sys/rekey/* endpoints "
    "(disable_unauthed_rekey_endpoints); run this with a token allowed sys/rotate/root/*\n"
)


@pytest.fixture
def idle(dual_target: RunningServer) -> Iterator[RunningServer]:
    """The target with no root generation or rekey in progress, before and after the test."""
    api(dual_target, "DELETE", "sys/generate-root-token/attempt")
    api(dual_target, "DELETE", "sys/rotate/root/init")
    yield dual_target
    api(dual_target, "DELETE", "sys/generate-root-token/attempt")
    api(dual_target, "DELETE", "sys/rotate/root/init")


def field(table: str, name: str) -> str:
    match = re.search(rf"^{re.escape(name)}\s+(.+)$", table, re.MULTILINE)
    assert match, table
    return match.group(1)


def test_generate_root_with_a_token_matches_bao(idle: RunningServer, strongroom: Run, bao_cli: Run) -> None:
    for fmt in ("table", "json", "yaml"):
        same(strongroom("operator", "generate-root", "-status", f"-format={fmt}"),
             bao_cli("operator", "generate-root", "-status", f"-format={fmt}"))  # fmt: skip
    otp = strongroom("operator", "generate-root", "-generate-otp").out
    started = strongroom("operator", "generate-root", "-init", f"-otp={otp}")
    assert (started.code, started.err) == (0, "")
    assert field(started.out, "Started") == "true"
    for fmt in ("table", "json"):
        same(strongroom("operator", "generate-root", "-status", f"-format={fmt}"),
             bao_cli("operator", "generate-root", "-status", f"-format={fmt}"))  # fmt: skip
    wrong = strongroom("operator", "generate-root", "-nonce=not-the-nonce", "00" * 33)
    assert wrong.code == 2
    same(strongroom("operator", "generate-root", "-cancel"), bao_cli("operator", "generate-root", "-cancel"))
    assert field(strongroom("operator", "generate-root", "-status").out, "Started") == "false"


def test_generate_root_without_a_token_says_the_endpoints_are_off(
    idle: RunningServer, strongroom: Run
) -> None:
    for args, prefix in [
        (("-status",), "Error getting root generation status"),
        (("-init",), "Error initializing root generation"),
        (("-cancel",), "Error canceling root token generation"),
    ]:
        outcome = strongroom("operator", "generate-root", *args, token=None)
        assert (outcome.code, outcome.out, outcome.err) == (2, "", GENERATE_ROOT_OFF.format(prefix))
    assert api(idle, "GET", "sys/generate-root-token/attempt").json()["data"]["started"] is False


def test_rekey_with_a_token_uses_rotate_root_where_bao_fails(
    idle: RunningServer, strongroom: Run, bao_cli: Run
) -> None:
    theirs = bao_cli("operator", "rekey", "-status")
    assert theirs.code == 2
    assert "Code: 405. Errors:\n\n* unsupported operation" in theirs.err
    status = strongroom("operator", "rekey", "-status", "-format=json")
    assert (status.code, status.err) == (0, "")
    assert json.loads(status.out)["started"] is False
    started = strongroom("operator", "rekey", "-init", "-key-shares=3", "-key-threshold=2", "-format=json")
    assert started.code == 0, started.err
    body = json.loads(started.out)
    assert (body["started"], body["n"], body["t"], body["progress"]) == (True, 3, 2, 0)
    assert api(idle, "GET", "sys/rotate/root/init").json()["data"]["nonce"] == body["nonce"]
    wrong = strongroom("operator", "rekey", "-nonce=not-the-nonce", "00" * 33)
    assert wrong.code == 2
    cancelled = strongroom("operator", "rekey", "-cancel")
    assert (cancelled.code, cancelled.out) == (0, "Success! Canceled rekeying (if it was started)\n")
    assert api(idle, "GET", "sys/rotate/root/init").json()["data"]["started"] is False


def test_rekey_without_a_token_says_the_endpoints_are_off(idle: RunningServer, strongroom: Run) -> None:
    for args, prefix in [
        (("-status",), "Error reading rekey status"),
        (("-init",), "Error initializing rekey"),
        (("-cancel",), "Error canceling rekey"),
    ]:
        outcome = strongroom("operator", "rekey", *args, token=None)
        assert (outcome.code, outcome.out, outcome.err) == (2, "", REKEY_OFF.format(prefix))
