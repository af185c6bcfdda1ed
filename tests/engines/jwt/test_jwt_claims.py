"""The jwt auth method's pure claim logic: JSON-pointer lookup, go-glob matching, Vault's typed comparison."""

from __future__ import annotations

import pytest

from strongroom.builtin.auth.jwt.claims import (
    ClaimError,
    Number,
    get_claim,
    glob_match,
    validate_bound_claims,
)


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("*", "", True),
        ("a*", "abc", True),
        ("*c", "abc", True),
        ("a*c", "ac", True),
        ("a*b*c", "a-b-c", True),
        ("a*b*c", "acb", False),
        ("ab*ba", "aba", False),
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("?", "a", False),
    ],
)
def test_glob_match_is_go_glob(pattern: str, text: str, matches: bool) -> None:
    assert glob_match(pattern, text) is matches


def test_get_claim_reads_json_pointers_and_normalizes_aud_and_numbers() -> None:
    claims = {"a/b": 1, "k8s": {"pod": {"name": "p"}, "list": ["x", "y"]}, "aud": "api", "n": 5.9}
    assert get_claim(claims, "/k8s/pod/name") == "p"
    assert get_claim(claims, "/k8s/list/1") == "y"
    assert get_claim(claims, "/a~1b") == Number(1)
    assert get_claim(claims, "/k8s/missing/name") is None
    assert get_claim(claims, "aud") == ["api"]
    assert get_claim(claims, "n") == Number(5)
    assert Number(5) != 5
    assert Number(5) != "5"


def test_bound_claims_compare_by_type() -> None:
    validate_bound_claims(
        False, {"n": 5, "ok": True, "groups": ["a", "b"]}, {"n": 5, "ok": True, "groups": ["b"]}
    )
    with pytest.raises(ClaimError, match="received claim is not a string, bool, int or list"):
        validate_bound_claims(False, {"o": "x"}, {"o": {"nested": 1}})
    with pytest.raises(ClaimError, match='claim "ok" does not match'):
        validate_bound_claims(False, {"ok": True}, {"ok": 1})
