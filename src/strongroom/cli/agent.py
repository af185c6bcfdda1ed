"""`strongroom agent -config=F [-config=G | DIR] -check`: lint a Vault Agent configuration for CI.

Layer: cli. Imports click, cli.flags and config.

With -check the command reads the config files, applies every rule of `config.agent`, and exits 0
printing only its notices (warnings, on stderr; nothing on stdout), or 1 printing each problem on its
own line as `file:line: message`. It connects nowhere and touches no file the config names. Without
-check it says the agent runner is not available in this version and exits 1, so nobody takes a
missing runner for a working one.
"""

from __future__ import annotations

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand
from strongroom.config.agent import AgentConfigError, load_agent_config


@click.command(cls=VaultCommand)
@click.option("--config", "configs", multiple=True, help="A config file or directory; may be repeated.")
@click.option("--check", is_flag=True, help="Validate the configuration and exit; connects nowhere.")
def agent(configs: tuple[str, ...], check: bool) -> None:
    """Run a strongroom agent (a Vault Agent sidecar) from Vault Agent configuration files."""
    if not check:
        raise Failure(
            "strongroom agent: the agent runner is not available in this version; "
            "only -check (validate a configuration) is",
            USAGE_EXIT,
        )
    if not configs:
        raise Failure("No configuration files found. Use -config=FILE or -config=DIR.", USAGE_EXIT)
    try:
        config = load_agent_config(configs)
    except AgentConfigError as exc:
        for notice in exc.notices:
            click.echo(f"warning: {notice}", err=True)
        raise Failure("\n".join(exc.reasons), USAGE_EXIT) from None
    for notice in config.notices:
        click.echo(f"warning: {notice}", err=True)
