"""`strongroom server`: start a server. The one CLI module that imports the server (lazily, from main).

Layer: cli, reaching the composition root by design: starting a server is what this command is for.
"""

from __future__ import annotations

import os

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, VaultCommand
from strongroom.client.token_helper import store_token
from strongroom.core.core import InitResult
from strongroom.server import DevOptions, dev_banner, run_dev, split_address


def _env(*names: str) -> str:
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


@click.command(cls=VaultCommand)
@click.option(
    "--dev", is_flag=True, help="Start an in-memory development server, unsealed, with a root token."
)
@click.option("--dev-root-token-id", default="", help="The root token ID of the dev server.")
@click.option("--dev-listen-address", default="", help="The address the dev server listens on.")
def server(dev: bool, dev_root_token_id: str, dev_listen_address: str) -> None:
    """Start a strongroom server."""
    if not dev:
        raise Failure("server: only -dev mode is available in this version; run `strongroom server -dev`",
                      USAGE_EXIT)  # fmt: skip
    options = DevOptions(
        listen_address=dev_listen_address
        or _env("STRONGROOM_DEV_LISTEN_ADDRESS", "VAULT_DEV_LISTEN_ADDRESS", "BAO_DEV_LISTEN_ADDRESS")
        or "127.0.0.1:8200",
        root_token_id=dev_root_token_id
        or _env("STRONGROOM_DEV_ROOT_TOKEN_ID", "VAULT_DEV_ROOT_TOKEN_ID", "BAO_DEV_ROOT_TOKEN_ID"),
    )
    try:
        split_address(options.listen_address)
    except ValueError as exc:
        raise Failure(f"Error parsing listener configuration: {exc}", USAGE_EXIT) from None

    def ready(address: str, result: InitResult) -> None:
        store_token(result.root_token)
        click.echo(dev_banner(address, result))

    try:
        run_dev(options, ready)
    except OSError as exc:
        raise Failure(f"Error initializing listener: {exc}", USAGE_EXIT) from None
