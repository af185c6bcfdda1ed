"""`strongroom token create|lookup|renew|revoke|capabilities`: the token store.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

Invariant: a token given on the command line travels in a request body, never in a URL.
"""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_errors,
    api_options,
    client,
    field_option,
    format_option,
    output_format,
    parse_kv_args,
    split_list,
    wrap_option,
)
from strongroom.cli.generic import show_secret
from strongroom.cli.output import render


@click.group(cls=VaultGroup)
def token() -> None:
    """Create, look up, renew and revoke tokens."""


@token.command()
@api_options
@wrap_option
@format_option
@field_option
@click.option("--policy", "policies", multiple=True, help="A policy for the token, repeatable.")
@click.option("--ttl", help="Initial TTL of the token.")
@click.option("--explicit-max-ttl", help="Hard maximum lifetime of the token.")
@click.option("--period", help="Make a periodic token renewed by this period.")
@click.option("--use-limit", type=int, help="Number of uses before the token is revoked.")
@click.option("--orphan", is_flag=True, help="Create the token without a parent.")
@click.option("--renewable/--no-renewable", default=None, help="Whether the token can be renewed.")
@click.option("--display-name", help="A name for the token.")
@click.option("--metadata", multiple=True, help="KEY=VALUE metadata, repeatable.")
@click.option("--type", "token_type", help="service or batch.")
@click.option("--role", help="Create the token against this token role.")
@click.option("--id", "token_id", help="The token's value (root only).")
@click.option("--no-default-policy", is_flag=True, help="Do not attach the default policy.")
def create(
    *,
    policies: tuple[str, ...],
    ttl: str | None,
    explicit_max_ttl: str | None,
    period: str | None,
    use_limit: int | None,
    orphan: bool,
    renewable: bool | None,
    display_name: str | None,
    metadata: tuple[str, ...],
    token_type: str | None,
    role: str | None,
    token_id: str | None,
    no_default_policy: bool,
) -> None:
    """Create a new token."""
    body: dict[str, Any] = {}
    for key, value in (
        ("policies", split_list(policies) or None),
        ("ttl", ttl),
        ("explicit_max_ttl", explicit_max_ttl),
        ("period", period),
        ("num_uses", use_limit),
        ("renewable", renewable),
        ("display_name", display_name),
        ("meta", {k: str(v) for k, v in parse_kv_args(metadata).items()} or None),
        ("type", token_type),
        ("id", token_id),
    ):
        if value is not None:
            body[key] = value
    if no_default_policy:
        body["no_default_policy"] = True
    if orphan:
        body["no_parent"] = True
    path = (
        f"auth/token/create/{role}" if role else "auth/token/create-orphan" if orphan else "auth/token/create"
    )
    with api_errors("Error creating token"):
        secret = client().request("POST", path, json=body)
    show_secret(secret or {})


@token.command()
@api_options
@wrap_option
@format_option
@field_option
@click.option("--accessor", is_flag=True, help="TOKEN is an accessor.")
@click.argument("value", metavar="[TOKEN]", required=False)
def lookup(value: str | None, accessor: bool) -> None:
    """Print the properties of a token (the current one when TOKEN is absent)."""
    with api_errors("Error looking up token"):
        if accessor:
            if not value:
                raise Failure("Not enough arguments (expected 1, got 0)", USAGE_EXIT)
            secret = client().request("POST", "auth/token/lookup-accessor", json={"accessor": value})
        elif value:
            secret = client().request("POST", "auth/token/lookup", json={"token": value})
        else:
            secret = client().request("GET", "auth/token/lookup-self")
    show_secret(secret or {})


@token.command()
@api_options
@format_option
@field_option
@click.option("--increment", "-i", help="The TTL to request for the token.")
@click.argument("value", metavar="[TOKEN]", required=False)
def renew(value: str | None, increment: str | None) -> None:
    """Renew a token (the current one when TOKEN is absent)."""
    body: dict[str, Any] = {"increment": increment} if increment else {}
    with api_errors("Error renewing token"):
        if value:
            secret = client().request("PUT", "auth/token/renew", json={"token": value, **body})
        else:
            secret = client().request("PUT", "auth/token/renew-self", json=body)
    show_secret(secret or {})


@token.command()
@api_options
@click.option("--self", "self_", is_flag=True, help="Revoke the current token.")
@click.option("--accessor", is_flag=True, help="TOKEN is an accessor.")
@click.option("--mode", type=click.Choice(["", "orphan"]), default="", help="orphan: keep the children.")
@click.argument("value", metavar="[TOKEN]", required=False)
def revoke(value: str | None, self_: bool, accessor: bool, mode: str) -> None:
    """Revoke a token and, unless -mode=orphan, all its children."""
    if self_ and value:
        raise Failure("Too many arguments (expected 0, got 1)", USAGE_EXIT)
    if not self_ and not value:
        raise Failure("Not enough arguments (expected 1, got 0)", USAGE_EXIT)
    with api_errors("Error revoking token"):
        if self_:
            client().request("PUT", "auth/token/revoke-self")
        elif accessor:
            client().request("PUT", "auth/token/revoke-accessor", json={"accessor": value})
        elif mode == "orphan":
            client().request("PUT", "auth/token/revoke-orphan", json={"token": value})
        else:
            client().request("PUT", "auth/token/revoke", json={"token": value})
    click.echo("Success! Revoked token (if it existed)")


@token.command()
@api_options
@format_option
@click.argument("args", nargs=-1, metavar="[TOKEN] PATH")
def capabilities(args: tuple[str, ...]) -> None:
    """Print what a token (the current one when TOKEN is absent) may do on PATH."""
    if not 1 <= len(args) <= 2:
        raise Failure(f"Expected 1 or 2 arguments, got {len(args)}", USAGE_EXIT)
    path = args[-1]
    with api_errors("Error checking capabilities"):
        if len(args) == 2:
            body = {"token": args[0], "paths": [path]}
            secret = client().request("POST", "sys/capabilities", json=body)
        else:
            secret = client().request("POST", "sys/capabilities-self", json={"paths": [path]})
    data = (secret or {}).get("data") or secret or {}
    found = sorted(str(item) for item in data.get(path) or data.get("capabilities") or [])
    fmt = output_format()
    click.echo(", ".join(found) if fmt == "table" else render(found, fmt))
