"""Reading ACL policy text (HCL or its JSON form) into a `Policy`, validated the way Vault validates it.

Layer: policy. Imports hcl, errors, util.durations and policy.model.
Invariant: a policy that fails validation is refused whole; no partial policy ever reaches an ACL.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from strongroom import hcl
from strongroom.errors import ConfigError, HCLError, InvalidRequestError
from strongroom.policy.model import Capability, PathRule, Policy
from strongroom.util.durations import parse_duration

__all__ = ["PolicyParseError", "parse_policy"]

_TOP_LEVEL_KEYS = frozenset({"name", "path"})
_RULE_KEYS = frozenset(
    {
        "comment",
        "policy",
        "capabilities",
        "allowed_parameters",
        "denied_parameters",
        "required_parameters",
        "min_wrapping_ttl",
        "max_wrapping_ttl",
        "expiration",
        # Accepted so OpenBao and Vault policies load; strongroom does not enforce them.
        "mfa_methods",
        "pagination_limit",
        "list_scan_response_keys_filter_path",
        "control_group",
    }
)
# The pre-capabilities `policy = "..."` shorthand, mapped as Vault maps it.
_LEGACY_POLICIES: Mapping[str, tuple[str, ...]] = {
    "deny": ("deny",),
    "read": ("read", "list"),
    "write": ("create", "read", "update", "delete", "list"),
    "sudo": ("create", "read", "update", "delete", "list", "sudo"),
}


class PolicyParseError(InvalidRequestError):
    """The policy text is invalid. The message is Vault's: "failed to parse policy: ..."."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"failed to parse policy: {detail}")


class _RuleError(Exception):
    """A rule-level problem; `parse_policy` prefixes it with the path as Vault does."""


def parse_policy(name: str, text: str) -> Policy:
    """Parse and validate policy `text`; raise PolicyParseError with Vault's message on any problem."""
    try:
        document = hcl.loads(text, filename=name)
    except HCLError as exc:
        raise PolicyParseError(f"At {exc.line}:{exc.column}: {exc.message}") from None
    invalid = _invalid_keys(document, _TOP_LEVEL_KEYS)
    if invalid:
        raise PolicyParseError(invalid)
    try:
        stanzas = hcl.blocks(document.get("path"), 1)
    except ConfigError as exc:
        raise PolicyParseError(f"path: {exc}") from None
    rules: list[PathRule] = []
    for (key,), body in stanzas:
        try:
            rules.append(_parse_rule(key, body))
        except _RuleError as exc:
            raise PolicyParseError(f"path {_quote(key)}: {exc}") from None
    return Policy(name=name, raw=text, rules=tuple(rules))


def _quote(text: str) -> str:
    """Go's %q for the plain strings that appear in policies."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _invalid_keys(obj: Mapping[str, Any], valid: frozenset[str]) -> str:
    """Vault's multierror text for keys outside `valid`, or "" when all are valid."""
    errors = [
        f"invalid key {_quote(key)} on line {hcl.assignment_line(obj, key)}"
        for key in obj
        if key not in valid
    ]
    if not errors:
        return ""
    head = "1 error occurred" if len(errors) == 1 else f"{len(errors)} errors occurred"
    return head + ":\n" + "".join(f"\t* {error}\n" for error in errors) + "\n"


def _parse_rule(key: str, body: Mapping[str, Any]) -> PathRule:
    invalid = _invalid_keys(body, _RULE_KEYS)
    if invalid:
        raise _RuleError(invalid)
    own = f"path {_quote(key)}: "
    if not _templates_balanced(key):
        raise _RuleError("failed to validate policy templating: unbalanced templating characters")
    expiration = _expiration(body.get("expiration"), own)
    path = key.removeprefix("/")
    if "+*" in path:
        raise _RuleError(f"path {_quote(path)}: invalid use of wildcards ('+*' is forbidden)")

    names = list(_string_list(body.get("capabilities"), "capabilities", own))
    legacy = body.get("policy")
    if legacy is not None:
        if not isinstance(legacy, str) or legacy not in _LEGACY_POLICIES:
            raise _RuleError(f"{own}invalid policy {_quote(str(legacy))}")
        names = ["deny"] if legacy == "deny" else names + list(_LEGACY_POLICIES[legacy])

    capabilities = Capability.NONE
    for name in names:
        if name == "deny":
            # Deny overrides everything else in the stanza, and Vault reads nothing further from it.
            return PathRule(path=path, capabilities=Capability.DENY, expiration=expiration)
        try:
            capabilities |= Capability.from_name(name)
        except KeyError:
            raise _RuleError(f"{own}invalid capability {_quote(name)}") from None

    min_ttl = _wrapping_ttl(body.get("min_wrapping_ttl"), "min_wrapping_ttl")
    max_ttl = _wrapping_ttl(body.get("max_wrapping_ttl"), "max_wrapping_ttl")
    if min_ttl and max_ttl and max_ttl < min_ttl:
        raise _RuleError("max_wrapping_ttl cannot be less than min_wrapping_ttl")
    return PathRule(
        path=path,
        capabilities=capabilities,
        allowed_parameters=_parameters(body.get("allowed_parameters"), "allowed_parameters", own),
        denied_parameters=_parameters(body.get("denied_parameters"), "denied_parameters", own),
        required_parameters=_string_list(body.get("required_parameters"), "required_parameters", own),
        min_wrapping_ttl=min_ttl,
        max_wrapping_ttl=max_ttl,
        expiration=expiration,
    )


def _templates_balanced(path: str) -> bool:
    depth = 0
    i = 0
    while i < len(path):
        pair = path[i : i + 2]
        if pair in ("{{", "}}"):
            depth += 1 if pair == "{{" else -1
            if depth not in (0, 1):
                return False
            i += 2
        else:
            i += 1
    return depth == 0


def _string_list(value: Any, field: str, own: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _RuleError(f"{own}{field} must be a list of strings")
    return tuple(value)


def _parameters(value: Any, field: str, own: str) -> Mapping[str, tuple[Any, ...]]:
    """A parameter map keyed by lower-case name; `{ "x" = [] }` and `x { ... }` blocks both work."""
    if value is None:
        return MappingProxyType({})
    merged: dict[str, tuple[Any, ...]] = {}
    try:
        bodies = hcl.blocks(value, 0)
    except ConfigError:
        raise _RuleError(f"{own}{field} must be an object") from None
    for _, body in bodies:
        for name, values in body.items():
            if not isinstance(values, list):
                raise _RuleError(f"{own}{field} {_quote(name)}: expected a list of values")
            merged[name.lower()] = tuple(values)
    return MappingProxyType(merged)


def _wrapping_ttl(value: Any, field: str) -> int:
    if value is None:
        return 0
    try:
        return parse_duration(value)
    except ValueError:
        raise _RuleError(f'error parsing {field}: time: invalid duration "{value}"') from None


def _expiration(value: Any, own: str) -> float | None:
    """An RFC 3339 time with its zone, or seconds since the epoch (Vault's ParseAbsoluteTime)."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _RuleError(f"{own}invalid expiration time: could not parse string as date and time")
    return moment.timestamp()
