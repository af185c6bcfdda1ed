"""HCL v1 reader: the language of Vault policies, server configs and agent configs.

Bottom layer: imports only `strongroom.errors` and the standard library.

Output shape (one for HCL and, as far as JSON allows, for its JSON form):

* `key = value` is an attribute: `{"key": value}`. A repeated attribute keeps its last value (HCL v1).
* `key = { ... }` is an object literal: `{"key": {...}}`.
* `type "l1" "l2" { body }` is a block: every block is appended to a list under its type, its labels
  nested as single-key dicts: `{"type": [{"l1": {"l2": body}}]}`; `template { }` twice gives
  `{"template": [body1, body2]}`.
* Numbers follow HCL v1: `0640` is octal (416), `0x1F` hex, `1.5` a float; booleans are `true`/`false`.
* Text whose first non-blank character is "{" is read as JSON.

Consumers never walk that shape by hand: `blocks(value, depth)` yields `(labels, body)` pairs for blocks
written in HCL (once or repeated) and for the JSON forms `{"path": {"a": {...}}}` and `[{"path": ...}]` alike.
Every object the HCL parser builds is an `HCLObject`, a dict that also remembers the line of each `=`
(`assignment_line`), which Vault quotes in its "invalid key" errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from strongroom.errors import ConfigError, HCLError

__all__ = ["HCLObject", "assignment_line", "block_line", "blocks", "load", "loads", "single_block"]


class HCLObject(dict[str, Any]):
    """A dict read from HCL; `lines` maps an attribute's key to the line of its `=`; `line` is where a
    block's body opens (0 for the document and object literals)."""

    __slots__ = ("line", "lines")

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[str, int] = {}
        self.line = 0


def assignment_line(obj: Any, key: str) -> int:
    """The line of `key = ...` in `obj`, or 0 when `key` is a block, came from JSON, or is absent."""
    return obj.lines.get(key, 0) if isinstance(obj, HCLObject) else 0


def block_line(obj: Any) -> int:
    """The line where the block `obj` was opened, or 0 when it came from JSON or is not a block."""
    return obj.line if isinstance(obj, HCLObject) else 0


def loads(text: str, filename: str = "<string>") -> dict[str, Any]:
    """Parse HCL v1 (or its JSON form) into plain values; raise HCLError with a position on bad input."""
    if text.lstrip().startswith("{"):
        return _loads_json(text, filename)
    return _Parser(text, filename).parse_document()


def load(path: str | Path) -> dict[str, Any]:
    """Parse the HCL file at `path`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise HCLError("file is not valid UTF-8", filename=str(file)) from exc
    return loads(text, str(file))


def blocks(value: Any, depth: int) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    """The `(labels, body)` pairs of blocks with `depth` labels, from any shape HCL or JSON gives them.

    `value` is what sits under the block type (`doc.get("path")`); None yields nothing. Raises ConfigError
    when something other than an object stands where a block is expected.
    """
    return list(_walk_blocks(value, depth, ()))


def single_block(value: Any, name: str) -> dict[str, Any] | None:
    """The body of a block that may appear at most once (`vault {}`, `exec {}`), or None when absent."""
    found = blocks(value, 0)
    if len(found) > 1:
        raise ConfigError(f"only one {name!r} block is allowed")
    return found[0][1] if found else None


def _walk_blocks(
    value: Any, depth: int, labels: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    if value is None:
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk_blocks(item, depth, labels)
        return
    if not isinstance(value, dict):
        raise ConfigError(f"expected a block, found {_describe(value)}")
    if depth == 0:
        yield labels, value
        return
    for key, inner in value.items():
        yield from _walk_blocks(inner, depth - 1, (*labels, key))


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    return type(value).__name__


def _loads_json(text: str, filename: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HCLError(exc.msg, filename=filename, line=exc.lineno, column=exc.colno) from None
    if not isinstance(value, dict):
        raise HCLError("the JSON document must be an object", filename=filename, line=1, column=1)
    return value


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_\-.]*")
_NUMBER = re.compile(
    r"-?(?:0[xX][0-9a-fA-F]+|[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"
)
_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_\-]*)[ \t]*\r?\n")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "v": "\v"}


class _Parser:
    """A recursive-descent parser over the raw text; positions are tracked for error messages."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0

    def error(self, message: str, pos: int | None = None) -> HCLError:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        column = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return HCLError(message, filename=self.filename, line=line, column=column)

    def line_at(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def skip(self, newlines: bool = True) -> None:
        """Skip blanks and comments; with `newlines` False, stop at the first newline."""
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r\ufeff" or (newlines and ch == "\n"):
                self.pos += 1
            elif ch == "#" or text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    raise self.error("comment not terminated")
                self.pos = end + 2
            else:
                return

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def parse_document(self) -> HCLObject:
        body = self.parse_body(closing="")
        self.skip()
        if self.pos < len(self.text):
            raise self.error(f"unexpected {self.token_name()}")
        return body

    def token_name(self) -> str:
        ch = self.peek()
        if ch == "":
            return "end of file"
        return f"{ch!r}"

    def parse_body(self, closing: str) -> HCLObject:
        """Items up to `closing` ("}" for an object, "" for the document)."""
        body = HCLObject()
        while True:
            self.skip()
            ch = self.peek()
            if ch == closing:
                return body
            if ch == "":
                raise self.error(f"object expected closing '{closing}', found end of file")
            self.parse_item(body)
            # HCL v1 needs no separator between items (`{ a = 1 b = 2 }`); a comma is optional.
            self.skip()
            if self.peek() == ",":
                self.pos += 1

    def parse_key(self) -> str:
        ch = self.peek()
        if ch == '"':
            return self.parse_string()
        match = _IDENT.match(self.text, self.pos)
        if match is None:
            raise self.error(f"expected a key, found {self.token_name()}")
        self.pos = match.end()
        return match.group()

    def parse_item(self, body: HCLObject) -> None:
        start = self.pos
        key = self.parse_key()
        labels: list[str] = []
        while True:
            self.skip(newlines=False)
            ch = self.peek()
            if ch == "=":
                if labels:
                    raise self.error("expected '{' after block labels")
                assign = self.pos
                self.pos += 1
                self.skip(newlines=False)
                value = self.parse_value()
                if isinstance(body.get(key), list) and key not in body.lines:
                    raise self.error(f"{key!r} is used both as a block and as an attribute", start)
                body[key] = value
                body.lines[key] = self.line_at(assign)
                return
            if ch == "{":
                self.pos += 1
                block: Any = self.parse_body(closing="}")
                block.line = self.line_at(start)
                self.pos += 1
                for label in reversed(labels):
                    block = {label: block}
                existing = body.get(key)
                if key in body.lines:
                    raise self.error(f"{key!r} is used both as an attribute and as a block", start)
                if isinstance(existing, list):
                    existing.append(block)
                else:
                    body[key] = [block]
                return
            if ch == '"' or _IDENT.match(self.text, self.pos):
                labels.append(self.parse_key())
                continue
            raise self.error(f"expected '=' or '{{' after key {key!r}, found {self.token_name()}")

    def parse_value(self) -> Any:
        ch = self.peek()
        if ch == '"':
            return self.parse_string()
        if ch == "<" and self.text.startswith("<<", self.pos):
            return self.parse_heredoc()
        if ch == "[":
            return self.parse_list()
        if ch == "{":
            self.pos += 1
            obj = self.parse_body(closing="}")
            self.pos += 1
            return obj
        if ch != "" and ch in "-.0123456789":
            return self.parse_number()
        match = _IDENT.match(self.text, self.pos)
        if match is not None and match.group() in ("true", "false"):
            self.pos = match.end()
            return match.group() == "true"
        if ch in ("", "\n"):
            raise self.error(
                "expected a value, found end of line" if ch else "expected a value, found end of file"
            )
        raise self.error(f"unexpected {self.token_name()} where a value was expected")

    def parse_number(self) -> int | float:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise self.error("invalid number")
        self.pos = match.end()
        token = match.group()
        if _IDENT.match(self.text, self.pos):
            raise self.error("invalid number", match.start())
        digits = token.lstrip("-")
        sign = -1 if token.startswith("-") else 1
        if digits[:2] in ("0x", "0X"):
            return sign * int(digits[2:], 16)
        if any(c in digits for c in ".eE"):
            return float(token)
        if len(digits) > 1 and digits.startswith("0"):
            # HCL v1 reads a leading zero as octal, which file modes such as 0640 rely on.
            if any(c in "89" for c in digits):
                raise self.error(f"invalid octal number {token}", match.start())
            return sign * int(digits, 8)
        return int(token)

    def parse_list(self) -> list[Any]:
        self.pos += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.peek() == "]":
                self.pos += 1
                return items
            if self.peek() == "":
                raise self.error("list expected closing ']', found end of file")
            items.append(self.parse_value())
            self.skip()
            ch = self.peek()
            if ch == ",":
                self.pos += 1
            elif ch == "":
                raise self.error("list expected closing ']', found end of file")
            elif ch != "]":
                raise self.error(f"expected ',' or ']' in a list, found {self.token_name()}")

    def parse_string(self) -> str:
        start = self.pos
        self.pos += 1
        text = self.text
        out: list[str] = []
        # Inside ${ ... } quotes do not end the string (HCL v1 interpolation, kept literally).
        braces = 0
        while True:
            if self.pos >= len(text):
                raise self.error("string literal not terminated", start)
            ch = text[self.pos]
            if ch == "\n" and braces == 0:
                raise self.error("string literal not terminated", start)
            if ch == '"' and braces == 0:
                self.pos += 1
                return "".join(out)
            if ch == "\\":
                out.append(self.parse_escape())
                continue
            if braces == 0 and text.startswith("${", self.pos):
                braces = 1
                out.append("${")
                self.pos += 2
                continue
            if braces and ch == "{":
                braces += 1
            elif braces and ch == "}":
                braces -= 1
            out.append(ch)
            self.pos += 1

    def parse_escape(self) -> str:
        at = self.pos
        kind = self.text[self.pos + 1 : self.pos + 2]
        if kind in _ESCAPES:
            self.pos += 2
            return _ESCAPES[kind]
        width = {"u": 4, "U": 8}.get(kind)
        if width is None:
            raise self.error(f"invalid escape sequence \\{kind}", at)
        digits = self.text[self.pos + 2 : self.pos + 2 + width]
        if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise self.error(f"invalid escape sequence \\{kind}{digits}", at)
        self.pos += 2 + width
        try:
            return chr(int(digits, 16))
        except ValueError:
            raise self.error(f"invalid unicode code point \\{kind}{digits}", at) from None

    def parse_heredoc(self) -> str:
        start = self.pos
        match = _HEREDOC.match(self.text, self.pos)
        if match is None:
            raise self.error("heredoc needs a marker and a newline: <<EOF", start)
        indented, marker = match.group(1) == "-", match.group(2)
        self.pos = match.end()
        lines: list[str] = []
        while True:
            if self.pos >= len(self.text):
                raise self.error(f"heredoc not terminated: no closing {marker!r} line", start)
            end = self.text.find("\n", self.pos)
            end = len(self.text) if end < 0 else end
            line = self.text[self.pos : end].removesuffix("\r")
            self.pos = end
            if line.strip() == marker:
                break
            lines.append(line)
            self.pos = min(end + 1, len(self.text))
        if indented:
            lines = _unindent(lines, line[: len(line) - len(line.lstrip())])
        return "".join(f"{line}\n" for line in lines)


def _unindent(lines: list[str], margin: str) -> list[str]:
    """HCL v1's <<- rule: strip the closing marker's indentation when every line carries it."""
    if all(line.startswith(margin) for line in lines):
        return [line[len(margin) :] for line in lines]
    return lines
