"""The access decision: an ACL compiled once from a set of policies answers every request it is asked about.

Layer: policy. Imports errors, logical.Operation and policy.model.

Matching follows Vault (vault/acl.go): an exact rule wins; otherwise the longest trailing-"*" prefix and the
"+" segment patterns compete, the most specific winning by, in order: the later first wildcard, not being a
prefix, fewer "+" segments, the longer pattern, the lexically greater pattern.

Invariant: when several policies name the same pattern, an explicit deny in any of them wins outright.
Invariant: a refusal's reason names capabilities and parameter names, never a parameter's value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from strongroom.errors import StrongroomError
from strongroom.logical.operation import Operation
from strongroom.policy.model import Capability, PathRule, Policy

__all__ = ["ACL", "Authorization"]

_ALL = Capability(sum(cap.value for cap in Capability if cap is not Capability.DENY))
_REQUIRED: Mapping[Operation, Capability] = {
    Operation.CREATE: Capability.CREATE,
    Operation.READ: Capability.READ,
    Operation.HEAD: Capability.READ,
    Operation.UPDATE: Capability.UPDATE,
    Operation.PATCH: Capability.PATCH,
    Operation.DELETE: Capability.DELETE,
    Operation.LIST: Capability.LIST,
}
# Only operations that carry parameters are checked against parameter rules.
_PARAMETER_CHECKED = frozenset(
    {Operation.CREATE, Operation.READ, Operation.HEAD, Operation.UPDATE, Operation.PATCH}
)
_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
# Paths whose matching rule one ACL remembers (paths are the client's: the memo must stay bounded).
LOOKUP_MEMO_SIZE = 1024


@dataclass(frozen=True, slots=True)
class Authorization:
    """The answer for one request. `sudo`: the matched rule grants sudo (needed on root-protected paths)."""

    allowed: bool
    capabilities: Capability = Capability.NONE
    sudo: bool = False
    root: bool = False
    reason: str = ""


@dataclass(slots=True)
class _Permissions:
    """The merged rules for one pattern. Mutated only while the ACL is being built."""

    capabilities: Capability
    allowed: dict[str, list[Any]] = field(default_factory=dict)
    denied: dict[str, list[Any]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    min_wrapping_ttl: int = 0
    max_wrapping_ttl: int = 0

    @classmethod
    def of(cls, rule: PathRule) -> _Permissions:
        return cls(
            capabilities=rule.capabilities,
            allowed={k: list(v) for k, v in rule.allowed_parameters.items()},
            denied={k: list(v) for k, v in rule.denied_parameters.items()},
            required=list(rule.required_parameters),
            min_wrapping_ttl=rule.min_wrapping_ttl,
            max_wrapping_ttl=rule.max_wrapping_ttl,
        )

    def merge(self, rule: PathRule) -> None:
        """Fold another policy's rule for the same pattern in, as Vault's NewACL does."""
        if Capability.DENY in self.capabilities:
            return
        if Capability.DENY in rule.capabilities:
            self.capabilities = Capability.DENY
            self.allowed, self.denied = {}, {}
            return
        self.capabilities |= rule.capabilities
        # The shorter lifetime wins for both bounds.
        self.max_wrapping_ttl = _shorter(self.max_wrapping_ttl, rule.max_wrapping_ttl)
        self.min_wrapping_ttl = _shorter(self.min_wrapping_ttl, rule.min_wrapping_ttl)
        _merge_parameters(self.allowed, rule.allowed_parameters)
        _merge_parameters(self.denied, rule.denied_parameters)
        self.required.extend(p for p in rule.required_parameters if p not in self.required)


def _shorter(current: int, other: int) -> int:
    """The smaller of two TTL bounds, where 0 means "no bound"."""
    if not current or not other:
        return current or other
    return min(current, other)


def _merge_parameters(into: dict[str, list[Any]], more: Mapping[str, tuple[Any, ...]]) -> None:
    for key, values in more.items():
        # An empty list means "any value" and absorbs whatever the other policy listed.
        if not values or (key in into and not into[key]):
            into[key] = []
        else:
            into[key] = [*values, *into.get(key, [])]


@dataclass(frozen=True, slots=True)
class _Candidate:
    """A non-exact pattern that matched, ranked by `priority` (higher wins)."""

    priority: tuple[int, bool, int, int, str]
    permissions: _Permissions


class ACL:
    """The compiled access rules of a set of policies.

    `identity` fills policy templates (`{{identity.entity.id}}` looks up "identity.entity.id"); a rule whose
    template cannot be filled, or whose filled value holds "/", "*" or "+", is left out, as Vault leaves it.
    Rules whose expiration is at or before `now` are left out; `valid_until` says when the next one expires.
    """

    def __init__(
        self,
        policies: Sequence[Policy],
        *,
        identity: Mapping[str, str] | None = None,
        now: float = 0.0,
    ) -> None:
        self.root = any(policy.name == "root" for policy in policies)
        if self.root and len(policies) != 1:
            raise StrongroomError("other policies present along with root")
        self.valid_until: float | None = None
        self._exact: dict[str, _Permissions] = {}
        self._prefix: dict[str, _Permissions] = {}
        self._segment: dict[str, _Permissions] = {}
        # What `_lookup` found, by (path, listing): the same few paths come back request after request,
        # and the tables never change once built (a policy change builds a new ACL).
        self._found: dict[tuple[str, bool], _Permissions | None] = {}
        # Answers that depend on nothing but (operation, path): the rule sets no parameter or wrapping
        # constraint, or the capability is missing anyway. Bounded as `_found`.
        self._verdicts: dict[tuple[Operation, str], Authorization] = {}
        for rule in self._effective_rules(policies, identity or {}, now):
            if rule.has_segment_wildcards:
                table, key = self._segment, rule.path
            elif rule.is_prefix:
                table, key = self._prefix, rule.path[:-1]
            else:
                table, key = self._exact, rule.path
            if key in table:
                table[key].merge(rule)
            else:
                table[key] = _Permissions.of(rule)

    def _effective_rules(
        self, policies: Sequence[Policy], identity: Mapping[str, str], now: float
    ) -> Iterable[PathRule]:
        for policy in policies:
            for rule in policy.rules:
                if rule.expiration is not None:
                    if rule.expiration <= now:
                        continue
                    if self.valid_until is None or rule.expiration < self.valid_until:
                        self.valid_until = rule.expiration
                if not rule.templated:
                    yield rule
                    continue
                path = _fill_templates(rule.path, identity)
                if path is not None:
                    yield replace(rule, path=path)

    def authorize(
        self, operation: Operation, path: str, data: Mapping[str, Any], *, wrap_ttl: int = 0
    ) -> Authorization:
        """Whether `operation` on `path` with `data` is allowed. `wrap_ttl` is the requested wrapping TTL."""
        known = self._verdicts.get((operation, path))
        if known is not None:
            return known
        verdict, general = self._authorize(operation, path, data, wrap_ttl)
        if general:
            if len(self._verdicts) >= LOOKUP_MEMO_SIZE:
                del self._verdicts[next(iter(self._verdicts))]  # the oldest first
            self._verdicts[operation, path] = verdict
        return verdict

    def _authorize(
        self, operation: Operation, path: str, data: Mapping[str, Any], wrap_ttl: int
    ) -> tuple[Authorization, bool]:
        """The verdict, and whether it holds for any data and wrapping TTL."""
        if self.root:
            return Authorization(allowed=True, capabilities=_ALL, sudo=True, root=True), True
        if operation is Operation.HELP:
            # Vault answers help on any path to any token.
            return Authorization(allowed=True), True
        needed = _REQUIRED.get(operation)
        path = path.lstrip("/")
        permissions = self._lookup(path, listing=operation is Operation.LIST)
        if permissions is None or needed is None:
            return Authorization(allowed=False, reason="no policy grants access to this path"), True
        caps = permissions.capabilities
        sudo = Capability.SUDO in caps

        def refuse(reason: str) -> Authorization:
            return Authorization(allowed=False, capabilities=caps, sudo=sudo, reason=reason)

        if needed not in caps:
            name = needed.name.lower() if needed.name else ""
            return refuse(f"the {name} capability is not granted"), True
        if permissions.max_wrapping_ttl and (not wrap_ttl or wrap_ttl > permissions.max_wrapping_ttl):
            return refuse("the response must be wrapped within max_wrapping_ttl"), False
        if permissions.min_wrapping_ttl and (not wrap_ttl or wrap_ttl < permissions.min_wrapping_ttl):
            return refuse("the response must be wrapped for at least min_wrapping_ttl"), False
        if (
            permissions.min_wrapping_ttl
            and permissions.max_wrapping_ttl
            and permissions.max_wrapping_ttl < permissions.min_wrapping_ttl
        ):
            return refuse("the merged wrapping TTL bounds cannot be met"), False
        constrained = permissions.required or permissions.denied or permissions.allowed
        if constrained and operation in _PARAMETER_CHECKED:
            reason = _check_parameters(permissions, data)
            if reason:
                return refuse(reason), False
        general = not (constrained or permissions.min_wrapping_ttl or permissions.max_wrapping_ttl)
        return Authorization(allowed=True, capabilities=caps, sudo=sudo), general

    def capabilities(self, path: str) -> list[str]:
        """Vault's sys/capabilities answer for `path`: sorted names, ["root"] for root, ["deny"] for none."""
        if self.root:
            return ["root"]
        permissions = self._lookup(path.lstrip("/"), listing=True)
        caps = permissions.capabilities if permissions else Capability.NONE
        if Capability.DENY in caps or not caps:
            return ["deny"]
        return caps.names()

    def has_access_under(self, prefix: str) -> bool:
        """Whether any rule grants something at or below `prefix` (Vault's mount preflight check)."""
        if self.root:
            return True
        if self._lookup(prefix, listing=True) is not None and self.capabilities(prefix) != ["deny"]:
            return True
        for table in (self._exact, self._prefix, self._segment):
            for pattern, permissions in table.items():
                if not pattern.startswith(prefix):
                    continue
                if permissions.capabilities and Capability.DENY not in permissions.capabilities:
                    return True
        return False

    def _lookup(self, path: str, *, listing: bool) -> _Permissions | None:
        """Vault's order: the exact rule, then (listing) the exact rule without the trailing slash, then
        the best wildcard rule for the path as given, and only when none matches (listing) the best one
        for the path without its slash. A list of "foo/" is "foo/"'s own request, so "foo/*" and "foo/+"
        (whose "+" matches the empty last segment) decide it before any rule written for "foo" can."""
        key = (path, listing)
        if key in self._found:
            return self._found[key]
        found = self._exact.get(path)
        if found is None and listing:
            found = self._exact.get(path.removesuffix("/"))
        if found is None:
            found = self._non_exact(path)
        if found is None and listing and path.endswith("/"):
            found = self._non_exact(path[:-1])
        if len(self._found) >= LOOKUP_MEMO_SIZE:
            del self._found[next(iter(self._found))]  # the oldest first
        self._found[key] = found
        return found

    def _non_exact(self, path: str) -> _Permissions | None:
        candidates: list[_Candidate] = []
        for end in range(len(path), -1, -1):
            prefix_rule = self._prefix.get(path[:end])
            if prefix_rule is not None:
                if not self._segment:
                    return prefix_rule
                prefix = path[:end]
                candidates.append(_Candidate((len(prefix), False, 0, len(prefix), prefix), prefix_rule))
                break
        parts = path.split("/")
        for pattern, permissions in self._segment.items():
            candidate = _match_segments(pattern, parts, permissions)
            if candidate is not None:
                candidates.append(candidate)
        if not candidates:
            return None
        return max(candidates, key=lambda c: c.priority).permissions


def _match_segments(pattern: str, parts: list[str], permissions: _Permissions) -> _Candidate | None:
    is_prefix = pattern.endswith("*")
    stem = pattern[:-1] if is_prefix else pattern
    pieces = stem.split("/")
    if len(parts) < len(pieces) or (not is_prefix and len(parts) != len(pieces)):
        return None
    wildcards = 0
    for i, piece in enumerate(pieces):
        if piece == "+":
            wildcards += 1
        elif piece != parts[i] and not (is_prefix and i == len(pieces) - 1 and parts[i].startswith(piece)):
            return None
    return _Candidate((pattern.find("+"), not is_prefix, -wildcards, len(stem), stem), permissions)


def _fill_templates(path: str, identity: Mapping[str, str]) -> str | None:
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        value = identity.get(match.group(1))
        if value is None or any(ch in value for ch in "/*+"):
            missing = True
            return ""
        return value

    filled = _TEMPLATE.sub(fill, path)
    return None if missing else filled


def _check_parameters(permissions: _Permissions, data: Mapping[str, Any]) -> str:
    """Vault's required/denied/allowed parameter checks; the reason for a refusal, or "" to allow."""
    for name in permissions.required:
        if name.lower() not in data:
            return f"required parameter {name!r} is missing"
    if not data:
        return ""
    denied = permissions.denied
    if denied:
        if "*" in denied:
            return "all parameters are denied"
        for name, value in data.items():
            values = denied.get(name.lower())
            if values is not None and _value_in(value, values):
                return f"parameter {name!r} is denied"
    allowed = permissions.allowed
    if not allowed:
        return ""
    allow_all = "*" in allowed
    if allow_all and len(allowed) == 1:
        return ""
    for name, value in data.items():
        values = allowed.get(name.lower())
        if values is None:
            if not allow_all:
                return f"parameter {name!r} is not allowed"
        elif not _value_in(value, values):
            return f"parameter {name!r} has a value that is not allowed"
    return ""


def _value_in(value: Any, listed: list[Any]) -> bool:
    """Vault's valueInParameterList: an empty list matches anything; strings match globs; else equality.

    Unlike Vault, a number matches the same number (OpenBao decodes request numbers as json.Number, which
    equals nothing in a policy, so its `denied_parameters = {"n" = [5]}` does not stop `{"n": 5}`)."""
    if not listed:
        return True
    for item in listed:
        if isinstance(item, str) and isinstance(value, str):
            if _glob_match(item, value):
                return True
        elif _same(item, value):
            return True
    return False


def _same(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value (5 is 5.0), but a boolean is never a number, nor null anything else."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and bool(a == b)


def _glob_match(pattern: str, value: str) -> bool:
    """go-secure-stdlib's GlobbedStringsMatch: a leading and/or trailing "*" only."""
    if len(pattern) < 2:
        return pattern == value
    starts, ends = pattern.startswith("*"), pattern.endswith("*")
    if starts and ends:
        return pattern[1:-1] in value
    if starts:
        return value.endswith(pattern[1:])
    if ends:
        return value.startswith(pattern[:-1])
    return pattern == value
