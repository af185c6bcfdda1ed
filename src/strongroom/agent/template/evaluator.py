"""The evaluator of Go's text/template: walks a parse tree against data and writes the output.

Layer: agent. Imports stdlib and the sibling modules.

Evaluation is async so that data functions (`secret`, `secrets`, `pkiCert`) await their source in place;
everything else runs synchronously inside the same walk.

Invariant: error messages name fields, functions and Go types; values never enter them.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from strongroom.agent.template.errors import FunctionError, TemplateError
from strongroom.agent.template.gofmt import format_value
from strongroom.agent.template.lexer import Source
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
from strongroom.agent.template.parser import Tree
from strongroom.agent.template.values import MISSING, Struct, go_type, truth

_NO_FINAL: Final = object()
# Go allows 100000 nested template calls; Python's stack does not, so recursion stops far earlier.
MAX_TEMPLATE_DEPTH: Final = 100


@dataclass(frozen=True, slots=True)
class Function:
    """A template function: a callable (sync or async) and how many arguments it takes."""

    call: Callable[..., Any]
    min_args: int
    max_args: int | None


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


Scope = list[tuple[str, Any]]


class Evaluator:
    """Executes one parsed template; one instance per render."""

    def __init__(
        self, source: Source, tree: Tree, functions: Mapping[str, Function], *, error_on_missing_key: bool
    ) -> None:
        self.source = source
        self.tree = tree
        self.functions = functions
        self.error_on_missing_key = error_on_missing_key
        self.depth = 0

    async def execute(self, data: object) -> str:
        """Render the main body with `data` as dot and `$`."""
        out: list[str] = []
        await self.walk(self.tree.body, data, [("$", data)], out)
        return "".join(out)

    def error(self, message: str, offset: int) -> TemplateError:
        return self.source.error(message, offset)

    async def walk(self, nodes: Sequence[Node], dot: object, scope: Scope, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.text)
            elif isinstance(node, Action):
                value = await self.pipeline(node.pipe, dot, scope)
                if not node.pipe.decl:
                    out.append("<no value>" if value is MISSING else format_value(value, pointer=False))
            elif isinstance(node, Branch):
                mark = len(scope)
                if node.keyword == "range":
                    await self.range_(node, dot, scope, out)
                else:
                    value = await self.pipeline(node.pipe, dot, scope)
                    if truth(value):
                        await self.walk(node.body, value if node.keyword == "with" else dot, scope, out)
                    else:
                        await self.walk(node.orelse, dot, scope, out)
                del scope[mark:]
            elif isinstance(node, Include):
                body = self.tree.defines.get(node.name)
                if body is None:
                    raise self.error(f'no such template "{node.name}"', node.offset)
                value = MISSING if node.pipe is None else await self.pipeline(node.pipe, dot, scope)
                if self.depth >= MAX_TEMPLATE_DEPTH:
                    raise self.error(f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})", node.offset)
                self.depth += 1
                try:
                    await self.walk(body, value, [("$", value)], out)
                finally:
                    self.depth -= 1
            elif isinstance(node, LoopControl):
                raise _Break if node.keyword == "break" else _Continue

    async def range_(self, node: Branch, dot: object, scope: Scope, out: list[str]) -> None:
        value = await self.pipeline(node.pipe, dot, scope, bind=False)
        items: list[tuple[object, object]]
        if value is MISSING or value is None:
            items = []
        elif isinstance(value, Mapping):
            try:
                items = [(key, value[key]) for key in sorted(value)]
            except TypeError:
                raise self.error("range over a map with keys of mixed types", node.offset) from None
        elif isinstance(value, list | tuple):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            raise self.error(f"range can't iterate over value of type {go_type(value)}", node.offset)
        if not items:
            await self.walk(node.orelse, dot, scope, out)
            return
        decl = node.pipe.decl
        for key, element in items:
            mark = len(scope)
            bound = [element] if len(decl) == 1 else [key, element]
            for name, bound_value in zip(decl, bound, strict=False):
                if node.pipe.is_assign:
                    self.assign(scope, name, bound_value)
                else:
                    scope.append((name, bound_value))
            try:
                await self.walk(node.body, element, scope, out)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del scope[mark:]

    @staticmethod
    def assign(scope: Scope, name: str, value: object) -> None:
        for i in range(len(scope) - 1, -1, -1):
            if scope[i][0] == name:
                scope[i] = (name, value)
                return

    async def pipeline(self, pipe: Pipeline, dot: object, scope: Scope, *, bind: bool = True) -> object:
        value: object = _NO_FINAL
        for command in pipe.commands:
            value = await self.command(command, dot, scope, value)
            if value is None:
                # Go turns a nil interface result into an invalid value, printed as <no value>.
                value = MISSING
        if bind:
            for name in pipe.decl:
                if pipe.is_assign:
                    self.assign(scope, name, value)
                else:
                    scope.append((name, value))
        return value

    async def command(self, command: Command, dot: object, scope: Scope, final: object) -> object:
        first = command.args[0]
        if isinstance(first, Identifier):
            return await self.call(first, command.args[1:], dot, scope, final)
        if len(command.args) > 1 or final is not _NO_FINAL:
            raise self.error(f"can't give argument to non-function {_describe(first)}", first.offset)
        if isinstance(first, Nil):
            raise self.error("nil is not a command", first.offset)
        return await self.arg(first, dot, scope)

    async def arg(self, node: Arg, dot: object, scope: Scope) -> object:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Nil):
            return None
        if isinstance(node, Field):
            return self.chain(dot, node.names, node.offset)
        if isinstance(node, Variable):
            for name, value in reversed(scope):
                if name == node.name:
                    return self.chain(value, node.names, node.offset)
            raise self.error(f'undefined variable "{node.name}"', node.offset)
        if isinstance(node, Chain):
            return self.chain(await self.arg(node.node, dot, scope), node.names, node.offset)
        if isinstance(node, Identifier):
            return await self.call(node, (), dot, scope, _NO_FINAL)
        return await self.pipeline(node, dot, scope)

    def chain(self, receiver: object, names: Sequence[str], offset: int) -> object:
        for name in names:
            receiver = self.field(receiver, name, offset)
        return receiver

    def field(self, receiver: object, name: str, offset: int) -> object:
        if receiver is MISSING:
            if self.error_on_missing_key:
                raise self.error(f'nil data; no entry for key "{name}"', offset)
            return MISSING
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}", offset)
        if isinstance(receiver, Struct):
            if name in receiver.fields:
                return receiver.fields[name]
            raise self.error(f"can't evaluate field {name} in type {receiver.type_name}", offset)
        if isinstance(receiver, Mapping):
            if name in receiver:
                return receiver[name]
            if self.error_on_missing_key:
                raise self.error(f'map has no entry for key "{name}"', offset)
            # consul-template runs with missingkey=zero: a missing key is nil, so a further field errors.
            return None
        raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}", offset)

    async def call(
        self, ident: Identifier, args: Sequence[Arg], dot: object, scope: Scope, final: object
    ) -> object:
        name = ident.name
        count = len(args) + (final is not _NO_FINAL)
        if name in ("and", "or"):
            if count < 1:
                raise self.error(f"wrong number of args for {name}: want at least 1 got 0", ident.offset)
            value: object = MISSING
            for node in args:
                value = await self.arg(node, dot, scope)
                if truth(value) == (name == "or"):
                    return value
            return final if final is not _NO_FINAL else value
        function = self.functions[name]
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            want = f"at least {function.min_args}" if function.max_args is None else str(function.min_args)
            raise self.error(f"wrong number of args for {name}: want {want} got {count}", ident.offset)
        values = [await self.arg(node, dot, scope) for node in args]
        if final is not _NO_FINAL:
            values.append(final)
        values = [None if v is MISSING else v for v in values]
        try:
            result = function.call(*values)
            if inspect.isawaitable(result):
                result = await result
        except FunctionError as exc:
            raise self.error(f"error calling {name}: {exc}", ident.offset) from None
        return result


def _describe(node: Arg) -> str:
    if isinstance(node, Field):
        return "." + ".".join(node.names)
    if isinstance(node, Variable):
        return node.name + "".join("." + n for n in node.names)
    if isinstance(node, Dot):
        return "."
    if isinstance(node, Literal):
        return go_type(node.value) + " constant"
    return "value"
