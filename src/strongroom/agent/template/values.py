"""The value model of Go's text/template as seen from Python: truth, types, comparison.

Layer: agent. Imports stdlib and the sibling `errors` module only.

Template values are plain Python: str, int, float, bool, None (Go's nil), list, Mapping, plus `Struct`
(a Go struct such as consul-template's `*dependency.Secret`) and `MISSING` (Go's invalid reflect.Value:
the result of a missing map key, printed as `<no value>`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from strongroom.agent.template.errors import FunctionError


class _Missing:
    """Go's invalid value: what a missing map key evaluates to."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class Struct:
    """A Go struct: fields in declaration order; an unknown field is an error, not `<no value>`."""

    type_name: str
    fields: Mapping[str, Any]

    def __repr__(self) -> str:
        return f"Struct({self.type_name})"


def go_type(value: object) -> str:
    """The Go type name a value would have in consul-template, for error messages."""
    if value is None or value is MISSING:
        return "<nil>"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Struct):
        return value.type_name
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    if isinstance(value, list | tuple):
        return "[]interface {}"
    return type(value).__name__


def truth(value: object) -> bool:
    """Go template truth: false, 0, nil, missing and empty strings, lists and maps are false."""
    if value is None or value is MISSING:
        return False
    if isinstance(value, Struct):
        return True
    if isinstance(value, bool | int | float):
        return bool(value)
    if isinstance(value, str | list | tuple | Mapping):
        return len(value) > 0
    return True


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if value is None or value is MISSING:
        return "nil"
    return "complex"


def go_equal(left: object, right: object) -> bool:
    """Go's `eq` of two operands: kinds must match, nil equals only nil, lists and maps are errors."""
    lk, rk = _kind(left), _kind(right)
    if lk == "nil" or rk == "nil":
        return lk == rk
    if lk == "complex" or rk == "complex":
        if isinstance(left, Struct) and isinstance(right, Struct):
            return left == right
        raise FunctionError("non-comparable types")
    if lk != rk:
        raise FunctionError("incompatible types for comparison")
    return left == right


def go_less(left: object, right: object) -> bool:
    """Go's `lt`: ints, floats and strings, each only against its own kind."""
    lk, rk = _kind(left), _kind(right)
    if lk not in ("int", "float", "string") or rk not in ("int", "float", "string"):
        raise FunctionError("invalid type for comparison")
    if lk != rk:
        raise FunctionError("incompatible types for comparison")
    return bool(left < right)  # type: ignore[operator]
