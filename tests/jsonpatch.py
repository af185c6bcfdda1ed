"""A small RFC 6902 JSONPatch applier (add, replace, remove) for the injector tests, written from the RFC
rather than from the injector's code, so the two cannot share a misreading. Unknown ops, bad paths raise."""

from __future__ import annotations

import copy
from typing import Any


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"bad JSON pointer {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list[Any], token: str, *, adding: bool) -> int:
    if adding and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise ValueError(f"bad array index {token!r}")
    index = int(token)
    if index > len(container) or (not adding and index == len(container)):
        raise ValueError(f"array index {index} out of range")
    return index


def apply(document: Any, operations: list[dict[str, Any]]) -> Any:
    """`document` with `operations` applied, in order (the input is not changed)."""
    result = copy.deepcopy(document)
    for operation in operations:
        tokens = _tokens(operation["path"])
        if not tokens:
            raise ValueError("patching the whole document is not used here")
        parent = result
        for token in tokens[:-1]:
            parent = (
                parent[_index(parent, token, adding=False)] if isinstance(parent, list) else parent[token]
            )
        last, op = tokens[-1], operation["op"]
        if op == "add":
            if isinstance(parent, list):
                parent.insert(_index(parent, last, adding=True), copy.deepcopy(operation["value"]))
            else:
                parent[last] = copy.deepcopy(operation["value"])
        elif op == "replace":
            if isinstance(parent, list):
                parent[_index(parent, last, adding=False)] = copy.deepcopy(operation["value"])
            elif last not in parent:
                raise ValueError(f"replace of a missing member {operation['path']!r}")
            else:
                parent[last] = copy.deepcopy(operation["value"])
        elif op == "remove":
            if isinstance(parent, list):
                del parent[_index(parent, last, adding=False)]
            else:
                del parent[last]
        else:
            raise ValueError(f"unsupported op {op!r}")
    return result
