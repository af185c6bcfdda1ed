"""Field types and Vault's coercion rules (sdk/framework/field_data.go). Layer: framework (imports util).

A request's JSON values arrive loosely typed ("5", "true", "1h"); each declared field coerces its value once,
with the same leniency as Vault's weakly typed decoding, and refuses the rest with Vault's wording.

Invariant: a coercion error names the field, never the offending value (it may be a secret).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from strongroom.util.durations import parse_duration


class FieldType(StrEnum):
    """The declared type of a request field."""

    STRING = "string"
    INT = "int"
    BOOL = "bool"
    DURATION = "duration"
    # Vault's TypeSignedDurationSecond: like DURATION, but negative values are allowed (KV's config).
    SIGNED_DURATION = "signed_duration"
    COMMA_STRING_LIST = "comma_string_list"
    # Vault's TypeCommaIntSlice: [1, 2] or "1,2" -> list[int] (KV's versions).
    COMMA_INT_LIST = "comma_int_list"
    STRING_LIST = "string_list"
    MAP = "map"
    KV_PAIRS = "kv_pairs"
    LOWERCASE_STRING = "lowercase_string"
    # A name Vault keys without surrounding whitespace and case (policy names).
    TRIMMED_LOWERCASE_STRING = "trimmed_lowercase_string"
    # Vault's TypeSlice: a list of any JSON values (transit's batch_input); a lone value becomes [value].
    SLICE = "slice"


# Types whose coercion folds a name (case, surrounding whitespace): a path segment captured as one of them
# is folded in the request path itself, before the ACL check (see Path.canonical).
FOLDING_TYPES = frozenset({FieldType.LOWERCASE_STRING, FieldType.TRIMMED_LOWERCASE_STRING})


@dataclass(frozen=True, slots=True)
class Field:
    """One declared request parameter."""

    type: FieldType = FieldType.STRING
    description: str = ""
    default: Any = None
    required: bool = False


class CoercionError(ValueError):
    """A value does not convert to its field's type; `detail` is Vault's text after the field name."""

    def __init__(self, detail: str, *, late: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        # Vault checks some rules (a negative duration) only when the handler reads the field, so the error
        # reaches the client without the "Field validation failed: " prefix.
        self.late = late


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}

# Vault's FieldType.String(): how `help` names each type.
HELP_NAMES: Mapping[FieldType, str] = {
    FieldType.STRING: "string",
    FieldType.INT: "int",
    FieldType.BOOL: "bool",
    FieldType.DURATION: "duration (sec)",
    FieldType.SIGNED_DURATION: "signed duration (sec)",
    FieldType.COMMA_STRING_LIST: "slice",
    FieldType.COMMA_INT_LIST: "slice",
    FieldType.STRING_LIST: "slice",
    FieldType.MAP: "map",
    FieldType.KV_PAIRS: "keypair",
    FieldType.LOWERCASE_STRING: "lowercase string",
    FieldType.TRIMMED_LOWERCASE_STRING: "lowercase string",
    FieldType.SLICE: "slice",
}


def zero_value(field_type: FieldType) -> Any:
    """The value a field has when neither supplied nor defaulted: Go's zero value of its type."""
    if field_type in (FieldType.INT, FieldType.DURATION, FieldType.SIGNED_DURATION):
        return 0
    if field_type is FieldType.BOOL:
        return False
    if field_type in (
        FieldType.COMMA_STRING_LIST,
        FieldType.COMMA_INT_LIST,
        FieldType.STRING_LIST,
        FieldType.SLICE,
    ):
        return []
    if field_type in (FieldType.MAP, FieldType.KV_PAIRS):
        return {}
    return ""


def coerce(field_type: FieldType, value: Any) -> Any:
    """`value` converted to `field_type`, or CoercionError with Vault's wording."""
    return _COERCERS[field_type](value)


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, int | float):
        return "json.Number"
    return "string"


def _string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return _number_text(value)
    raise CoercionError(f"'' expected type 'string', got unconvertible type '{_go_type(value)}'")


def _number_text(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _int(value: Any, where: str = "''") -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    number: int | None = value if isinstance(value, int) else None
    text = value if isinstance(value, str) else None
    if isinstance(value, float):
        text = repr(value)
    if text is not None:
        try:
            number = int(text.strip(), 10)
        except ValueError:
            raise CoercionError(
                f"{where} cannot parse value as 'int': strconv.ParseInt: invalid syntax"
            ) from None
    if number is None:
        raise CoercionError(f"{where} expected type 'int', got unconvertible type '{_go_type(value)}'")
    # Vault's TypeInt is Go's 64-bit int.
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise CoercionError(f"{where} cannot parse value as 'int': strconv.ParseInt: value out of range")
    return number


def _bool(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        if value in _TRUE:
            return True
        if value in _FALSE or value == "":
            return False
        raise CoercionError("'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax")
    raise CoercionError(f"'' expected type 'bool', got unconvertible type '{_go_type(value)}'")


# Go's time.Duration is int64 nanoseconds: Vault refuses a duration longer than this many seconds.
MAX_DURATION_SECONDS = (2**63 - 1) // 1_000_000_000
_OVERFLOW = "multiplication of durations resulted in overflow, one operand may be too large"


def _signed_duration(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise CoercionError(f"'' expected type 'int', got unconvertible type '{_go_type(value)}'")
    if isinstance(value, int | float):
        if abs(value) > MAX_DURATION_SECONDS:
            raise CoercionError(_OVERFLOW)
        return int(value)
    if not isinstance(value, str):
        raise CoercionError(f"'' expected type 'int', got unconvertible type '{_go_type(value)}'")
    text = value.strip()
    negative = text.startswith("-")
    try:
        seconds = parse_duration(text[1:] if negative else text)
    except ValueError:
        raise CoercionError(f'time: invalid duration "{text}"') from None
    if seconds > MAX_DURATION_SECONDS:
        # Vault reads a bare number as seconds and multiplies (overflow); anything else Go's ParseDuration
        # refuses as a whole.
        bare = text.removeprefix("-").isdigit()
        raise CoercionError(_OVERFLOW if bare else f'time: invalid duration "{text}"')
    return -seconds if negative else seconds


def _duration(value: Any) -> int:
    seconds = _signed_duration(value)
    if seconds < 0:
        raise CoercionError(f"cannot provide negative value '{seconds}'", late=True)
    return seconds


def _comma_string_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else _string_list(value)
    return [item.strip() for item in items if item.strip()]


def _comma_int_list(value: Any) -> list[int]:
    if value is None:
        return []
    items: list[Any]
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, list):
        items = value
    else:
        items = [value]
    result: list[int] = []
    for index, item in enumerate(items):
        try:
            result.append(_int(item.strip() if isinstance(item, str) else item, f"'[{index}]'"))
        except CoercionError as exc:
            raise CoercionError(f"decoding failed due to the following error(s):\n\n{exc.detail}") from None
    return result


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    result: list[str] = []
    for index, item in enumerate(value):
        try:
            result.append(_string(item))
        except CoercionError:
            raise CoercionError(
                f"1 error(s) decoding:\n\n* '[{index}]' expected type 'string', "
                f"got unconvertible type '{_go_type(item)}'"
            ) from None
    return result


def _map(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    if isinstance(value, Mapping):
        return dict(value)
    raise CoercionError(
        f"'' expected type 'map[string]interface {{}}', got unconvertible type '{_go_type(value)}'"
    )


def _kv_pairs(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return {str(k): _string(v) for k, v in value.items()}
    pairs: dict[str, str] = {}
    for item in _string_list(value):
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise CoercionError("invalid key pair: expected key=value")
        pairs[key] = val
    return pairs


def _slice(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return parsed
    return list(value) if isinstance(value, list) else [value]


def _lowercase(value: Any) -> str:
    return _string(value).lower()


def _trimmed_lowercase(value: Any) -> str:
    return _string(value).strip().lower()


_COERCERS: Mapping[FieldType, Callable[[Any], Any]] = {
    FieldType.STRING: _string,
    FieldType.INT: _int,
    FieldType.BOOL: _bool,
    FieldType.DURATION: _duration,
    FieldType.SIGNED_DURATION: _signed_duration,
    FieldType.COMMA_STRING_LIST: _comma_string_list,
    FieldType.COMMA_INT_LIST: _comma_int_list,
    FieldType.STRING_LIST: _string_list,
    FieldType.MAP: _map,
    FieldType.KV_PAIRS: _kv_pairs,
    FieldType.LOWERCASE_STRING: _lowercase,
    FieldType.TRIMMED_LOWERCASE_STRING: _trimmed_lowercase,
    FieldType.SLICE: _slice,
}
