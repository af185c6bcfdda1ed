"""Reading a verified JWT's claims the way Vault's jwt auth does: claim lookup (plain names or "/" JSON
pointers), bound-claims matching (exact or glob), claim_mappings into metadata, the groups claim.

Layer: builtin, pure domain logic: stdlib only, no framework. Every refusal is a `ClaimError` carrying
Vault's text; messages name claims, never the token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ClaimError(ValueError):
    """The claims do not satisfy the role; the message is what the client sees."""


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def get_claim(claims: Mapping[str, Any], name: str) -> Any:
    """The claim called `name`, or the value a "/"-prefixed JSON pointer reaches; None when absent.

    As Vault does, a single-string "aud" reads as a one-element list, and a number reads as its integer
    (Vault compares claims to configured values through Go's json.Number of the truncated integer).
    """
    value: Any
    if not name.startswith("/"):
        value = claims.get(name)
    else:
        value = claims
        for part in name[1:].split("/"):
            key = _unescape(part)
            if isinstance(value, Mapping):
                value = value.get(key)
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                return None
            if value is None:
                return None
    if name == "aud" and isinstance(value, str):
        return [value]
    if isinstance(value, float):
        return Number(int(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return Number(value)
    return value


class Number(int):
    """A numeric claim or bound value: equal only to another Number, never to a string or a bool."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Number) and int(self) == int(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return int.__hash__(self)


def _normalize(value: Any) -> list[Any] | None:
    """Vault's normalizeList: a list stays, a string, bool or number becomes a one-element list."""
    if isinstance(value, list):
        return value
    if isinstance(value, str | bool | Number):
        return [value]
    return None


def _as_bound(value: Any) -> Any:
    """A configured bound value in the same terms as a claim (numbers as Number)."""
    if isinstance(value, list):
        return [_as_bound(item) for item in value]
    if isinstance(value, float):
        return Number(int(value)) if value.is_integer() else value
    if isinstance(value, int) and not isinstance(value, bool):
        return Number(value)
    return value


def glob_match(pattern: str, text: str) -> bool:
    """go-glob: "*" matches any run of characters (including none); nothing else is special."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return pattern == text
    if not text.startswith(parts[0]) or not text.endswith(parts[-1]):
        return False
    position = len(parts[0])
    end = len(text) - len(parts[-1])
    for middle in parts[1:-1]:
        found = text.find(middle, position, end)
        if found < 0:
            return False
        position = found + len(middle)
    return position <= end


def _go_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_go_text(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_text(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def validate_bound_claims(glob: bool, bound: Mapping[str, Any], claims: Mapping[str, Any]) -> None:
    """ClaimError unless every bound claim has one of its allowed values."""
    for name, expected in bound.items():
        actual = get_claim(claims, name)
        if actual is None:
            raise ClaimError(f'claim "{name}" is missing')
        actual_values = _normalize(actual)
        if actual_values is None:
            raise ClaimError(f"received claim is not a string, bool, int or list: {_go_text(actual)}")
        expected_values = _normalize(_as_bound(expected))
        if expected_values is None:
            raise ClaimError(f"bound claim is not a string, bool, int or list: {_go_text(expected)}")
        if not _match_found(expected_values, actual_values, glob):
            raise ClaimError(f'claim "{name}" does not match any associated bound claim values')


def _match_found(expected: list[Any], actual: list[Any], glob: bool) -> bool:
    for want in expected:
        for have in actual:
            if glob:
                if not isinstance(want, str):
                    raise ClaimError(f"received claim is not a glob string: {_go_text(want)}")
                if isinstance(have, str) and glob_match(want, have):
                    return True
            elif type(want) is type(have) and want == have:
                return True
    return False


def check_glob_bound_claims(bound: Mapping[str, Any]) -> None:
    """ClaimError when a glob role's bound value is not a string or a list of strings (Vault's rule)."""
    for value in bound.values():
        values = _normalize(_as_bound(value))
        if values is None:
            raise ClaimError(f"claim is not a string or list: {_go_text(value)}")
        for item in values:
            if not isinstance(item, str):
                raise ClaimError(f"claim is not a string: {_go_text(item)}")


def user_name(claims: Mapping[str, Any], user_claim: str, *, json_pointer: bool) -> str:
    """The value of the role's user claim: the token's display name and alias name."""
    value = get_claim(claims, user_claim) if json_pointer else claims.get(user_claim)
    if value is None:
        raise ClaimError(f'claim "{user_claim}" not found in token')
    if not isinstance(value, str):
        raise ClaimError(f'claim "{user_claim}" could not be converted to string')
    return value


def extract_metadata(claims: Mapping[str, Any], mappings: Mapping[str, str]) -> dict[str, str]:
    """claim_mappings applied: each present claim (a string) copied to its metadata key."""
    metadata: dict[str, str] = {}
    for source, target in mappings.items():
        value = get_claim(claims, source)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ClaimError(f"error converting claim '{source}' to string")
        metadata[target] = value
    return metadata


def group_names(claims: Mapping[str, Any], groups_claim: str) -> list[str]:
    """The names in the groups claim (empty names skipped)."""
    raw = get_claim(claims, groups_claim)
    if raw is None:
        raise ClaimError(f'failed to fetch groups: "{groups_claim}" claim not found in token')
    values = _normalize(raw)
    if values is None:
        raise ClaimError(f'"{groups_claim}" claim could not be converted to string list')
    names: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise ClaimError(f"value {_go_text(value)} in groups claim could not be parsed as string")
        if value:
            names.append(value)
    return names
