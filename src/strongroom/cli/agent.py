"""`strongroom agent -config=F [-config=G | DIR] [-check]`: run a Vault Agent sidecar, or lint its config;
`strongroom proxy` the same for a Vault Proxy (auto-auth, cache, API proxy and listeners, no templates).

Layer: cli. Imports click, cli.flags, config and agent.runner.

With -check the command reads the config files, applies every rule of `config.agent`, and exits 0
printing only its notices (warnings, on stderr; nothing on stdout), or 1 printing each problem on its
own line as `file:line: message`. It connects nowhere and touches no file the config names. Without
-check it runs the agent (`strongroom.agent.runner`): logs go to stderr, SIGTERM and SIGINT stop it
cleanly (exit 0), and `pid_file` holds its pid while it runs.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import click

from strongroom.agent.files import write_atomic
from strongroom.agent.render import RenderError
from strongroom.agent.runner import Agent
from strongroom.agent.template import TemplateError
from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand
from strongroom.config.agent import AgentConfigError, load_agent_config, load_proxy_config
from strongroom.config.agent_model import AgentConfig


@click.command(cls=VaultCommand)
@click.option("--config", "configs", multiple=True, help="A config file or directory; may be repeated.")
@click.option("--check", is_flag=True, help="Validate the configuration and exit; connects nowhere.")
def agent(configs: tuple[str, ...], check: bool) -> None:
    """Run a strongroom agent (a Vault Agent sidecar) from Vault Agent configuration files."""
    _start("agent", load_agent_config, configs, check)


@click.command(cls=VaultCommand)
@click.option("--config", "configs", multiple=True, help="A config file or directory; may be repeated.")
@click.option("--check", is_flag=True, help="Validate the configuration and exit; connects nowhere.")
def proxy(configs: tuple[str, ...], check: bool) -> None:
    """Run a strongroom proxy (a Vault Proxy: auto-auth, cache and API proxy) from Vault Proxy configuration
    files."""
    _start("proxy", load_proxy_config, configs, check)


def _start(
    name: str, load: Callable[[Sequence[str]], AgentConfig], configs: tuple[str, ...], check: bool
) -> None:
    if not configs:
        raise Failure("No configuration files found. Use -config=FILE or -config=DIR.", USAGE_EXIT)
    try:
        config = load(configs)
    except AgentConfigError as exc:
        for notice in exc.notices:
            click.echo(f"warning: {notice}", err=True)
        raise Failure("\n".join(exc.reasons), USAGE_EXIT) from None
    for notice in config.notices:
        click.echo(f"warning: {notice}", err=True)
    if check:
        return
    if config.auto_auth is None and not config.listeners:
        raise Failure(f"strongroom {name}: the runner needs an auto_auth stanza or a listener", USAGE_EXIT)
    logging.basicConfig(
        level=getattr(logging, config.log_level.upper(), logging.INFO),
        format="%(asctime)s [%(levelname)s] %(name)s: %(message)s",
    )
    # httpx logs every request's URL at INFO; the agent's own lines say what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # The native HTTP server (the API proxy's listeners) logs workers starting and stopping at INFO.
    logging.getLogger("_granian").setLevel(logging.WARNING)
    code = asyncio.run(_run(config))
    if code:
        raise Failure(f"strongroom {name}: exiting after a failure (see the log above)", code)
    # Everything is closed and written by now. Interpreter shutdown is skipped: a granian worker thread
    # still winding down then may reach into a finalizing interpreter, which panics in native code and
    # aborts the process (seen as SIGABRT after a clean stop under load).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


async def _run(config: AgentConfig) -> int:
    try:
        agent_ = Agent(config)
    except (TemplateError, RenderError) as exc:
        click.echo(f"error: {exc}", err=True)
        return USAGE_EXIT
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent_.stop)
    pid_file = Path(config.pid_file) if config.pid_file else None
    if pid_file is not None:
        # Owner-only as OpenBao's agent writes it, whatever the umask.
        write_atomic(str(pid_file), f"{os.getpid()}\n".encode(), 0o600)
    try:
        return await agent_.run()
    finally:
        if pid_file is not None:
            pid_file.unlink(missing_ok=True)
