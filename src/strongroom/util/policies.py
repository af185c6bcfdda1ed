"""Policy names as Vault normalizes them (sdk/helper/policyutil): the one place every layer that stores or
compares policy names takes them from.

Layer: util (bottom; stdlib only), so the policy store, the token store, the core's login path and the auth
methods' roles and users all use the same rules.
Invariant: a name that differs from "root" only by case or surrounding whitespace is "root" here; nothing
that trusts a policy name compares it before passing it through `policy_name` or `sanitize_policies`.
"""

from __future__ import annotations

from collections.abc import Iterable

ROOT = "root"
DEFAULT = "default"
# Policies the server keeps for itself; no token may be given one (Vault's NonAssignablePolicies, plus
# Vault Enterprise's control-group, which Vault's token store refuses too).
NON_ASSIGNABLE = ("response-wrapping", "control-group")


def policy_name(name: str) -> str:
    """One policy name as Vault keys it: surrounding whitespace removed, lower-cased."""
    return name.strip().lower()


def remove_duplicates(items: Iterable[str], *, lowercase: bool) -> tuple[str, ...]:
    """Go strutil.RemoveDuplicates: trimmed, optionally lowercased, empties dropped, sorted, unique."""
    cleaned = {(item.strip().lower() if lowercase else item.strip()) for item in items}
    cleaned.discard("")
    return tuple(sorted(cleaned))


def sanitize_policies(policies: Iterable[str], *, add_default: bool) -> tuple[str, ...]:
    """Vault's policyutil.SanitizePolicies: each name through `policy_name`, empties dropped, de-duplicated
    and sorted; "root" among them leaves "root" alone; "default" added when asked (never beside "root")."""
    cleaned = {policy_name(p) for p in policies}
    cleaned.discard("")
    if ROOT in cleaned:
        return (ROOT,)
    if add_default:
        cleaned.add(DEFAULT)
    return tuple(sorted(cleaned))


def parse_policies(policies: Iterable[str]) -> tuple[str, ...]:
    """Vault's policyutil.ParsePolicies for an already split list: sanitized, no "default" added. What the
    legacy "policies" fields of auth-method roles and users store."""
    return sanitize_policies(policies, add_default=False)
