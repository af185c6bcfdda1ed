"""The parser of Go's text/template: tokens to a tree of `nodes`, with Go's parse-time checks.

Layer: agent. Imports stdlib and the sibling `errors`, `lexer` and `nodes` modules.

Parse-time errors match Go's: an unknown function (`function "x" not defined`), an undefined variable,
`{{break}}` outside `{{range}}`, unbalanced `{{end}}`/`{{else}}`, a literal as a later pipeline stage.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from strongroom.agent.template.lexer import Kind, Source, Token
from strongroom.agent.template.nodes import (
    Action,
    Arg,
    Branch,
    Chain,
    Command,
    Dot,
    Field,
    Identifier,
    Include,
    Literal,
    LoopControl,
    Nil,
    Node,
    Pipeline,
    Text,
    Variable,
)

_OCTAL = re.compile(r"[+-]?0[0-7]+")


@dataclass(frozen=True, slots=True)
class Tree:
    """A parsed template: its main body and the templates it defines by name."""

    body: tuple[Node, ...]
    defines: dict[str, tuple[Node, ...]] = field(default_factory=dict)


def parse(source: Source, tokens: list[Token], functions: Collection[str]) -> Tree:
    """Parse tokens into a Tree; `functions` are the names a template may call."""
    parser = _Parser(source, tokens, functions)
    body = parser.top()
    return Tree(body, parser.defines)


class _Parser:
    def __init__(self, source: Source, tokens: list[Token], functions: Collection[str]) -> None:
        self.source = source
        self.tokens = tokens
        self.functions = functions
        self.index = 0
        self.vars: list[str] = ["$"]
        self.defines: dict[str, tuple[Node, ...]] = {}
        self.range_depth = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: Token) -> Exception:
        return self.source.error(message, token.offset)

    def expect(self, kind: Kind, context: str) -> Token:
        token = self.next()
        if token.kind is not kind:
            raise self.error(f"unexpected {_describe(token)} in {context}", token)
        return token

    def top(self) -> tuple[Node, ...]:
        body, terminator, token = self.list_()
        if terminator != "eof":
            raise self.error(f"unexpected {{{{{terminator}}}}}", token)
        return body

    def list_(self) -> tuple[tuple[Node, ...], str, Token]:
        """Nodes up to EOF, `{{end}}` or `{{else}}`; returns them and which one ended the list."""
        nodes: list[Node] = []
        while True:
            token = self.next()
            if token.kind is Kind.EOF:
                return tuple(nodes), "eof", token
            if token.kind is Kind.TEXT:
                nodes.append(Text(token.offset, token.value))
                continue
            head = self.peek()
            if head.kind is Kind.KEYWORD:
                self.next()
                keyword = head.value
                if keyword == "end":
                    self.expect(Kind.RIGHT, "end")
                    return tuple(nodes), "end", head
                if keyword == "else":
                    return tuple(nodes), "else", head
                node = self.keyword(head)
                if node is not None:
                    nodes.append(node)
                continue
            nodes.append(Action(token.offset, self.pipeline("command", Kind.RIGHT)))

    def keyword(self, head: Token) -> Node | None:
        keyword = head.value
        if keyword in ("if", "with", "range"):
            return self.branch(head)
        if keyword in ("break", "continue"):
            if not self.range_depth:
                raise self.error(f"{{{{{keyword}}}}} outside {{{{range}}}}", head)
            self.expect(Kind.RIGHT, keyword)
            return LoopControl(head.offset, keyword)
        if keyword == "template":
            name = self.expect(Kind.STRING, "template clause")
            if self.peek().kind is Kind.RIGHT:
                self.next()
                return Include(head.offset, name.value, None)
            return Include(head.offset, name.value, self.pipeline("template clause", Kind.RIGHT))
        if self.depth or self.range_depth:
            raise self.error(f"unexpected <{keyword}> in command", head)
        name = self.expect(Kind.STRING, f"{keyword} clause")
        pipe = None if keyword == "define" else self.pipeline("block clause", Kind.RIGHT)
        if keyword == "define":
            self.expect(Kind.RIGHT, "define clause")
        saved, self.vars = self.vars, ["$"]
        self.depth += 1
        body, terminator, token = self.list_()
        self.depth -= 1
        self.vars = saved
        if terminator != "end":
            raise self.error(f"unexpected {_terminator(terminator)} in {keyword}", token)
        self.defines[name.value] = body
        return None if pipe is None else Include(head.offset, name.value, pipe)

    def branch(self, head: Token) -> Branch:
        keyword = head.value
        mark = len(self.vars)
        pipe = self.pipeline(keyword, Kind.RIGHT)
        self.depth += 1
        self.range_depth += keyword == "range"
        body, terminator, token = self.list_()
        self.range_depth -= keyword == "range"
        orelse: tuple[Node, ...] = ()
        if terminator == "else":
            follow = self.peek()
            if follow.kind is Kind.KEYWORD and (
                follow.value == "if" or (follow.value == "with" and keyword == "with")
            ):
                self.next()
                orelse = (self.branch(follow),)
            else:
                self.expect(Kind.RIGHT, "else")
                orelse, terminator, token = self.list_()
                if terminator != "end":
                    raise self.error(f"expected end; found {_terminator(terminator)}", token)
        elif terminator != "end":
            raise self.error(f"unexpected EOF in {keyword}", head)
        self.depth -= 1
        del self.vars[mark:]
        return Branch(head.offset, keyword, pipe, body, orelse)

    def pipeline(self, context: str, end: Kind) -> Pipeline:
        start = self.peek()
        decl: list[str] = []
        is_assign = False
        if start.kind is Kind.VARIABLE:
            after = self.tokens[self.index + 1]
            if after.kind in (Kind.DECLARE, Kind.ASSIGN):
                self.index += 2
                decl, is_assign = [start.value], after.kind is Kind.ASSIGN
            elif after.kind is Kind.COMMA and context == "range":
                self.index += 2
                second = self.expect(Kind.VARIABLE, "range declaration")
                op = self.next()
                if op.kind not in (Kind.DECLARE, Kind.ASSIGN):
                    raise self.error(f"unexpected {_describe(op)} in range declaration", op)
                decl, is_assign = [start.value, second.value], op.kind is Kind.ASSIGN
        for name in decl:
            if is_assign and name not in self.vars:
                raise self.error(f"undefined variable {name!r}".replace("'", '"'), start)
        if not is_assign:
            self.vars.extend(decl)
        if self.peek().kind is end:
            raise self.error(f"missing value for {context}", self.peek())
        commands: list[Command] = []
        while True:
            commands.append(self.command(end))
            token = self.next()
            if token.kind is end:
                break
            if token.kind is not Kind.PIPE:
                raise self.error(f"unexpected {_describe(token)} in {context}", token)
        for stage, command in enumerate(commands[1:], start=2):
            if isinstance(command.args[0], Literal | Nil | Dot):
                raise self.error(f"non executable command in pipeline stage {stage}", start)
        return Pipeline(start.offset, tuple(decl), is_assign, tuple(commands))

    def command(self, end: Kind) -> Command:
        start = self.peek()
        args: list[Arg] = []
        while self.peek().kind not in (Kind.PIPE, end):
            token = self.peek()
            operand = self.operand()
            if operand is None:
                raise self.error(f"unexpected {_describe(token)} in operand", token)
            args.append(operand)
        if not args:
            raise self.error("missing value for command", start)
        return Command(start.offset, tuple(args))

    def operand(self) -> Arg | None:
        term = self.term()
        if term is None:
            return None
        names: list[str] = []
        while self.peek().kind is Kind.FIELD and not self.peek().spaced:
            names.append(self.next().value)
        if not names:
            return term
        if isinstance(term, Field):
            return Field(term.offset, term.names + tuple(names))
        if isinstance(term, Variable):
            return Variable(term.offset, term.name, term.names + tuple(names))
        if isinstance(term, Literal | Nil | Dot):
            raise self.source.error("unexpected . after term", term.offset)
        return Chain(term.offset, term, tuple(names))

    def term(self) -> Arg | None:
        token = self.next()
        kind = token.kind
        if kind is Kind.IDENT:
            if token.value not in self.functions:
                raise self.error(f'function "{token.value}" not defined', token)
            return Identifier(token.offset, token.value)
        if kind is Kind.DOT:
            return Dot(token.offset)
        if kind is Kind.NIL:
            return Nil(token.offset)
        if kind is Kind.VARIABLE:
            if token.value not in self.vars:
                raise self.error(f'undefined variable "{token.value}"', token)
            return Variable(token.offset, token.value)
        if kind is Kind.FIELD:
            return Field(token.offset, (token.value,))
        if kind is Kind.BOOL:
            return Literal(token.offset, token.value == "true")
        if kind is Kind.STRING:
            return Literal(token.offset, token.value)
        if kind is Kind.CHAR:
            return Literal(token.offset, ord(token.value))
        if kind is Kind.NUMBER:
            return Literal(token.offset, self.number(token))
        if kind is Kind.LPAREN:
            return self.pipeline("parenthesized pipeline", Kind.RPAREN)
        self.index -= 1
        return None

    def number(self, token: Token) -> int | float:
        text = token.value.replace("_", "")
        try:
            if _OCTAL.fullmatch(text):
                return int(text, 8)
            if text.lstrip("+-")[:2].lower() in ("0x", "0b", "0o"):
                return int(text, 0)
            if any(c in text for c in ".eE"):
                return float(text)
            return int(text, 10)
        except ValueError:
            raise self.error(f"bad number syntax: {token.value}", token) from None


def _describe(token: Token) -> str:
    if token.kind is Kind.EOF:
        return "EOF"
    if token.kind is Kind.RIGHT:
        return "<right delimiter>"
    if token.kind is Kind.STRING:
        return "string"
    return f"<{token.value}>"


def _terminator(terminator: str) -> str:
    return "EOF" if terminator == "eof" else f"{{{{{terminator}}}}}"
