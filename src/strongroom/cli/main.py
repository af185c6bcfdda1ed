"""The `strongroom` command: the root click group, its subcommands, and the process exit codes.

Layer: cli. Imports click and the cli command modules; the `server` and `agent` commands are imported only
when run, so the client side of the CLI never loads the server or the agent, nor a server the agent.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from strongroom import __version__
from strongroom.cli import (
    audit,
    auth,
    generic,
    kv,
    lease,
    login,
    operator,
    policy,
    run,
    secret,
    secrets,
    status,
    token,
    unwrap,
)
from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand, VaultGroup


class _Lazy(VaultCommand):
    """Stands for the command `target` ("module:attribute") and hands every invocation to it, imported on
    use."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        super().__init__(name, help=help_text)
        self._target = target

    def _real(self) -> click.Command:
        module, _, attribute = self._target.partition(":")
        command = getattr(importlib.import_module(module), attribute, None)
        if not isinstance(command, click.Command):
            raise Failure(f"the {self.name} command is not available in this installation", USAGE_EXIT)
        return command

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return self._real().make_context(info_name, args, parent=parent, **extra)

    def get_help(self, ctx: click.Context) -> str:
        return self._real().get_help(ctx)


@click.group(cls=VaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-v", prog_name="strongroom")
def cli() -> None:
    """strongroom: a secrets manager that speaks the Vault HTTP API."""


cli.add_command(_Lazy("server", "strongroom.cli.server:server", "Start a strongroom server."))
cli.add_command(status.status)
cli.add_command(login.login)
cli.add_command(generic.read)
cli.add_command(generic.write)
cli.add_command(generic.list_)
cli.add_command(generic.delete)
cli.add_command(generic.path_help)
cli.add_command(kv.kv)
cli.add_command(secrets.secrets)
cli.add_command(policy.policy)
cli.add_command(token.token)
cli.add_command(operator.operator)
cli.add_command(auth.auth)
cli.add_command(lease.lease)
cli.add_command(unwrap.unwrap)
cli.add_command(audit.audit)
cli.add_command(
    _Lazy(
        "agent",
        "strongroom.cli.agent:agent",
        "Run a strongroom agent (a Vault Agent sidecar) from Vault Agent configuration files.",
    )
)
cli.add_command(secret.secret)
cli.add_command(run.run)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI and exit with Vault's codes: 0 ok, 1 usage or local error, 2 server error."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="strongroom", standalone_mode=False)
    except Failure as exc:
        click.echo(exc.message, err=True)
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        click.echo(exc.format_message(), err=True)
        sys.exit(USAGE_EXIT)
    except click.ClickException as exc:
        click.echo(exc.format_message(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(USAGE_EXIT)
    sys.exit(code if isinstance(code, int) else 0)
