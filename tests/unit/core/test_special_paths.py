"""Special paths match as Vault's do: exact, prefix with "*", and "+" for one path segment."""

from __future__ import annotations

import pytest

from strongroom.logical.backend import special_path_matches


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("login", "login", True),
        ("login", "login/x", False),
        ("login/*", "login/ann", True),
        ("login/*", "login", False),
        ("accessors*", "accessors/", True),
        ("oidc/.well-known/*", "oidc/.well-known/keys", True),
        ("oidc/provider/+/token", "oidc/provider/p/token", True),
        ("oidc/provider/+/token", "oidc/provider//token", False),
        ("oidc/provider/+/token", "oidc/provider/p/q/token", False),
        ("oidc/provider/+/token", "oidc/provider/p", False),
        ("oidc/provider/+/.well-known/*", "oidc/provider/p/.well-known/keys", True),
        ("oidc/provider/+/.well-known/*", "oidc/provider/p/authorize", False),
    ],
)
def test_special_path_matches(pattern: str, path: str, expected: bool) -> None:
    assert special_path_matches((pattern,), path) is expected
