"""Policy names as Vault's policyutil normalizes them: every spelling of "root" is root."""

from __future__ import annotations

import pytest

from strongroom.util.policies import parse_policies, policy_name, remove_duplicates, sanitize_policies

ROOT_SPELLINGS = ["root", "Root", "ROOT", " root", "root\t", "\nrOoT "]


@pytest.mark.parametrize("spelling", ROOT_SPELLINGS)
def test_every_spelling_of_root_is_root(spelling: str) -> None:
    assert policy_name(spelling) == "root"
    assert sanitize_policies(["dev", spelling], add_default=True) == ("root",)
    assert parse_policies([spelling, "ops"]) == ("root",)


def test_sanitize_trims_lowercases_dedupes_and_sorts() -> None:
    assert sanitize_policies([" B", "a ", "A", "", "  "], add_default=False) == ("a", "b")
    assert sanitize_policies(["b"], add_default=True) == ("b", "default")
    assert sanitize_policies(["Default"], add_default=True) == ("default",)
    assert sanitize_policies([], add_default=True) == ("default",)
    assert parse_policies([]) == ()


def test_remove_duplicates_keeps_case_unless_asked() -> None:
    assert remove_duplicates([" Y* ", "x", "x", ""], lowercase=False) == ("Y*", "x")
    assert remove_duplicates([" Y* ", "x"], lowercase=True) == ("x", "y*")
