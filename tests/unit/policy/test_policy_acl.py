"""ACL decisions: Vault's matching precedence, merging across policies, parameters, capabilities()."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.errors import StrongroomError
from strongroom.logical import Operation
from strongroom.policy import ACL, DEFAULT_POLICY, Capability, Policy, parse_policy
from strongroom.policy.acl import LOOKUP_MEMO_SIZE

C = Capability
Op = Operation


def acl(*texts: str, **kwargs: Any) -> ACL:
    return ACL([parse_policy(f"p{i}", text) for i, text in enumerate(texts)], **kwargs)


def rule(pattern: str, *caps: str) -> str:
    names = ", ".join(f'"{c}"' for c in caps)
    return f'path "{pattern}" {{ capabilities = [{names}] }}\n'


@pytest.mark.parametrize(
    ("winner", "loser", "path"),
    [
        # An exact rule beats every pattern.
        ("secret/a", "secret/*", "secret/a"),
        ("secret/a", "secret/+", "secret/a"),
        # The longest prefix wins among globs.
        ("secret/a*", "secret/*", "secret/abc"),
        # A later first wildcard wins (Vault's examples).
        ("foo/a*", "foo/+", "foo/ab"),
        ("foo/bar/+/baz", "foo/+/bar/baz", "foo/bar/bar/baz"),
        # Same first wildcard: not being a prefix wins.
        ("foo/+/bar", "foo/+/ba*", "foo/x/bar"),
        ("foo/+", "foo/*", "foo/x"),
        # Same position and kind: fewer + segments win.
        ("foo/+/bar/baz", "foo/+/+/baz", "foo/x/bar/baz"),
        # Then the longer pattern wins.
        ("foo/+/bar/ba*", "foo/+/bar/b*", "foo/x/bar/baz"),
        # A segment wildcard matches exactly one segment.
        ("a/*", "a/+", "a/b/c"),
    ],
)
def test_precedence(winner: str, loser: str, path: str) -> None:
    for order in ((winner, loser), (loser, winner)):
        text = "".join(rule(p, "read" if p == winner else "update") for p in order)
        assert acl(text).capabilities(path) == ["read"], order


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("secret/data", "secret/data", True),
        ("secret/data", "secret/data/x", False),
        ("secret/*", "secret/", True),
        ("secret/*", "secret", False),
        ("secret*", "secret", True),
        ("*", "anything/at/all", True),
        ("a/+/c", "a/b/c", True),
        ("a/+/c", "a/b/c/d", False),
        ("a/+/c", "a/c", False),
        ("a/+", "a/", True),
        ("+/b", "x/b", True),
        ("a/+/c*", "a/b/cde/f", True),
        ("a/+/c*", "a/b/d", False),
        ("a/+/+/*", "a/b/c/d/e", True),
    ],
)
def test_pattern_matching(pattern: str, path: str, matches: bool) -> None:
    assert acl(rule(pattern, "read")).capabilities(path) == (["read"] if matches else ["deny"])


def test_capabilities_union_across_policies() -> None:
    merged = acl(rule("kv/*", "read"), rule("kv/*", "list", "update"))
    assert merged.capabilities("kv/x") == ["list", "read", "update"]


def test_deny_wins_across_policies_in_either_order() -> None:
    for texts in (
        (rule("kv/*", "read", "sudo"), rule("kv/*", "deny")),
        (rule("kv/*", "deny"), rule("kv/*", "read")),
    ):
        denied = acl(*texts)
        assert denied.capabilities("kv/x") == ["deny"]
        decision = denied.authorize(Op.READ, "kv/x", {})
        assert not decision.allowed
        assert not decision.sudo


def test_deny_on_a_more_specific_path_only() -> None:
    rules = acl(rule("kv/*", "read"), rule("kv/secret", "deny"))
    assert rules.capabilities("kv/other") == ["read"]
    assert not rules.authorize(Op.READ, "kv/secret", {}).allowed


@pytest.mark.parametrize(
    ("operation", "capability"),
    [
        (Op.CREATE, "create"),
        (Op.READ, "read"),
        (Op.HEAD, "read"),
        (Op.UPDATE, "update"),
        (Op.PATCH, "patch"),
        (Op.DELETE, "delete"),
        (Op.LIST, "list"),
    ],
)
def test_each_operation_needs_its_capability(operation: Operation, capability: str) -> None:
    others = [c for c in ("create", "read", "update", "patch", "delete", "list") if c != capability]
    assert acl(rule("p", capability)).authorize(operation, "p", {}).allowed
    refused = acl(rule("p", *others)).authorize(operation, "p", {})
    assert not refused.allowed
    assert refused.reason == f"the {capability} capability is not granted"


def test_help_is_always_allowed() -> None:
    assert acl().authorize(Op.HELP, "anything", {}).allowed


def test_no_rule_no_access() -> None:
    decision = acl(rule("a", "read")).authorize(Op.READ, "b", {})
    assert decision == type(decision)(allowed=False, reason="no policy grants access to this path")


def test_sudo_is_reported() -> None:
    decision = acl(rule("sys/audit/*", "update", "sudo")).authorize(Op.UPDATE, "/sys/audit/file", {})
    assert decision.allowed
    assert decision.sudo
    assert decision.capabilities == C.UPDATE | C.SUDO
    assert not acl(rule("sys/audit/*", "update")).authorize(Op.UPDATE, "sys/audit/file", {}).sudo


def test_list_with_trailing_slash_finds_rules_without_it() -> None:
    assert acl(rule("secret/metadata", "list")).authorize(Op.LIST, "secret/metadata/", {}).allowed
    assert acl(rule("secret/meta*", "list")).authorize(Op.LIST, "secret/metadata/", {}).allowed
    assert not acl(rule("secret/metadata", "read")).authorize(Op.READ, "secret/metadata/", {}).allowed


@pytest.mark.parametrize("deny", ["secret/metadata/private/*", "secret/metadata/private/+"])
@pytest.mark.parametrize("path", ["secret/metadata/private/", "/secret/metadata/private/"])
def test_list_is_checked_with_its_trailing_slash_before_wider_rules(deny: str, path: str) -> None:
    """A folder's own listing is "dir/": "dir/*" and "dir/+" ("+" matching the empty last segment) decide
    it, not the wider "secret/metadata/*" that "dir" without its slash falls under."""
    rules = acl(rule("secret/metadata/*", "list") + rule(deny, "deny"))
    assert not rules.authorize(Op.LIST, path, {}).allowed
    assert rules.capabilities(path) == ["deny"]
    # Without the slash it is a key of secret/metadata/, as Vault answers sys/capabilities for it.
    assert rules.capabilities("secret/metadata/private") == ["list"]
    assert rules.authorize(Op.LIST, "secret/metadata/", {}).allowed


def test_list_falls_back_to_wildcards_without_the_slash_only_when_none_match_with_it() -> None:
    # "a/+" cannot match "a/b/" (three segments), so the list of "a/b/" falls back to "a/b".
    assert acl(rule("a/+", "list")).authorize(Op.LIST, "a/b/", {}).allowed
    assert not acl(rule("a/+", "list") + rule("a/b/+", "deny")).authorize(Op.LIST, "a/b/", {}).allowed
    # The exact rule without the slash still comes first, as in Vault.
    listed = acl(rule("sys/policies/acl", "list") + rule("sys/policies/acl/+", "deny"))
    assert listed.authorize(Op.LIST, "sys/policies/acl/", {}).allowed
    assert (
        not acl(rule("sys/policies/*", "list") + rule("sys/policies/acl/+", "deny"))
        .authorize(Op.LIST, "sys/policies/acl/", {})
        .allowed
    )
    # Operations other than LIST get no fallback at all.
    assert not acl(rule("a/+", "read")).authorize(Op.READ, "a/b/", {}).allowed


def test_root_allows_everything() -> None:
    root = ACL([Policy(name="root", raw="")])
    decision = root.authorize(Op.DELETE, "sys/raw/anything", {"x": 1})
    assert decision.allowed
    assert decision.sudo
    assert decision.root
    assert C.DENY not in decision.capabilities
    assert C.SUDO in decision.capabilities
    assert root.capabilities("whatever") == ["root"]


def test_root_with_other_policies_is_refused() -> None:
    with pytest.raises(StrongroomError, match="other policies present along with root"):
        ACL([Policy(name="root", raw=""), parse_policy("x", "")])


PARAMS = """
path "kv/params" {
  capabilities = ["create", "update", "read", "list"]
  allowed_parameters = {
    "color" = ["red", "bl*", "*een"]
    "size"  = []
    "count" = [1, 2]
  }
  denied_parameters = { "secret" = [] }
  required_parameters = ["size"]
}
"""


@pytest.mark.parametrize(
    ("data", "allowed", "reason"),
    [
        ({"size": 1}, True, ""),
        ({"size": 1, "color": "red"}, True, ""),
        ({"size": 1, "color": "blue"}, True, ""),
        ({"size": 1, "color": "green"}, True, ""),
        ({"size": 1, "color": "pink"}, False, "parameter 'color' has a value that is not allowed"),
        ({"size": 1, "COLOR": "red"}, True, ""),
        ({"size": 1, "count": 2}, True, ""),
        ({"size": 1, "count": True}, False, "parameter 'count' has a value that is not allowed"),
        ({"size": 1, "count": "2"}, False, "parameter 'count' has a value that is not allowed"),
        ({"size": 1, "shape": "round"}, False, "parameter 'shape' is not allowed"),
        ({"size": 1, "secret": "x"}, False, "parameter 'secret' is denied"),
        ({"color": "red"}, False, "required parameter 'size' is missing"),
        ({}, False, "required parameter 'size' is missing"),
    ],
)
def test_parameter_rules(data: dict[str, Any], allowed: bool, reason: str) -> None:
    decision = acl(PARAMS).authorize(Op.UPDATE, "kv/params", data)
    assert (decision.allowed, decision.reason) == (allowed, reason)
    assert "pink" not in decision.reason
    assert "round" not in decision.reason


NUMBERS = """
path "a" {
  capabilities = ["update"]
  denied_parameters = { "n" = [5], "nested" = [[1, {"k" = 2}]] }
  allowed_parameters = { "*" = [], "ratio" = [0.5, 2] }
}
"""


@pytest.mark.parametrize(
    ("data", "allowed"),
    [
        # Kept on purpose against OpenBao (which never matches a number): a number is the same number.
        ({"n": 5}, False),
        ({"n": 5.0}, False),
        ({"n": 6}, True),
        ({"n": "5"}, True),
        ({"n": True}, True),
        ({"nested": [1, {"k": 2}]}, False),
        ({"nested": [1.0, {"k": 2.0}]}, False),
        ({"nested": [True, {"k": 2}]}, True),
        ({"ratio": 0.5}, True),
        ({"ratio": 2.0}, True),
        ({"ratio": 3}, False),
        ({"ratio": None}, False),
    ],
)
def test_numbers_match_the_same_number(data: dict[str, Any], allowed: bool) -> None:
    assert acl(NUMBERS).authorize(Op.UPDATE, "a", data).allowed is allowed


def test_parameters_are_not_checked_for_list_and_delete() -> None:
    text = 'path "a" { capabilities = ["list", "delete"] denied_parameters = { "*" = [] } }'
    assert acl(text).authorize(Op.LIST, "a", {"x": 1}).allowed
    assert acl(text).authorize(Op.DELETE, "a", {"x": 1}).allowed


def test_wildcard_parameter_keys() -> None:
    deny_all = acl('path "a" { capabilities = ["update"] denied_parameters = { "*" = [] } }')
    assert deny_all.authorize(Op.UPDATE, "a", {}).allowed
    assert deny_all.authorize(Op.UPDATE, "a", {"x": 1}).reason == "all parameters are denied"
    allow_all_but = acl(
        'path "a" { capabilities = ["update"] allowed_parameters = { "*" = [] "x" = ["1"] } }'
    )
    assert allow_all_but.authorize(Op.UPDATE, "a", {"y": "anything"}).allowed
    assert not allow_all_but.authorize(Op.UPDATE, "a", {"x": "2"}).allowed


def test_parameter_maps_merge_across_policies() -> None:
    first = 'path "a" { capabilities = ["update"] allowed_parameters = { "x" = ["1"] "y" = [] } }'
    second = 'path "a" { capabilities = ["update"] allowed_parameters = { "x" = ["2"] "y" = ["only"] } }'
    merged = acl(first, second)
    assert merged.authorize(Op.UPDATE, "a", {"x": "1"}).allowed
    assert merged.authorize(Op.UPDATE, "a", {"x": "2"}).allowed
    assert not merged.authorize(Op.UPDATE, "a", {"x": "3"}).allowed
    # An empty list ("any value") absorbs the other policy's restriction.
    assert merged.authorize(Op.UPDATE, "a", {"y": "free"}).allowed


def test_wrapping_ttl_bounds() -> None:
    bounded = acl('path "a" { capabilities = ["read"] min_wrapping_ttl = "1m" max_wrapping_ttl = "1h" }')
    assert not bounded.authorize(Op.READ, "a", {}).allowed
    assert not bounded.authorize(Op.READ, "a", {}, wrap_ttl=30).allowed
    assert not bounded.authorize(Op.READ, "a", {}, wrap_ttl=7200).allowed
    assert bounded.authorize(Op.READ, "a", {}, wrap_ttl=600).allowed


def test_expired_rules_are_left_out() -> None:
    text = rule("a", "read").replace("}", 'expiration = "2030-01-01T00:00:00Z" }')
    assert acl(text, now=1893455999.0).capabilities("a") == ["read"]
    assert acl(text, now=1893455999.0).valid_until == 1893456000.0
    assert acl(text, now=1893456000.0).capabilities("a") == ["deny"]


def test_templates_are_filled_from_identity_or_left_out() -> None:
    text = rule("users/{{identity.entity.id}}/*", "read", "update")
    assert acl(text, identity={"identity.entity.id": "e-1"}).capabilities("users/e-1/x") == ["read", "update"]
    assert acl(text, identity={"identity.entity.id": "e-1"}).capabilities("users/e-2/x") == ["deny"]
    assert acl(text).capabilities("users//x") == ["deny"]
    assert acl(text, identity={"identity.entity.id": "*"}).capabilities("users/*/x") == ["deny"]


def test_default_policy_grants_what_openbao_grants() -> None:
    default = acl(DEFAULT_POLICY)
    assert default.capabilities("auth/token/lookup-self") == ["read"]
    assert default.capabilities("auth/token/renew-self") == ["update"]
    assert default.capabilities("auth/token/revoke-self") == ["update"]
    assert default.capabilities("sys/capabilities-self") == ["update"]
    assert default.capabilities("cubbyhole/x") == ["create", "delete", "list", "read", "update"]
    assert default.capabilities("sys/wrapping/unwrap") == ["update"]
    assert default.capabilities("sys/tools/hash/sha2-256") == ["update"]
    assert default.capabilities("identity/oidc/provider/p/authorize") == ["read", "update"]
    assert default.capabilities("secret/data/x") == ["deny"]
    assert default.capabilities("auth/token/create") == ["deny"]
    assert default.authorize(Op.LIST, "cubbyhole/", {}).allowed


def test_remembered_lookups_answer_as_the_first_and_stay_bounded() -> None:
    rules = acl(rule("secret/*", "read"), rule("secret/", "list"), rule("secret/deny/*", "deny"))
    for _ in range(2):  # the second round answers from what the first remembered
        assert rules.authorize(Op.READ, "secret/a", {}).allowed
        assert not rules.authorize(Op.UPDATE, "secret/a", {}).allowed
        assert rules.authorize(Op.LIST, "secret/", {}).allowed
        assert not rules.authorize(Op.READ, "secret/deny/x", {}).allowed
        assert not rules.authorize(Op.READ, "other/a", {}).allowed
    for i in range(LOOKUP_MEMO_SIZE + 10):
        assert rules.authorize(Op.READ, f"secret/k{i}", {}).allowed
    assert rules.capabilities("secret/k0") == ["read"]  # evicted early, found again the same
    assert len(rules._found) <= LOOKUP_MEMO_SIZE
    assert len(rules._verdicts) <= LOOKUP_MEMO_SIZE


def test_remembered_verdicts_never_outlive_the_parameters_or_wrapping_they_depend_on() -> None:
    params = acl(PARAMS)
    for _ in range(2):
        assert params.authorize(Op.UPDATE, "kv/params", {"size": 1}).allowed
        assert not params.authorize(Op.UPDATE, "kv/params", {"size": 1, "secret": "x"}).allowed
        assert not params.authorize(Op.UPDATE, "kv/params", {}).allowed
    bounded = acl('path "a" { capabilities = ["read"] max_wrapping_ttl = "1h" }')
    for _ in range(2):
        assert bounded.authorize(Op.READ, "a", {}, wrap_ttl=600).allowed
        assert not bounded.authorize(Op.READ, "a", {}).allowed
