"""Which token type a login gets from its auth mount's token_type and its role's."""

from __future__ import annotations

import pytest

from strongroom.tokens.model import TokenType
from strongroom.tokens.types import resolve_token_type

S, B = TokenType.SERVICE, TokenType.BATCH


@pytest.mark.parametrize(
    ("mount", "role", "expected"),
    [
        ("", "default", S), ("default-service", "default", S), ("default-service", "batch", B),
        ("default-service", "default-batch", B), ("default-batch", "default", B),
        ("default-batch", "service", S), ("default-batch", "default-service", S),
        ("service", "batch", S), ("batch", "service", B), ("batch", "default", B),
    ],
)  # fmt: skip
def test_the_mount_forces_or_defaults(mount: str, role: str, expected: TokenType) -> None:
    assert resolve_token_type(mount, role) is expected
