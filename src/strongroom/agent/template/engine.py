"""The public face of the template engine: parse a consul-template template once, render it many times.

Layer: agent. Imports stdlib and the sibling modules.

Rendering is async: data functions await the `SecretSource` as the walk reaches them, so a template only
fetches what its taken branches need, and `Rendered.dependencies` lists exactly those paths for the agent
to watch.

Invariant: a TemplateError names the template, line, column and the failing construct; never a value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from strongroom.agent.template.builtins import LAZY, go_builtins
from strongroom.agent.template.evaluator import Evaluator
from strongroom.agent.template.functions import CONSUL_FUNCTION_NAMES, RenderContext, consul_functions
from strongroom.agent.template.lexer import Source, lex
from strongroom.agent.template.parser import Tree, parse
from strongroom.agent.template.source import Dependency, SecretSource
from strongroom.agent.template.values import MISSING

FUNCTION_NAMES = frozenset(go_builtins()) | CONSUL_FUNCTION_NAMES | frozenset(LAZY)


@dataclass(frozen=True, slots=True)
class Rendered:
    """The output of one render and the Vault paths it touched."""

    text: str
    dependencies: frozenset[Dependency]

    def __repr__(self) -> str:
        return f"Rendered(<{len(self.text)} chars>, dependencies={sorted(self.dependencies, key=str)!r})"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Template:
    """A parsed template. Construction raises TemplateError on a syntax error."""

    def __init__(
        self,
        text: str,
        *,
        name: str = "template",
        left_delim: str = "",
        right_delim: str = "",
        error_on_missing_key: bool = False,
    ) -> None:
        self.name = name
        self.error_on_missing_key = error_on_missing_key
        self._source = Source(name, text)
        tokens = lex(self._source, left_delim or "{{", right_delim or "}}")
        self._tree: Tree = parse(self._source, tokens, FUNCTION_NAMES)

    def __repr__(self) -> str:
        return f"Template({self.name!r})"

    async def render(
        self,
        source: SecretSource | None = None,
        *,
        data: object = MISSING,
        env: Mapping[str, str] | None = None,
        now: Callable[[], datetime] = _utc_now,
    ) -> Rendered:
        """Execute the template; `data` is dot (consul-template passes none), `env` overlays os.environ."""
        context = RenderContext(source=source, env=env or {}, now=now)
        functions = go_builtins() | consul_functions(context)
        evaluator = Evaluator(
            self._source, self._tree, functions, error_on_missing_key=self.error_on_missing_key
        )
        text = await evaluator.execute(data)
        return Rendered(text, frozenset(context.dependencies))
