"""Applying a JSONPatch (RFC 6902: add, remove, replace, move, copy, test) to a JSON value: what the
agent-json-patch and agent-init-json-patch annotations do to the injected containers.

Layer: injector, pure: stdlib only. The input is never changed; a patch that does not apply raises
PatchError saying which operation failed and why.
"""

from __future__ import annotations

import copy
from typing import Any


class PatchError(ValueError):
    """A patch that is malformed or does not apply to the document."""


def _tokens(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise PatchError(f"{pointer!r} is not a JSON pointer")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def _index(array: list[Any], token: str, *, end_allowed: bool) -> int:
    if token == "-" and end_allowed:
        return len(array)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise PatchError(f"{token!r} is not an array index")
    index = int(token)
    if index > len(array) or (index == len(array) and not end_allowed):
        raise PatchError(f"array index {index} is out of range")
    return index


def _parent(document: Any, tokens: list[str]) -> Any:
    node = document
    for token in tokens[:-1]:
        if isinstance(node, list):
            node = node[_index(node, token, end_allowed=False)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise PatchError(f"no member {token!r}")
    return node


def _get(document: Any, pointer: Any) -> Any:
    tokens = _tokens(pointer)
    if not tokens:
        return document
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, list):
        return parent[_index(parent, last, end_allowed=False)]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    raise PatchError(f"no member {last!r}")


def _add(document: Any, pointer: Any, value: Any) -> Any:
    tokens = _tokens(pointer)
    if not tokens:
        return value
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, list):
        parent.insert(_index(parent, last, end_allowed=True), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise PatchError(f"cannot add {last!r} to a scalar")
    return document


def _remove(document: Any, pointer: Any) -> tuple[Any, Any]:
    tokens = _tokens(pointer)
    if not tokens:
        raise PatchError("cannot remove the whole document")
    parent, last = _parent(document, tokens), tokens[-1]
    if isinstance(parent, list):
        return document, parent.pop(_index(parent, last, end_allowed=False))
    if isinstance(parent, dict) and last in parent:
        return document, parent.pop(last)
    raise PatchError(f"no member {last!r}")


def apply_patch(document: Any, patch: Any) -> Any:
    """`document` with `patch` (a list of operations) applied in order."""
    if not isinstance(patch, list):
        raise PatchError("a JSON patch is a list of operations")
    result = copy.deepcopy(document)
    for number, operation in enumerate(patch):
        if not isinstance(operation, dict):
            raise PatchError(f"operation {number} is not an object")
        op, path = operation.get("op"), operation.get("path")
        try:
            if op in ("add", "replace", "test") and "value" not in operation:
                raise PatchError("it has no value")
            value = copy.deepcopy(operation.get("value"))
            if op == "add":
                result = _add(result, path, value)
            elif op == "remove":
                result, _ = _remove(result, path)
            elif op == "replace":
                result, _ = _remove(result, path)
                result = _add(result, path, value)
            elif op == "move":
                if isinstance(path, str) and path.startswith(str(operation.get("from")) + "/"):
                    raise PatchError("cannot move a value into itself")
                result, moved = _remove(result, operation.get("from"))
                result = _add(result, path, moved)
            elif op == "copy":
                result = _add(result, path, copy.deepcopy(_get(result, operation.get("from"))))
            elif op == "test":
                if _get(result, path) != value:
                    raise PatchError("the test failed")
            else:
                raise PatchError(f"unknown op {op!r}")
        except (PatchError, IndexError) as exc:
            raise PatchError(f"operation {number} ({op} {path}): {exc}") from None
    return result
