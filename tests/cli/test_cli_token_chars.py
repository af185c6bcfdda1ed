"""Tokens no header can carry as typed: our CLI answers as `bao` does, one line and the same exit code.

A token with a control character is refused before anything is sent (the Vault CLI's validateToken); a
non-ASCII token is sent as UTF-8 and refused by the server (403). Neither may end in a traceback.
"""

from __future__ import annotations

import pytest

from tests.cli.dual import Run, bao_cli, dual_target, same, strongroom

__all__ = ["bao_cli", "dual_target", "strongroom"]

COMMANDS = [("kv", "get", "secret/x"), ("token", "lookup"), ("status",), ("read", "sys/mounts")]


@pytest.mark.parametrize("token", ["ab\x01c", "ab\nc", "abé"], ids=["control", "newline", "non-ascii"])
def test_unusable_tokens_get_bao_s_answer(strongroom: Run, bao_cli: Run, token: str) -> None:
    for command in COMMANDS:
        ours, theirs = strongroom(*command, token=token), bao_cli(*command, token=token)
        assert "Traceback" not in ours.err
        same(ours, theirs)
