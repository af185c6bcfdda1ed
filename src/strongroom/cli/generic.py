"""The generic commands that reach any path of the API: read, write, list, delete and path-help.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output`.
"""

from __future__ import annotations

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
    parse_kv_args,
    wrap_option,
)
from strongroom.cli.output import print_field, print_list, print_secret, render, secret_field


def clean_path(path: str) -> str:
    """An API path as typed, without surrounding spaces or a leading slash (nor a `v1/` prefix)."""
    return path.strip().lstrip("/").removeprefix("v1/")


def sanitize_path(path: str) -> str:
    """A path as read/write/list/delete send it: cleaned, and without trailing slashes (Vault's
    sanitizePath; a list's answer does not depend on the slash)."""
    return clean_path(path).rstrip("/")


def show_secret(secret: dict[str, Any]) -> None:
    """A response in the command's -format, or only its -field (exit 1 when the field is missing)."""
    field = output_field()
    if field:
        try:
            value = secret_field(secret, field)
        except KeyError:
            raise Failure(f'Field "{field}" not present in secret', USAGE_EXIT) from None
        print_field(value, output_format())
        return
    print_secret(secret, output_format())


def _params(args: tuple[str, ...]) -> dict[str, str]:
    return {key: str(value) for key, value in parse_kv_args(args).items()}


@click.command(cls=VaultCommand)
@api_options
@wrap_option
@format_option
@field_option
@click.argument("path")
@click.argument("params", nargs=-1)
def read(path: str, params: tuple[str, ...]) -> None:
    """Read data at PATH (KEY=VALUE arguments are sent as query parameters)."""
    path = sanitize_path(path)
    with api_errors(f"Error reading {path}"):
        secret = client().read(path, _params(params) or None)
    if secret is None:
        raise Failure(f"No value found at {path}")
    show_secret(secret)


@click.command(cls=VaultCommand)
@api_options
@wrap_option
@format_option
@field_option
@click.option("-f", "--force", is_flag=True, help="Allow a write with no data.")
@click.argument("path")
@click.argument("data", nargs=-1)
def write(path: str, data: tuple[str, ...], force: bool) -> None:
    """Write KEY=VALUE data to PATH (KEY=@file reads a file, KEY=- stdin, a lone - a JSON object)."""
    path = sanitize_path(path)
    body = parse_kv_args(data)
    if not body and not force:
        raise Failure("Must supply data or use -force", USAGE_EXIT)
    with api_errors(f"Error writing data to {path}"):
        secret = client().write(path, body)
    if secret is None:
        click.echo(f"Success! Data written to: {path}")
        return
    show_secret(secret)


@click.command("list", cls=VaultCommand)
@api_options
@wrap_option
@format_option
@click.argument("path")
def list_(path: str) -> None:
    """List the keys at PATH."""
    path = sanitize_path(path)
    with api_errors(f"Error listing {path}"):
        secret = client().list(path)
    if secret is not None and secret.get("wrap_info"):
        show_secret(secret)
        return
    keys = ((secret or {}).get("data") or {}).get("keys")
    if not keys:
        raise Failure(f"No value found at {path}")
    print_list(keys, output_format())


@click.command(cls=VaultCommand)
@api_options
@click.argument("path")
@click.argument("params", nargs=-1)
def delete(path: str, params: tuple[str, ...]) -> None:
    """Delete data at PATH (KEY=VALUE arguments are sent as query parameters)."""
    path = sanitize_path(path)
    with api_errors(f"Error deleting {path}"):
        client().delete(path, _params(params) or None)
    click.echo(f"Success! Data deleted (if it existed) at: {path}")


@click.command("path-help", cls=VaultCommand)
@api_options
@format_option
@click.argument("path")
def path_help(path: str) -> None:
    """Print the help the server gives for PATH."""
    path = clean_path(path)
    with api_errors("Error retrieving help"):
        body = client().request("GET", path, params={"help": "1"}) or {}
    fmt = output_format()
    click.echo(str(body.get("help", "")) if fmt == "table" else render(body, fmt))
