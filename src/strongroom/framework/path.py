"""A declared endpoint: pattern, fields, operations; and the FieldData a handler reads. Layer: framework.

Imports logical, errors and the framework's own fields module.

Pattern syntax (mount-relative): literal text, `{name}` (one non-empty segment without "/"), `{name*}` (the
rest, possibly empty, may contain "/"), and a trailing "/?" (the final slash is optional).

A capture declared with a folding type (LOWERCASE_STRING, TRIMMED_LOWERCASE_STRING) names something the
backend keys without case: the core folds it in the request path before the ACL check (`canonical`), so
the path the ACL sees is the path the handler acts on.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from strongroom.errors import InvalidRequestError
from strongroom.framework.fields import FOLDING_TYPES, CoercionError, Field, FieldType, coerce, zero_value
from strongroom.logical.operation import Operation
from strongroom.logical.request import Request
from strongroom.logical.response import Response

Handler = Callable[[Request, "FieldData"], Awaitable[Response | None]]
ExistenceCheck = Callable[[Request, "FieldData"], Awaitable[bool]]

_CAPTURE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(\*?)\}")


def compile_pattern(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    """The anchored regex of `pattern` and the names it captures, in order."""
    optional_slash = pattern.endswith("/?")
    body = pattern[:-2] if optional_slash else pattern
    parts: list[str] = []
    names: list[str] = []
    pos = 0
    for match in _CAPTURE.finditer(body):
        parts.append(re.escape(body[pos : match.start()]))
        name, star = match.group(1), match.group(2)
        parts.append(f"(?P<{name}>.*)" if star else f"(?P<{name}>[^/]+)")
        names.append(name)
        pos = match.end()
    parts.append(re.escape(body[pos:]))
    if optional_slash:
        parts.append("/?")
    return re.compile("^" + "".join(parts) + "$"), tuple(names)


@dataclass(frozen=True, slots=True)
class Path:
    """One endpoint family: what it matches, which fields it takes, what each operation does."""

    pattern: str
    fields: Mapping[str, Field] = field(default_factory=dict)
    operations: Mapping[Operation, Handler] = field(default_factory=dict)
    existence_check: ExistenceCheck | None = None
    synopsis: str = ""
    description: str = ""
    any_data: bool = False
    regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    captures: tuple[str, ...] = field(init=False, repr=False, compare=False)
    schema: Mapping[str, Field] = field(init=False, repr=False, compare=False)
    # True when a capture is declared with a folding type (see `canonical`).
    folds: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex, captures = compile_pattern(self.pattern)
        object.__setattr__(self, "regex", regex)
        object.__setattr__(self, "captures", captures)
        # Captures are STRING fields unless declared, so a description can be given for them.
        schema = {name: Field(FieldType.STRING) for name in captures}
        schema.update(self.fields)
        object.__setattr__(self, "schema", MappingProxyType(schema))
        object.__setattr__(self, "folds", any(schema[name].type in FOLDING_TYPES for name in captures))

    def match(self, path: str) -> dict[str, str] | None:
        """The captured values when `path` matches the whole pattern, else None."""
        found = self.regex.match(path)
        return None if found is None else {k: v or "" for k, v in found.groupdict().items()}

    def canonical(self, path: str) -> str:
        """`path` with each folding capture folded; `path` itself when it does not match or nothing folds.

        A capture that would fold to nothing is left as written, so folding never changes which
        declaration a path reaches (the handler refuses the empty name)."""
        found = self.regex.match(path) if self.folds else None
        if found is None:
            return path
        folded = path
        # Right to left, so the spans of the captures still to fold stay valid.
        for name in reversed(self.captures):
            declared = self.schema[name]
            start, end = found.span(name)
            if declared.type not in FOLDING_TYPES or start < 0:
                continue
            value = coerce(declared.type, path[start:end])
            if value:
                folded = folded[:start] + value + folded[end:]
        return folded

    def field_data(
        self, request: Request, captured: Mapping[str, str], *, existence_check: bool = False
    ) -> FieldData:
        """The request's data and captures, validated against the declared fields."""
        raw = {**request.data, **captured}
        return FieldData(raw, self.schema, existence_check=existence_check)

    def unknown_fields(self, request: Request) -> list[str]:
        """Request data keys that are neither declared nor captured, sorted (empty for any_data paths)."""
        if self.any_data or not request.data:
            return []
        return sorted(key for key in request.data if key not in self.schema)


class FieldData:
    """The coerced view of one request's parameters. Built once; every supplied value is validated."""

    __slots__ = ("_schema", "_values", "raw")

    def __init__(
        self, raw: Mapping[str, Any], schema: Mapping[str, Field], *, existence_check: bool = False
    ) -> None:
        self.raw: Mapping[str, Any] = MappingProxyType(dict(raw))
        self._schema = schema
        self._values: dict[str, Any] = {}
        for name, value in raw.items():
            declared = schema.get(name)
            if declared is None:
                continue
            try:
                self._values[name] = coerce(declared.type, value)
            except CoercionError as exc:
                message = f'error converting input for field "{name}": {exc.detail}'
                # Vault's existence check validates the fields too, and reports without the prefix.
                if not exc.late and not existence_check:
                    message = f"Field validation failed: {message}"
                raise InvalidRequestError(message) from None
        for name, declared in schema.items():
            if declared.required and name not in self._values:
                raise InvalidRequestError(f"Field validation failed: missing required field {name!r}")

    def get(self, name: str) -> Any:
        """The coerced value, else the field's default, else the zero value of its type."""
        return self.get_ok(name)[0]

    def get_ok(self, name: str) -> tuple[Any, bool]:
        """(value as `get` gives it, whether the request supplied it)."""
        declared = self._schema.get(name)
        if declared is None:
            raise KeyError(f"field {name!r} is not declared on this path")
        if name in self._values:
            return self._values[name], True
        if declared.default is not None:
            return coerce(declared.type, declared.default), False
        return zero_value(declared.type), False
