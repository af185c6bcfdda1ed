"""Process-supervisor mode: the top-level `exec` stanza running one child with `env_template` variables.

Layer: agent. Imports stdlib, config.agent_model, the template engine and the sibling `render` module.

    supervisor = Supervisor(config.exec, config.env_templates, on_exit=agent.stop)
    await supervisor.renderer.render(source)   # renders every env_template; starts or restarts the child
    code = await supervisor.close()            # the child's own exit code, or 0 when the agent stopped it

As Vault Agent does: the child starts once every env_template has rendered, with the agent's own
environment plus the rendered variables; when a rendered value changes the child is stopped with
`restart_stop_signal` (SIGKILL after KILL_TIMEOUT seconds) and started again with the new values
(`restart_on_secret_changes = "always"`), or left running ("never"). SIGTERM, SIGINT and SIGHUP sent to
the agent are forwarded to the child (TERM and INT also stop the agent); a child exiting on its own
ends the agent with the child's exit code (128+N for a child killed by signal N, as shells report it).

Signals go to the child's pid only, as Vault Agent sends them for a command given as a list: the child
stays in the agent's process group, so it keeps the terminal (stdin is shared with it) and a child that
is a shell passes signals on itself (or `exec`s its program).

Invariant: rendered values exist only in the child's environment (never in the agent's os.environ) and
are never logged; log lines name variables, the command and pids.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Mapping

from strongroom.agent.render import parse_template
from strongroom.agent.template import Dependency, SecretSource
from strongroom.config.agent_model import EnvTemplate, ExecSupervisor

log = logging.getLogger("strongroom.agent")

# consul-template's child.KillTimeout as Vault Agent sets it: how long a stopped child has to exit.
KILL_TIMEOUT = 30.0
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class EnvironmentRenderer:
    """Every `env_template` as one unit: rendered together, handed to the supervisor when any changed."""

    label = "env_template"

    def __init__(self, templates: tuple[EnvTemplate, ...], supervisor: Supervisor) -> None:
        self._templates = [
            (env.name, parse_template(env, f"env_template[{env.name}]", "env_template")) for env in templates
        ]
        self._supervisor = supervisor
        self.dependencies: frozenset[Dependency] = frozenset()
        self._last: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"EnvironmentRenderer({[name for name, _ in self._templates]!r})"

    async def render(self, source: SecretSource) -> bool:
        """Render every variable; True when the set changed (and the child was then started or restarted)."""
        values: dict[str, str] = {}
        dependencies: set[Dependency] = set()
        for name, template in self._templates:
            rendered = await template.render(source)
            values[name] = rendered.text
            dependencies |= rendered.dependencies
        self.dependencies = frozenset(dependencies)
        if values == self._last:
            return False
        self._last = values
        await self._supervisor.apply(values)
        return True


class Supervisor:
    """Runs the `exec` command as a child, restarts it on new values and mirrors its exit."""

    def __init__(
        self,
        config: ExecSupervisor,
        env_templates: tuple[EnvTemplate, ...],
        *,
        on_exit: Callable[[], None],
        kill_timeout: float = KILL_TIMEOUT,
    ) -> None:
        self._config = config
        self._on_exit = on_exit
        self._kill_timeout = kill_timeout
        self._stop_signal = signal.Signals[config.restart_stop_signal]
        self._process: asyncio.subprocess.Process | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._exit_code: int | None = None
        self._closing = False
        self._handlers_installed = False
        # Built last: parsing the templates may raise, and the renderer needs the supervisor.
        self.renderer = EnvironmentRenderer(env_templates, self)

    async def apply(self, values: Mapping[str, str]) -> None:
        """Start the child with `values`, or restart it when it runs and the policy is "always"."""
        async with self._lock:
            if self._process is not None:
                if self._config.restart_on_secret_changes == "never":
                    log.info(
                        "env_template values changed; not restarting (restart_on_secret_changes = never)"
                    )
                    return
                log.info("env_template values changed; restarting the child (pid %d)", self._process.pid)
                await self._stop_child(self._stop_signal)
            # An agent on its way out (a signal, or a child that ended by itself) starts nothing new.
            if self._exit_code is None and not self._closing:
                await self._start(values)

    async def _start(self, values: Mapping[str, str]) -> None:
        command = self._config.command
        self._install_signal_handlers()
        try:
            process = await asyncio.create_subprocess_exec(*command, env={**os.environ, **values})
        except OSError as exc:
            log.error("exec: cannot start %s: %s", command[0], exc.strerror or type(exc).__name__)
            self._exit_code = 1
            self._on_exit()
            return
        self._process = process
        self._watcher = asyncio.create_task(self._watch(process))
        log.info("exec: started %s (pid %d) with %s", command[0], process.pid, ", ".join(sorted(values)))

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        code = await process.wait()
        # Cancelled before a restart or a stop; reaching here means the child ended on its own.
        self._exit_code = 128 - code if code < 0 else code
        self._process = None
        log.info("exec: child (pid %d) exited with %d", process.pid, self._exit_code)
        self._on_exit()

    async def _stop_child(self, sig: signal.Signals | None) -> None:
        """Signal the child (unless `sig` is None: it already was), wait, then kill it."""
        process = self._process
        if process is None:
            return
        if self._watcher is not None:
            # Not awaited: its only await is the child's exit, so it can no longer report one.
            self._watcher.cancel()
        if sig is not None:
            _signal(process, sig)
        try:
            await asyncio.wait_for(process.wait(), self._kill_timeout)
        except TimeoutError:
            log.warning(
                "exec: child (pid %d) still running after %gs; killing it", process.pid, self._kill_timeout
            )
            _signal(process, signal.SIGKILL)
            await process.wait()
        self._process = self._watcher = None

    def _install_signal_handlers(self) -> None:
        if self._handlers_installed:
            return
        loop = asyncio.get_running_loop()
        for sig in FORWARDED_SIGNALS:
            loop.add_signal_handler(sig, self._forward, sig)
        self._handlers_installed = True

    def _forward(self, sig: signal.Signals) -> None:
        if self._process is not None:
            _signal(self._process, sig)
        if sig in (signal.SIGTERM, signal.SIGINT) and not self._closing:
            self._closing = True
            self._on_exit()

    async def close(self) -> int:
        """Stop a running child; the agent's exit code: the child's when it ended by itself, else 0."""
        forwarded = self._closing
        self._closing = True
        async with self._lock:
            if self._exit_code is not None and not forwarded:
                return self._exit_code
            # A signal already forwarded is not sent twice; a programmatic stop uses the stop signal.
            await self._stop_child(None if forwarded else self._stop_signal)
            return 0


def _signal(process: asyncio.subprocess.Process, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
