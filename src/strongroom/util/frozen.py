"""Copies of frozen values with some fields changed. Bottom layer: stdlib only.

`dataclasses.replace` re-reads the class's fields and runs `__init__` on every call; the request pipeline
copies its frozen values several times per request. For a plain slotted dataclass (no `__post_init__`, no
init-less field whose logic would be skipped) `replace` here calls a copier compiled once per class, as
dataclasses compiles `__init__`: one keyword parameter per field, each slot set through its descriptor
from it or from the original. Every other class goes to `dataclasses.replace`; an unknown field name is a
TypeError either way.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Per class: the function that copies an instance with changes, compiled on first use.
_COPIERS: dict[type, Callable[..., Any]] = {}
# Parameter and local names of the compiled copiers: no dataclass field starts with this.
_OWN = "_frozen_"


def replace(value: T, /, **changes: Any) -> T:
    """A copy of the dataclass instance `value` with `changes` applied (as dataclasses.replace)."""
    copier = _COPIERS.get(type(value))
    if copier is None:
        copier = _compile(type(value))
    result: T = copier(value, **changes)
    return result


def _compile(cls: type) -> Callable[..., Any]:
    fields = dataclasses.fields(cls)
    plain = "__slots__" in cls.__dict__ and not hasattr(cls, "__post_init__") and all(f.init for f in fields)
    slots = {f.name: _slot(cls, f.name) for f in fields}
    if not plain or any(f.name.startswith(_OWN) or slots[f.name] is None for f in fields):
        _COPIERS[cls] = dataclasses.replace
        return dataclasses.replace
    names = [f.name for f in fields]
    missing = f"{_OWN}missing"
    parameters = ", ".join(f"{name}={missing}" for name in names)
    lines = [
        f"def copy({_OWN}value, /, *, {parameters}):",
        f"    {_OWN}fresh = {_OWN}new({_OWN}cls)",
        *(
            f"    {_OWN}set_{name}({_OWN}fresh, {_OWN}value.{name} if {name} is {missing} else {name})"
            for name in names
        ),
        f"    return {_OWN}fresh",
    ]
    scope: dict[str, Any] = {
        f"{_OWN}new": object.__new__,
        f"{_OWN}cls": cls,
        missing: object(),
    }
    # Each slot is set through its own descriptor: object.__setattr__ would look the name up in the class
    # first (and a frozen class's __setattr__ refuses), and these copies run several times per request.
    scope.update({f"{_OWN}set_{name}": slot.__set__ for name, slot in slots.items() if slot is not None})
    exec("\n".join(lines), scope)  # noqa: S102 -- source built above from the class's own field names
    copier: Callable[..., Any] = scope["copy"]
    _COPIERS[cls] = copier
    return copier


def _slot(cls: type, name: str) -> Any:
    """The slot descriptor that holds the field `name` of `cls`, or None when it is not a plain slot."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            found = klass.__dict__[name]
            return found if isinstance(found, types.MemberDescriptorType) else None
    return None
