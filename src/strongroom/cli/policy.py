"""`strongroom policy write|read|list|delete|fmt`: ACL policies.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_errors,
    api_options,
    client,
    format_option,
    output_format,
)
from strongroom.cli.output import render


def _read_source(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise Failure(f"Error opening policy file: {exc.strerror}: {source}", USAGE_EXIT) from None


@click.group(cls=VaultGroup)
def policy() -> None:
    """Write, read, list and delete ACL policies."""


@policy.command()
@api_options
@click.argument("name")
@click.argument("source", metavar="FILE|-")
def write(name: str, source: str) -> None:
    """Upload the policy NAME from FILE (or stdin for -)."""
    text = _read_source(source)
    with api_errors("Error uploading policy"):
        client().write(f"sys/policies/acl/{name.strip().lower()}", {"policy": text})
    click.echo(f"Success! Uploaded policy: {name}")


@policy.command()
@api_options
@format_option
@click.argument("name")
def read(name: str) -> None:
    """Print the rules of the policy NAME."""
    name = name.strip().lower()
    with api_errors(f"Error reading policy named {name}"):
        secret = client().read(f"sys/policies/acl/{name}")
    rules = ((secret or {}).get("data") or {}).get("policy")
    if rules is None:
        raise Failure(f"No policy named: {name}")
    fmt = output_format()
    click.echo(str(rules).strip() if fmt == "table" else render({"policy": rules}, fmt))


@policy.command("list")
@api_options
@format_option
def list_() -> None:
    """List the names of the ACL policies."""
    with api_errors("Error listing policies"):
        secret = client().list("sys/policies/acl")
    names = [str(name) for name in ((secret or {}).get("data") or {}).get("keys") or []]
    fmt = output_format()
    if fmt == "table":
        for name in names:
            click.echo(name)
    else:
        click.echo(render(names, fmt))


@policy.command()
@api_options
@click.argument("name")
def delete(name: str) -> None:
    """Delete the policy NAME."""
    name = name.strip().lower()
    with api_errors(f"Error deleting {name}"):
        client().delete(f"sys/policies/acl/{name}")
    click.echo(f"Success! Deleted policy: {name}")


def format_policy(text: str) -> str:
    """Policy text with tabs as two spaces, no trailing blanks, no runs of blank lines, one final newline."""
    lines = [line.replace("\t", "  ").rstrip() for line in text.splitlines()]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    return joined + "\n"


@policy.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def fmt(file: str) -> None:
    """Rewrite the policy FILE with normalized whitespace."""
    path = Path(file)
    formatted = format_policy(path.read_text(encoding="utf-8"))
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(formatted, encoding="utf-8")
    os.replace(temporary, path)
    click.echo(f"Success! Formatted policy: {file}")
