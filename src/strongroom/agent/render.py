"""Rendering one `template { ... }` stanza: render in memory, write only on change, then run its exec.

Layer: agent. Imports stdlib, config.agent_model, the template engine and the sibling `files` module.

consul-template's file rules: without `perms` a destination keeps the mode of the file it replaces (0644
for a new one); `backup = true` keeps the replaced file as `<destination>.bak` (a hard link, so with its
mode; the one before that is dropped); `wait { min max }` holds a change back until the template has
rendered the same bytes for `min` seconds, and writes it at the latest `max` seconds after the first
change. The first render of an agent run is written at once (consul-template waits `min` there too), so
an application starting beside the agent does not wait for its files.

Invariant: the destination is replaced atomically and only when its bytes change; rendered text and
the values it holds are never logged (log lines name the destination only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from strongroom.agent.files import write_atomic
from strongroom.agent.template import Dependency, SecretSource, Template
from strongroom.config.agent_model import EnvTemplate
from strongroom.config.agent_model import Template as TemplateConfig

log = logging.getLogger("strongroom.agent")

# consul-template's mode for a new destination when `perms` is not set.
DEFAULT_PERMS = 0o644


class RenderError(Exception):
    """A template that could not be loaded, rendered or written; names the destination only."""


def parse_template(config: TemplateConfig | EnvTemplate, name: str, what: str) -> Template:
    """The parsed template of a `template` or `env_template` stanza: its contents, or its source file
    (errors then name the file; otherwise `name`)."""
    if config.contents is not None:
        text = config.contents
    else:
        try:
            text = Path(config.source).read_text()
        except OSError as exc:
            raise RenderError(f"cannot read {what} source {config.source}: {exc.strerror}") from None
    return Template(
        text,
        name=config.source or name,
        left_delim=config.left_delimiter,
        right_delim=config.right_delimiter,
        error_on_missing_key=config.error_on_missing_key,
    )


class Renderer(Protocol):
    """What the runner keeps current: a template's file, or the exec child's environment (`supervisor`)."""

    @property
    def label(self) -> str:
        """What log lines call it (a destination); never a value."""
        ...

    @property
    def dependencies(self) -> frozenset[Dependency]: ...

    async def render(self, source: SecretSource) -> bool: ...


class TemplateRenderer:
    """One template: its parsed form, what it last wrote and the paths its last render touched.

    `on_deferred_error` hears about a write held back by `wait` that failed when its timer fired (there
    is no caller left to raise to).
    """

    def __init__(
        self,
        config: TemplateConfig,
        on_deferred_error: Callable[[TemplateRenderer, RenderError], None] | None = None,
    ) -> None:
        self.config = config
        self._template = parse_template(config, config.destination, "template")
        self.dependencies: frozenset[Dependency] = frozenset()
        self._last: bytes | None = None
        self._written_once = False
        self._on_deferred_error = on_deferred_error
        # A change held back by `wait`: the bytes, when it must be written at the latest, and its timer.
        self._pending: bytes | None = None
        self._deadline = 0.0
        self._timer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"TemplateRenderer({self.config.destination!r})"

    @property
    def label(self) -> str:
        return self.config.destination

    @property
    def waiting(self) -> bool:
        """Whether a change is held back by `wait` and not yet written."""
        return self._pending is not None

    async def render(self, source: SecretSource) -> bool:
        """Render and write the destination when it changed; True when it did (and exec then ran).

        With `wait`, a change after the first write is held back (False) and written by a timer.
        """
        rendered = await self._template.render(source)
        self.dependencies = rendered.dependencies
        data = rendered.text.encode()
        destination = Path(self.config.destination)
        if self._last is None and destination.is_file():
            self._last = destination.read_bytes()
        if data == self._last:
            self._cancel_pending()
            return False
        wait = self.config.wait
        if wait is not None and wait.min > 0 and self._written_once:
            self._hold(data, wait.min, wait.max)
            return False
        await self._write(data)
        return True

    def _hold(self, data: bytes, wait_min: float, wait_max: float) -> None:
        """Start or snooze the quiescence timer: `wait_min` after this change, never past the deadline."""
        now = asyncio.get_running_loop().time()
        if self._timer is None:
            self._deadline = now + wait_max
            delay = wait_min
        elif data == self._pending:
            return
        else:
            self._timer.cancel()
            delay = max(min(wait_min, self._deadline - now), 0.0)
        self._pending = data
        self._timer = asyncio.create_task(self._write_after(delay))

    def _cancel_pending(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._pending = None

    async def _write_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        data = self._pending
        # From here on a new render starts a new timer instead of cancelling this write.
        self._timer = None
        self._pending = None
        if data is None:
            return
        try:
            await self._write(data)
        except RenderError as exc:
            if self._on_deferred_error is None:
                raise
            self._on_deferred_error(self, exc)

    async def _write(self, data: bytes) -> None:
        destination = Path(self.config.destination)
        perms = self.config.perms
        current = _mode_of(destination)
        if perms is None:
            perms = DEFAULT_PERMS if current is None else current
        if self.config.backup and current is not None:
            _backup(destination)
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
        self._written_once = True
        log.info("rendered %s", self.config.destination)
        await self._run_exec()

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


def _mode_of(path: Path) -> int | None:
    """The permission bits of an existing regular file, or None."""
    try:
        info = path.stat()
    except OSError:
        return None
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else None


def _backup(path: Path) -> None:
    """Keep the file about to be replaced as `<path>.bak`, as consul-template does: a hard link (same
    mode and owner, no copy of the secret made), the previous backup kept aside until the link exists."""
    backup = path.with_name(path.name + ".bak")
    older = path.with_name(path.name + ".old.bak")
    with contextlib.suppress(OSError):
        os.replace(backup, older)
    try:
        os.link(path, backup)
    except OSError as exc:
        log.warning("could not back up %s: %s", path, exc.strerror)
        return
    with contextlib.suppress(OSError):
        os.remove(older)
