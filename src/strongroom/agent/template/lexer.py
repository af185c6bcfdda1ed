"""The lexer of Go's text/template: text, delimiters, trim markers, comments and action tokens.

Layer: agent. Imports stdlib and the sibling `errors` module only.

Offsets are kept on every token; `Source.position` turns one into the 1-based line and column that error
messages carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from strongroom.agent.template.errors import TemplateError

_SPACE = " \t\r\n"
_KEYWORDS = frozenset(
    {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
)
_NUMBER = re.compile(
    r"[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|"
    r"(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?)"
)
_WORD = re.compile(r"\w*", re.UNICODE)
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


class Kind(StrEnum):
    """Token kinds."""

    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    KEYWORD = "keyword"
    IDENT = "identifier"
    FIELD = "field"
    DOT = "."
    VARIABLE = "variable"
    STRING = "string"
    CHAR = "char"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    PIPE = "|"
    LPAREN = "("
    RPAREN = ")"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    EOF = "EOF"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its decoded value, its offset, and whether whitespace preceded it."""

    kind: Kind
    value: str
    offset: int
    spaced: bool = False


@dataclass(frozen=True, slots=True)
class Source:
    """The template text and its name, for positions in errors."""

    name: str
    text: str

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of an offset."""
        line = self.text.count("\n", 0, offset) + 1
        column = offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return line, column

    def error(self, message: str, offset: int) -> TemplateError:
        """A TemplateError positioned at an offset."""
        line, column = self.position(offset)
        return TemplateError(message, name=self.name, line=line, column=column)


def lex(source: Source, left: str = "{{", right: str = "}}") -> list[Token]:
    """Split a template into tokens; text tokens already have trim markers applied."""
    return _Lexer(source, left, right).run()


class _Lexer:
    def __init__(self, source: Source, left: str, right: str) -> None:
        self.source = source
        self.text = source.text
        self.left = left
        self.right = right
        self.pos = 0
        self.tokens: list[Token] = []

    def run(self) -> list[Token]:
        trim_next = False
        while self.pos < len(self.text):
            start = self.text.find(self.left, self.pos)
            end = len(self.text) if start < 0 else start
            chunk = self.text[self.pos : end]
            if trim_next:
                chunk = chunk.lstrip(_SPACE)
            after = end + len(self.left)
            trim_left = (
                start >= 0
                and self.text[after : after + 1] == "-"
                and self.text[after + 1 : after + 2] in tuple(_SPACE)
            )
            if trim_left:
                chunk = chunk.rstrip(_SPACE)
            if chunk:
                self.tokens.append(Token(Kind.TEXT, chunk, self.pos))
            if start < 0:
                break
            self.pos = after + (2 if trim_left else 0)
            trim_next = self._action(start)
        self.tokens.append(Token(Kind.EOF, "", len(self.text)))
        return self.tokens

    def _right_delim(self) -> tuple[bool, bool]:
        """(at a right delimiter, with a trim marker)."""
        rest = self.text[self.pos :]
        if rest.startswith(self.right):
            return True, False
        if rest[:1] in tuple(_SPACE) and rest[1:2] == "-" and rest[2:].startswith(self.right):
            return True, True
        return False, False

    def _action(self, start: int) -> bool:
        """Lex one action after its left delimiter; returns whether its right delimiter trims."""
        if self.text.startswith("/*", self.pos):
            close = self.text.find("*/", self.pos + 2)
            if close < 0:
                raise self.source.error("unclosed comment", start)
            self.pos = close + 2
            at, trim = self._right_delim()
            if not at:
                raise self.source.error("comment ends before closing delimiter", start)
            self.pos += len(self.right) + (2 if trim else 0)
            return trim
        self.tokens.append(Token(Kind.LEFT, self.left, start))
        depth = 0
        spaced = False
        while True:
            at, trim = self._right_delim()
            if at:
                if depth:
                    raise self.source.error("unclosed left paren", self.pos)
                self.tokens.append(Token(Kind.RIGHT, self.right, self.pos, spaced))
                self.pos += len(self.right) + (2 if trim else 0)
                return trim
            if self.pos >= len(self.text):
                raise self.source.error("unclosed action", start)
            char = self.text[self.pos]
            if char in _SPACE:
                spaced = True
                self.pos += 1
                continue
            token = self._token(char, depth, start)
            if token.kind is Kind.LPAREN:
                depth += 1
            elif token.kind is Kind.RPAREN:
                depth -= 1
                if depth < 0:
                    raise self.source.error("unexpected right paren", token.offset)
            self.tokens.append(Token(token.kind, token.value, token.offset, spaced))
            spaced = False

    def _token(self, char: str, depth: int, start: int) -> Token:
        offset = self.pos
        simple = {"|": Kind.PIPE, "(": Kind.LPAREN, ")": Kind.RPAREN, ",": Kind.COMMA, "=": Kind.ASSIGN}
        if self.text.startswith(":=", offset):
            self.pos += 2
            return Token(Kind.DECLARE, ":=", offset)
        if char in simple:
            self.pos += 1
            return Token(simple[char], char, offset)
        if char == '"':
            return Token(Kind.STRING, self._quoted('"'), offset)
        if char == "`":
            close = self.text.find("`", offset + 1)
            if close < 0:
                raise self.source.error("unterminated raw quoted string", offset)
            self.pos = close + 1
            return Token(Kind.STRING, self.text[offset + 1 : close], offset)
        if char == "'":
            value = self._quoted("'")
            if len(value) != 1:
                raise self.source.error("malformed character constant", offset)
            return Token(Kind.CHAR, value, offset)
        if char == "$":
            word = _WORD.match(self.text, offset + 1)
            assert word is not None
            self.pos = word.end()
            return Token(Kind.VARIABLE, "$" + word.group(), offset)
        if char == "." and not self.text[offset + 1 : offset + 2].isdigit():
            word = _WORD.match(self.text, offset + 1)
            assert word is not None
            self.pos = word.end()
            if not word.group():
                return Token(Kind.DOT, ".", offset)
            return Token(Kind.FIELD, word.group(), offset)
        if char.isdigit() or char in "+-.":
            number = _NUMBER.match(self.text, offset)
            if number is None or _WORD.match(self.text, number.end()).group():  # type: ignore[union-attr]
                raise self.source.error("bad number syntax", offset)
            self.pos = number.end()
            return Token(Kind.NUMBER, number.group(), offset)
        if char.isalpha() or char == "_":
            word = _WORD.match(self.text, offset)
            assert word is not None
            self.pos = word.end()
            name = word.group()
            if name in _KEYWORDS:
                return Token(Kind.KEYWORD, name, offset)
            if name in ("true", "false"):
                return Token(Kind.BOOL, name, offset)
            if name == "nil":
                return Token(Kind.NIL, name, offset)
            return Token(Kind.IDENT, name, offset)
        raise self.source.error(f"unrecognized character in action: {char!r}", offset)

    def _quoted(self, quote: str) -> str:
        """Decode a Go interpreted string or character literal starting at the opening quote."""
        out: list[str] = []
        i = self.pos + 1
        while True:
            if i >= len(self.text) or self.text[i] == "\n":
                raise self.source.error("unterminated quoted string", self.pos)
            char = self.text[i]
            if char == quote:
                self.pos = i + 1
                return "".join(out)
            if char != "\\":
                out.append(char)
                i += 1
                continue
            escape = self.text[i + 1 : i + 2]
            if escape in _ESCAPES or escape in ('"', "'"):
                out.append(_ESCAPES.get(escape, escape))
                i += 2
            elif escape in ("x", "u", "U"):
                size = {"x": 2, "u": 4, "U": 8}[escape]
                digits = self.text[i + 2 : i + 2 + size]
                if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise self.source.error("invalid escape in quoted string", i)
                out.append(chr(int(digits, 16)))
                i += 2 + size
            elif escape.isdigit():
                digits = self.text[i + 1 : i + 4]
                if len(digits) != 3 or not all(c in "01234567" for c in digits):
                    raise self.source.error("invalid escape in quoted string", i)
                out.append(chr(int(digits, 8)))
                i += 4
            else:
                raise self.source.error("invalid escape in quoted string", i)
