"""The functions Go's text/template predefines: not, len, index, slice, print*, comparisons, escapers.

Layer: agent. Imports stdlib and the sibling `errors`, `evaluator`, `gofmt` and `values` modules.
(`and` and `or` short-circuit, so the evaluator implements them; their names are listed here.)
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from strongroom.agent.template.errors import FunctionError
from strongroom.agent.template.evaluator import Function
from strongroom.agent.template.gofmt import sprint, sprintf, sprintln
from strongroom.agent.template.values import MISSING, go_equal, go_less, go_type, truth

LAZY = ("and", "or")


def _not(value: object) -> bool:
    return not truth(value)


def _len(value: object) -> int:
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, list | tuple | Mapping):
        return len(value)
    if value is None or value is MISSING:
        raise FunctionError("len of nil pointer")
    raise FunctionError(f"len of type {go_type(value)}")


def _integer_index(index: object, length: int, *, cap: int | None = None) -> int:
    if not isinstance(index, int) or isinstance(index, bool):
        raise FunctionError(f"cannot index slice/array with type {go_type(index)}")
    if index < 0 or index > (length - 1 if cap is None else cap):
        raise FunctionError(f"index out of range: {index}")
    return index


def _index(item: object, *indexes: object) -> object:
    for index in indexes:
        if item is None or item is MISSING:
            raise FunctionError("index of untyped nil")
        if isinstance(item, Mapping):
            if not isinstance(index, str):
                raise FunctionError(f"value has type {go_type(index)}; should be string")
            item = item.get(index)
        elif isinstance(item, list | tuple):
            item = item[_integer_index(index, len(item))]
        elif isinstance(item, str):
            item = item.encode()[_integer_index(index, len(item.encode()))]
        else:
            raise FunctionError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: object, *indexes: object) -> object:
    if not isinstance(item, str | list | tuple):
        raise FunctionError(f"can't slice item of type {go_type(item)}")
    if len(indexes) > (2 if isinstance(item, str) else 3):
        raise FunctionError("too many slice indexes")
    seq: Any = item.encode() if isinstance(item, str) else list(item)
    bounds = [_integer_index(i, len(seq), cap=len(seq)) for i in indexes]
    start = bounds[0] if bounds else 0
    stop = bounds[1] if len(bounds) > 1 else len(seq)
    if start > stop:
        raise FunctionError(f"invalid slice index: {start} > {stop}")
    part = seq[start:stop]
    return part.decode(errors="replace") if isinstance(item, str) else part


def _printf(fmt: object, *args: object) -> str:
    if not isinstance(fmt, str):
        raise FunctionError(f"wrong type for value; expected string; got {go_type(fmt)}")
    return sprintf(fmt, args)


def _eq(left: object, *rights: object) -> bool:
    return any(go_equal(left, right) for right in rights)


def _js(*args: object) -> str:
    text = sprint(args)
    out = []
    for char in text:
        if char in "\\'\"<>&=":
            out.append({"\\": "\\\\", "'": "\\'", '"': '\\"'}.get(char, f"\\u{ord(char):04X}"))
        elif ord(char) < 0x20:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _html(*args: object) -> str:
    text = sprint(args)
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        text = text.replace(char, entity)
    return text.replace("\0", "\ufffd")


def go_builtins() -> dict[str, Function]:
    """The predefined functions of text/template (without the short-circuiting `and` and `or`)."""
    return {
        "not": Function(_not, 1, 1),
        "len": Function(_len, 1, 1),
        "index": Function(_index, 1, None),
        "slice": Function(_slice, 1, None),
        "print": Function(lambda *a: sprint(a), 0, None),
        "printf": Function(_printf, 1, None),
        "println": Function(lambda *a: sprintln(a), 0, None),
        "eq": Function(_eq, 2, None),
        "ne": Function(lambda a, b: not go_equal(a, b), 2, 2),
        "lt": Function(go_less, 2, 2),
        "le": Function(lambda a, b: go_less(a, b) or go_equal(a, b), 2, 2),
        "gt": Function(lambda a, b: not (go_less(a, b) or go_equal(a, b)), 2, 2),
        "ge": Function(lambda a, b: not go_less(a, b), 2, 2),
        "html": Function(_html, 0, None),
        "js": Function(_js, 0, None),
        "urlquery": Function(lambda *a: urllib.parse.quote_plus(sprint(a)), 0, None),
    }
