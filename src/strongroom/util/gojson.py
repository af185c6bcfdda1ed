"""The words Go's encoding/json uses for a syntax error, so refusals of JSON that users wrote (identity
token templates) read as Vault's do.

Bottom layer: stdlib only. A validator, not a parser: callers parse with the json module, and ask here
only for the wording when that fails.
"""

from __future__ import annotations

import json

_WHITESPACE = " \t\n\r"
_LITERALS = ("true", "false", "null")


def _quote(char: str) -> str:
    """A character as Go's scanner quotes it in messages: 'x', '\\n', '\\''."""
    if char == "'":
        return "'\\''"
    if char == '"':
        return "'\"'"
    return "'" + json.dumps(char)[1:-1] + "'"


class _Invalid(Exception):
    pass


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1
        if self.pos >= len(self.text):
            raise _Invalid("unexpected end of JSON input")
        return self.text[self.pos]

    def fail(self, context: str) -> _Invalid:
        return _Invalid(f"invalid character {_quote(self.text[self.pos])} {context}")

    def value(self) -> None:
        char = self.peek()
        if char == "{":
            self.pos += 1
            self.members()
        elif char == "[":
            self.pos += 1
            self.elements()
        elif char == '"':
            self.string()
        elif char == "-" or char.isdigit():
            self.number()
        elif char in "tfn":
            self.literal(next(word for word in _LITERALS if word[0] == char))
        else:
            raise self.fail("looking for beginning of value")

    def members(self) -> None:
        if self.peek() == "}":
            self.pos += 1
            return
        while True:
            if self.peek() != '"':
                raise self.fail("looking for beginning of object key string")
            self.string()
            if self.peek() != ":":
                raise self.fail("after object key")
            self.pos += 1
            self.value()
            char = self.peek()
            self.pos += 1
            if char == "}":
                return
            if char != ",":
                self.pos -= 1
                raise self.fail("after object key:value pair")

    def elements(self) -> None:
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            self.value()
            char = self.peek()
            self.pos += 1
            if char == "]":
                return
            if char != ",":
                self.pos -= 1
                raise self.fail("after array element")

    def string(self) -> None:
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return
            if char < " ":
                raise self.fail("in string")
            self.pos += 2 if char == "\\" else 1
        raise _Invalid("unexpected end of JSON input")

    def number(self) -> None:
        if self.text[self.pos] == "-":
            self.pos += 1
            if self.pos >= len(self.text):
                raise _Invalid("unexpected end of JSON input")
            if not self.text[self.pos].isdigit():
                raise self.fail("in numeric literal")
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos].isdigit():
            self.pos += 1
        if self.text[start] == "0" and self.pos - start > 1:
            self.pos = start + 1  # Go stops after a leading zero; what follows is "after" the value
        if self.pos < len(self.text) and self.text[self.pos] == ".":
            self.pos += 1
            self.digits()
        if self.pos < len(self.text) and self.text[self.pos] in "eE":
            self.pos += 1
            if self.pos < len(self.text) and self.text[self.pos] in "+-":
                self.pos += 1
            self.digits()

    def digits(self) -> None:
        if self.pos >= len(self.text):
            raise _Invalid("unexpected end of JSON input")
        if not self.text[self.pos].isdigit():
            raise self.fail("in numeric literal")
        while self.pos < len(self.text) and self.text[self.pos].isdigit():
            self.pos += 1

    def literal(self, word: str) -> None:
        for expected in word:
            if self.pos >= len(self.text):
                raise _Invalid("unexpected end of JSON input")
            if self.text[self.pos] != expected:
                raise self.fail(f"in literal {word} (expecting {_quote(expected)})")
            self.pos += 1


def syntax_error(text: str) -> str | None:
    """Go's message for the first syntax error in `text`, or None when it is valid JSON."""
    scanner = _Scanner(text)
    try:
        scanner.value()
        while scanner.pos < len(text) and text[scanner.pos] in _WHITESPACE:
            scanner.pos += 1
        if scanner.pos < len(text):
            raise scanner.fail("after top-level value")
    except _Invalid as exc:
        return str(exc)
    return None
