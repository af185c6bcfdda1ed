"""Rendering one `template { ... }` stanza: render in memory, write only on change, then run its exec.

Layer: agent. Imports stdlib, config.agent_model, the template engine and the sibling `files` module.

Invariant: the destination is replaced atomically and only when its bytes change; rendered text and
the values it holds are never logged (log lines name the destination only).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from strongroom.agent.files import write_atomic
from strongroom.agent.template import Dependency, SecretSource, Template
from strongroom.config.agent_model import Template as TemplateConfig

log = logging.getLogger("strongroom.agent")

# consul-template's mode for a new destination when `perms` is not set.
DEFAULT_PERMS = 0o644


class RenderError(Exception):
    """A template that could not be loaded, rendered or written; names the destination only."""


class TemplateRenderer:
    """One template: its parsed form, what it last wrote and the paths its last render touched."""

    def __init__(self, config: TemplateConfig) -> None:
        self.config = config
        if config.contents is not None:
            text = config.contents
        else:
            try:
                text = Path(config.source).read_text()
            except OSError as exc:
                raise RenderError(f"cannot read template source {config.source}: {exc.strerror}") from None
        self._template = Template(
            text,
            name=config.source or config.destination,
            left_delim=config.left_delimiter,
            right_delim=config.right_delimiter,
            error_on_missing_key=config.error_on_missing_key,
        )
        self.dependencies: frozenset[Dependency] = frozenset()
        self._last: bytes | None = None

    def __repr__(self) -> str:
        return f"TemplateRenderer({self.config.destination!r})"

    async def render(self, source: SecretSource) -> bool:
        """Render and write the destination when it changed; True when it did (and exec then ran)."""
        rendered = await self._template.render(source)
        self.dependencies = rendered.dependencies
        data = rendered.text.encode()
        destination = Path(self.config.destination)
        if self._last is None and destination.is_file():
            self._last = destination.read_bytes()
        if data == self._last:
            return False
        perms = self.config.perms if self.config.perms is not None else DEFAULT_PERMS
        try:
            write_atomic(
                self.config.destination,
                data,
                perms,
                user=self.config.user,
                group=self.config.group,
                create_dirs=self.config.create_dest_dirs,
            )
        except (OSError, KeyError) as exc:
            raise RenderError(f"cannot write {self.config.destination}: {exc}") from None
        self._last = data
        log.info("rendered %s", self.config.destination)
        await self._run_exec()
        return True

    async def _run_exec(self) -> None:
        command = self.config.exec
        if command is None:
            return
        if command.shell:
            process = await asyncio.create_subprocess_shell(command.command[0])
        else:
            process = await asyncio.create_subprocess_exec(*command.command)
        try:
            code = await asyncio.wait_for(process.wait(), command.timeout or None)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise RenderError(
                f"exec for {self.config.destination} timed out after {command.timeout}s"
            ) from None
        if code != 0:
            raise RenderError(f"exec for {self.config.destination} exited with {code}")
