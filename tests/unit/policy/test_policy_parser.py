"""Policy parsing and validation, with Vault's error texts (taken from OpenBao 2.x)."""

from __future__ import annotations

import json

import pytest

from strongroom.policy import DEFAULT_POLICY, Capability, PolicyParseError, parse_policy
from strongroom.policy.model import PathRule

C = Capability


def only_rule(text: str) -> PathRule:
    (rule,) = parse_policy("p", text).rules
    return rule


def test_capabilities_and_parameters() -> None:
    rule = only_rule(
        """
        path "/secret/data/*" {
          capabilities = ["create", "read", "update", "patch", "delete", "list", "sudo", "scan", "subscribe"]
          allowed_parameters = {
            "Name" = ["a*", "b"]
            "*"    = []
          }
          denied_parameters = { "admin" = [] }
          required_parameters = ["name"]
          min_wrapping_ttl = "1m"
          max_wrapping_ttl = 3600
          comment = "ignored"
        }
        """
    )
    assert rule.path == "secret/data/*"
    assert rule.is_prefix
    assert not rule.has_segment_wildcards
    assert rule.capabilities == (
        C.CREATE | C.READ | C.UPDATE | C.PATCH | C.DELETE | C.LIST | C.SUDO | C.SCAN | C.SUBSCRIBE
    )
    assert dict(rule.allowed_parameters) == {"name": ("a*", "b"), "*": ()}
    assert dict(rule.denied_parameters) == {"admin": ()}
    assert rule.required_parameters == ("name",)
    assert (rule.min_wrapping_ttl, rule.max_wrapping_ttl) == (60, 3600)


def test_parameter_blocks_read_like_objects() -> None:
    rule = only_rule('path "a" {\n capabilities = ["update"]\n allowed_parameters { "x" = ["1"] }\n}')
    assert dict(rule.allowed_parameters) == {"x": ("1",)}


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("deny", C.DENY),
        ("read", C.READ | C.LIST),
        ("write", C.CREATE | C.READ | C.UPDATE | C.DELETE | C.LIST),
        ("sudo", C.CREATE | C.READ | C.UPDATE | C.DELETE | C.LIST | C.SUDO),
    ],
)
def test_legacy_policy_shorthand(legacy: str, expected: Capability) -> None:
    assert only_rule(f'path "a" {{ policy = "{legacy}" }}').capabilities == expected


def test_legacy_shorthand_adds_to_capabilities() -> None:
    rule = only_rule('path "a" { policy = "read" capabilities = ["patch"] }')
    assert rule.capabilities == C.PATCH | C.READ | C.LIST


def test_deny_clears_everything_else() -> None:
    rule = only_rule(
        'path "a" { capabilities = ["read", "deny", "update"] allowed_parameters = { "x" = [] } }'
    )
    assert rule.capabilities == C.DENY
    assert dict(rule.allowed_parameters) == {}


def test_json_policy() -> None:
    text = json.dumps({"path": {"a/+/b": {"capabilities": ["read"]}, "c": {"policy": "write"}}})
    rules = parse_policy("p", text).rules
    assert [(r.path, r.capabilities) for r in rules] == [
        ("a/+/b", C.READ),
        ("c", C.CREATE | C.READ | C.UPDATE | C.DELETE | C.LIST),
    ]
    assert rules[0].has_segment_wildcards


def test_expiration_and_templating_are_read() -> None:
    policy = parse_policy(
        "p",
        'path "a" { capabilities = ["read"] expiration = "2030-01-01T00:00:00Z" }\n'
        'path "u/{{identity.entity.id}}/*" { capabilities = ["read"] }',
    )
    assert policy.rules[0].expiration == 1893456000.0
    assert policy.rules[1].templated
    assert not policy.rules[0].templated


def test_default_policy_parses() -> None:
    policy = parse_policy("default", DEFAULT_POLICY)
    assert policy.raw == DEFAULT_POLICY
    assert len(policy.rules) == 16


def test_empty_policy_has_no_rules() -> None:
    assert parse_policy("p", "").rules == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('path "a" {capabilities=["reed"]}', 'path "a": path "a": invalid capability "reed"'),
        ('path "a" {capabilities=["READ"]}', 'path "a": path "a": invalid capability "READ"'),
        ('path "a" {capabilities=["read"]', "At 1:32: object expected closing '}', found end of file"),
        (
            'path "a" {capabilities=["read"] foo = 1}',
            'path "a": 1 error occurred:\n\t* invalid key "foo" on line 1\n\n',
        ),
        (
            'path "a" {capabilities=["read"]}\nfoo "b" {capabilities=["read"]}\nbar = 1',
            '2 errors occurred:\n\t* invalid key "foo" on line 0\n\t* invalid key "bar" on line 3\n\n',
        ),
        ('path "a" {policy = "foo"}', 'path "a": path "a": invalid policy "foo"'),
        (
            'path "a+*" {capabilities=["read"]}',
            'path "a+*": path "a+*": invalid use of wildcards (\'+*\' is forbidden)',
        ),
        (
            'path "a" {capabilities=["read"] min_wrapping_ttl="10m" max_wrapping_ttl="1m"}',
            'path "a": max_wrapping_ttl cannot be less than min_wrapping_ttl',
        ),
        (
            'path "a" {capabilities=["read"] min_wrapping_ttl = "abc"}',
            'path "a": error parsing min_wrapping_ttl: time: invalid duration "abc"',
        ),
        (
            'path "a/{{identity.entity.id" {capabilities=["read"]}',
            'path "a/{{identity.entity.id": failed to validate policy templating: '
            "unbalanced templating characters",
        ),
        (
            'path "a" {capabilities=["read"] expiration="garbage"}',
            'path "a": path "a": invalid expiration time: could not parse string as date and time',
        ),
        ('path "a" {capabilities="read"}', 'path "a": path "a": capabilities must be a list of strings'),
        (
            'path "a" {capabilities=["read"] allowed_parameters = {"x" = "y"}}',
            'path "a": path "a": allowed_parameters "x": expected a list of values',
        ),
        ('{"path": {"a": {"capabilities": ["red"]}}}', 'path "a": path "a": invalid capability "red"'),
    ],
)
def test_refusals_carry_vaults_messages(text: str, message: str) -> None:
    with pytest.raises(PolicyParseError) as caught:
        parse_policy("p", text)
    assert caught.value.errors == (f"failed to parse policy: {message}",)
