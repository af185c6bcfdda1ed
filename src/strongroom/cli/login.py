"""`strongroom login [TOKEN]`: check a token and store it in ~/.strongroom-token for later commands.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

Invariant: the token is verified (lookup-self) before it is stored, stored with mode 0600 atomically, and
printed only when asked for (-field=token, or -format=json|yaml).
"""

from __future__ import annotations

import os
import sys
from typing import Any

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
)
from strongroom.cli.generic import show_secret
from strongroom.cli.output import key_value_table, secret_rows
from strongroom.client import store_token
from strongroom.client.client import TOKEN_VARIABLES


def _auth_response(value: str, lookup: dict[str, Any]) -> dict[str, Any]:
    data = lookup.get("data") or {}
    auth = {
        "client_token": value,
        "accessor": data.get("accessor", ""),
        "policies": data.get("policies"),
        "token_policies": data.get("policies"),
        "identity_policies": data.get("identity_policies"),
        "metadata": data.get("meta"),
        "orphan": data.get("orphan", False),
        "entity_id": data.get("entity_id", ""),
        "lease_duration": data.get("ttl", 0),
        "renewable": data.get("renewable", False),
    }
    return {"request_id": lookup.get("request_id", ""), "data": None, "warnings": None, "auth": auth}


def _token_argument(value: str | None) -> str:
    if value == "-":
        return sys.stdin.read().strip()
    if value:
        return value.strip()
    return str(click.prompt("Token (will be hidden)", hide_input=True, err=True)).strip()


@click.command(cls=VaultCommand)
@api_options
@format_option
@field_option
@click.option("--method", default="token", help="The auth method; only token is supported.")
@click.option("--no-store", is_flag=True, help="Do not store the token in the token file.")
@click.argument("value", metavar="[TOKEN]", required=False)
def login(value: str | None, method: str, no_store: bool) -> None:
    """Authenticate with TOKEN (or stdin for -, or a prompt) and store it for later commands."""
    if method != "token":
        raise Failure(f'Unknown auth method: {method}. Only "token" is supported.', USAGE_EXIT)
    secret_value = _token_argument(value)
    if not secret_value:
        raise Failure("Error authenticating: no token given", USAGE_EXIT)
    with api_errors("Error authenticating"):
        lookup = client(token=secret_value).request("GET", "auth/token/lookup-self") or {}
    response = _auth_response(secret_value, lookup)
    if not no_store:
        store_token(secret_value)
    if output_field() or output_format() != "table":
        show_secret(response)
        return
    if any(os.environ.get(name) for name in TOKEN_VARIABLES):
        click.echo(
            "WARNING! A token environment variable (STRONGROOM_TOKEN, VAULT_TOKEN or BAO_TOKEN) is set; it "
            "takes precedence over the stored token.",
            err=True,
        )
    if no_store:
        click.echo("The token was not stored. Pass it with each request in STRONGROOM_TOKEN.\n")
    else:
        click.echo(
            "Success! You are now authenticated. The token is stored in the token file;\n"
            "future requests will use it automatically.\n"
        )
    click.echo(key_value_table(row for row in secret_rows(response) if row[0] != "token"))
