"""`strongroom run -secret=NAME[,target=T,uid=U,gid=G,mode=M] ... -- CMD ARGS...`: run a program with
Docker-style secrets on a private tmpfs at /run/secrets.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.secrets` (the variable naming the app side
reads) and `strongroom.delivery` (which reaches the server only through the client).

Order: parse every request, check that a private mount namespace can be had, fetch every value over the
API, and only then start the command, so a refusal leaves nothing half delivered. The command gets
NAME_FILE=<path> for each secret (NAME from the secret's name), loses the *_TOKEN variables (it holds
its secrets now, not the right to ask for more), and its exit code becomes strongroom's.

Invariant: values reach the command only as files on its private tmpfs; never its environment or argv.
"""

from __future__ import annotations

import os

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand, api_errors, api_options, client
from strongroom.client.client import TOKEN_VARIABLES
from strongroom.delivery import namespace
from strongroom.delivery.namespace import Delivery, LaunchFailed, NamespaceUnavailable
from strongroom.delivery.spec import SpecError, parse_requests
from strongroom.delivery.store import SecretNotFound, SecretStore
from strongroom.secrets import file_variable


@click.command(cls=VaultCommand)
@api_options
@click.option(
    "--secret", "secrets", multiple=True, help="A secret to deliver: NAME[,target=,uid=,gid=,mode=]."
)
@click.argument("command", nargs=-1, required=True, metavar="-- CMD [ARGS...]")
@click.pass_context
def run(ctx: click.Context, secrets: tuple[str, ...], command: tuple[str, ...]) -> None:
    """Run CMD in a private mount namespace with the secrets as files in /run/secrets."""
    try:
        requests = parse_requests(secrets)
    except SpecError as exc:
        raise Failure(f'invalid argument for "--secret" flag: {exc}', USAGE_EXIT) from None
    try:
        namespace.check_available()
        store = SecretStore(client())
        with api_errors():
            deliveries = [Delivery(request, store.fetch(request.source)) for request in requests]
    except NamespaceUnavailable as exc:
        raise Failure(f"Error: {exc}", USAGE_EXIT) from None
    except SecretNotFound as exc:
        raise Failure(f"Error: {exc}", USAGE_EXIT) from None
    client().close()
    environ = {key: value for key, value in os.environ.items() if key not in TOKEN_VARIABLES}
    environ |= {file_variable(item.request.source): item.request.path for item in deliveries}
    try:
        code = namespace.run(deliveries, command, environ)
    except NamespaceUnavailable as exc:
        raise Failure(f"Error: {exc}", USAGE_EXIT) from None
    except LaunchFailed as exc:
        raise Failure(f"Error: {exc}", exc.exit_code) from None
    ctx.exit(code)
