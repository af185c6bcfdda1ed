"""`strongroom unwrap [TOKEN]`: read back a response the server wrapped in a single-use token.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

Invariant: the wrapping token travels in the X-Vault-Token header when the CLI has no token of its own (or
it is that token), otherwise in the request body; never in a URL.
"""

from __future__ import annotations

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultCommand,
    api_errors,
    api_options,
    client,
    field_option,
    format_option,
    output_field,
    output_format,
    wrap_option,
)
from strongroom.cli.generic import show_secret
from strongroom.cli.output import print_list
from strongroom.client import token_from_env


@click.command(cls=VaultCommand)
@api_options
@wrap_option
@format_option
@field_option
@click.argument("args", nargs=-1, metavar="[TOKEN]")
def unwrap(args: tuple[str, ...]) -> None:
    """Unwrap the wrapped response of TOKEN (the CLI's own token when absent) and print it."""
    if len(args) > 1:
        raise Failure(f"Too many arguments (expected 0-1, got {len(args)})", USAGE_EXIT)
    wrapping_token = args[0].strip() if args else ""
    own_token = token_from_env()
    with api_errors("Error unwrapping"):
        if wrapping_token and not own_token:
            secret = client(token=wrapping_token).request("PUT", "sys/wrapping/unwrap")
        elif wrapping_token and wrapping_token != own_token:
            secret = client().request("PUT", "sys/wrapping/unwrap", json={"token": wrapping_token})
        else:
            secret = client().request("PUT", "sys/wrapping/unwrap")
    if secret is None:
        if output_format() == "table":
            click.echo("Successfully unwrapped. There was no data in the wrapped secret.")
        return
    keys = (secret.get("data") or {}).get("keys")
    if not output_field() and isinstance(keys, list):
        print_list(keys, output_format())
        return
    show_secret(secret)
