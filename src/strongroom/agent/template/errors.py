"""Errors of the template engine: a template that cannot be parsed or executed.

Layer: agent. Imports only `strongroom.errors`.

    StrongroomError
    └── TemplateError        parse or execution failure; carries the template name, line and column
    FunctionError            raised inside a function; the evaluator turns it into a positioned TemplateError

Invariant: messages name functions, fields, paths and Go type names; never a value read from a secret.
"""

from __future__ import annotations

from strongroom.errors import StrongroomError


class TemplateError(StrongroomError):
    """A template could not be parsed or rendered; `str()` reads `name:line:column: message`."""

    def __init__(self, message: str, *, name: str, line: int, column: int) -> None:
        self.message = message
        self.name = name
        self.line = line
        self.column = column
        super().__init__(f"{name}:{line}:{column}: {message}")


class FunctionError(Exception):
    """A template function refused its arguments; the message must not carry argument values."""
