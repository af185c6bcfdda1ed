"""The parse tree of a template: frozen nodes that carry the offset they came from.

Layer: agent. Imports stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    """Literal text, copied to the output."""

    offset: int
    text: str


@dataclass(frozen=True, slots=True)
class Field:
    """`.A.B`: a chain of fields on dot."""

    offset: int
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Variable:
    """`$x.A.B`: a variable, then an optional chain of fields."""

    offset: int
    name: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Dot:
    """`.`: the current value."""

    offset: int


@dataclass(frozen=True, slots=True)
class Nil:
    """`nil`."""

    offset: int


@dataclass(frozen=True, slots=True)
class Literal:
    """A bool, number, string or character constant, already decoded."""

    offset: int
    value: bool | int | float | str


@dataclass(frozen=True, slots=True)
class Identifier:
    """A function name."""

    offset: int
    name: str


@dataclass(frozen=True, slots=True)
class Chain:
    """`(pipeline).A.B`: fields applied to the value of a term."""

    offset: int
    node: Arg
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Command:
    """One stage of a pipeline: an operand, or a function and its arguments."""

    offset: int
    args: tuple[Arg, ...]


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Commands joined by `|`, with optional variable declaration (`:=`) or assignment (`=`)."""

    offset: int
    decl: tuple[str, ...]
    is_assign: bool
    commands: tuple[Command, ...]


Arg = Field | Variable | Dot | Nil | Literal | Identifier | Chain | Pipeline


@dataclass(frozen=True, slots=True)
class Action:
    """`{{ pipeline }}`: evaluate and print, unless the pipeline declares or assigns."""

    offset: int
    pipe: Pipeline


@dataclass(frozen=True, slots=True)
class Branch:
    """`if`, `with` or `range`, with its body and optional else body."""

    offset: int
    keyword: str
    pipe: Pipeline
    body: tuple[Node, ...]
    orelse: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Include:
    """`{{ template "name" pipeline }}`."""

    offset: int
    name: str
    pipe: Pipeline | None


@dataclass(frozen=True, slots=True)
class LoopControl:
    """`{{ break }}` or `{{ continue }}`."""

    offset: int
    keyword: str


Node = Text | Action | Branch | Include | LoopControl
