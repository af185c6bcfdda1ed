"""The `strongroom` command: the root click group, its subcommands, and the process exit codes.

Layer: cli. Imports click and cli.flags; each command's module is imported when that command runs (the
COMMANDS table), so the client side of the CLI never loads the server, nor the server the client.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from strongroom import __version__
from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand, VaultGroup

# Every command: its name, where it lives ("module:attribute"), and its help line for the command list.
# A command's module is imported only when that command runs, so `strongroom server` loads no client
# code and `strongroom kv get` no server or agent code.
COMMANDS = (
    ("server", "strongroom.cli.server:server", "Start a strongroom server."),
    ("status", "strongroom.cli.status:status", "Print the seal status of the server."),
    ("login", "strongroom.cli.login:login", "Authenticate with TOKEN (or stdin for -, or a prompt), or with "
     "-method and its KEY=VALUE credentials, and store the token for later commands."),
    ("read", "strongroom.cli.generic:read",
     "Read data at PATH (KEY=VALUE arguments are sent as query parameters)."),
    ("write", "strongroom.cli.generic:write",
     "Write KEY=VALUE data to PATH (KEY=@file reads a file, KEY=- stdin, a lone - a JSON object)."),
    ("list", "strongroom.cli.generic:list_", "List the keys at PATH."),
    ("delete", "strongroom.cli.generic:delete",
     "Delete data at PATH (KEY=VALUE arguments are sent as query parameters)."),
    ("path-help", "strongroom.cli.generic:path_help", "Print the help the server gives for PATH."),
    ("kv", "strongroom.cli.kv:kv", "Read and write the KV secrets engine (versions 1 and 2)."),
    ("secrets", "strongroom.cli.secrets:secrets", "Enable, disable, list and tune secrets engines."),
    ("policy", "strongroom.cli.policy:policy", "Write, read, list and delete ACL policies."),
    ("token", "strongroom.cli.token:token", "Create, look up, renew and revoke tokens."),
    ("operator", "strongroom.cli.operator:operator",
     "Perform operator-specific tasks: init, unseal, seal, rotate, rekey, generate-root, step-down."),
    ("auth", "strongroom.cli.auth:auth", "Enable, disable, list and tune auth methods."),
    ("lease", "strongroom.cli.lease:lease", "Renew, revoke and look up leases."),
    ("unwrap", "strongroom.cli.unwrap:unwrap",
     "Unwrap the wrapped response of TOKEN (the CLI's own token when absent) and print it."),
    ("audit", "strongroom.cli.audit:audit",
     "Enable, disable and list audit devices; hash values and search audit logs for them."),
    ("agent", "strongroom.cli.agent:agent",
     "Run a strongroom agent (a Vault Agent sidecar) from Vault Agent configuration files."),
    ("proxy", "strongroom.cli.agent:proxy",
     "Run a strongroom proxy (a Vault Proxy: auto-auth, cache and API proxy, no templates)."),
    ("injector", "strongroom.cli.injector:injector",
     "Run the Kubernetes agent injector: a mutating admission webhook adding agent containers to pods."),
    ("secret", "strongroom.cli.secret:secret",
     "Manage Docker-style secrets, delivered to programs by `strongroom run`."),
    ("run", "strongroom.cli.run:run",
     "Run CMD in a private mount namespace with the secrets as files in /run/secrets."),
    ("scan", "strongroom.cli.scan:scan",
     "Find secrets in files or an image (Dockerfiles, compose, .env, token formats); -fix moves them."),
)  # fmt: skip


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


for _name, _target, _help in COMMANDS:
    cli.add_command(_Lazy(_name, _target, _help))


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
