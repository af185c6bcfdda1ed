"""`strongroom secret create|ls|inspect|rm`: Docker-style secrets, with `docker secret`'s rules and output.

Layer: cli. Imports click, `strongroom.cli.flags` and `strongroom.delivery.store` (which reaches the server
only through the client).

Output copies the Docker CLI: `create` prints the new ID; `ls` a table (ID NAME DRIVER CREATED UPDATED,
Go tabwriter spacing, ages as Docker's "N minutes ago"); `inspect` a JSON array indented by four spaces;
`rm` each removed name. Refusals are worded as Docker's daemon words them and exit 1; errors of the API
itself (permission denied, sealed) exit 2 as every other strongroom command.

Invariant: no command here prints a secret's value; only `create` reads one, and only to store it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, VaultGroup, api_errors, api_options, client
from strongroom.delivery.store import SecretNotFound, SecretRecord, SecretStore, SecretStoreError

_TAB_MIN_WIDTH = 10
_TAB_PADDING = 3


@contextmanager
def _daemon_errors() -> Iterator[None]:
    with api_errors():
        try:
            yield
        except SecretNotFound as exc:
            raise Failure(f"Error: {exc}", USAGE_EXIT) from None
        except SecretStoreError as exc:
            message = f"Error response from daemon: rpc error: code = {exc.code} desc = {exc}"
            raise Failure(message, USAGE_EXIT) from None


def _labels(values: Sequence[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for value in values:
        key, equals, label = value.partition("=")
        if not equals or not key:
            raise Failure(
                f'invalid argument "{value}" for "-l, --label" flag: bad attribute format: {value}',
                USAGE_EXIT,
            )
        labels[key] = label
    return labels


def human_duration(seconds: float) -> str:
    """An age as Docker prints it (go-units HumanDuration)."""
    whole = int(seconds)
    minutes, hours = int(seconds / 60), int(seconds / 3600 + 0.5)
    if whole < 1:
        return "Less than a second"
    if whole < 60:
        return "1 second" if whole == 1 else f"{whole} seconds"
    if minutes < 60:
        return "About a minute" if minutes == 1 else f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def _age(timestamp: str, now: datetime) -> str:
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return human_duration((now - moment).total_seconds()) + " ago"


def tabwriter(rows: Sequence[Sequence[str]]) -> str:
    """Rows aligned as Go's tabwriter (minwidth 10, padding 3) aligns Docker's tables."""
    widths = [
        max(_TAB_MIN_WIDTH, max(len(row[index]) for row in rows) + _TAB_PADDING)
        for index in range(len(rows[0]) - 1)
    ]
    return "\n".join(
        "".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + row[-1] for row in rows
    )


def ls_table(records: Sequence[SecretRecord], now: datetime) -> str:
    """`docker secret ls`'s table."""
    rows = [("ID", "NAME", "DRIVER", "CREATED", "UPDATED")]
    rows += [
        (record.id, record.name, "", _age(record.created_at, now), _age(record.updated_at, now))
        for record in records
    ]
    return tabwriter(rows)


@click.group(cls=VaultGroup)
def secret() -> None:
    """Manage Docker-style secrets, delivered to programs by `strongroom run`."""


@secret.command()
@api_options
@click.option("--label", "-l", "labels", multiple=True, help="Secret labels (key=value), repeatable.")
@click.argument("name")
@click.argument("source", metavar="FILE|-")
def create(name: str, source: str, labels: tuple[str, ...]) -> None:
    """Create a secret from FILE, or from stdin for -; prints its ID."""
    parsed = _labels(labels)
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise Failure(f"open {source}: {(exc.strerror or 'error').lower()}", USAGE_EXIT) from None
    with _daemon_errors():
        record = SecretStore(client()).create(name, data, parsed)
    click.echo(record.id)


@secret.command()
@api_options
@click.option("--quiet", "-q", is_flag=True, help="Only display IDs.")
def ls(quiet: bool) -> None:
    """List secrets."""
    with _daemon_errors():
        records = SecretStore(client()).list()
    if quiet:
        for record in records:
            click.echo(record.id)
        return
    click.echo(ls_table(records, datetime.now(UTC)))


secret.add_command(ls, "list")


@secret.command()
@api_options
@click.argument("names", nargs=-1, required=True, metavar="SECRET...")
def inspect(names: tuple[str, ...]) -> None:
    """Display detailed information on one or more secrets, by name or ID."""
    store = SecretStore(client())
    found: list[dict[str, object]] = []
    missing: list[str] = []
    for name in names:
        try:
            with api_errors():
                found.append(store.inspect(name).inspect())
        except SecretNotFound as exc:
            missing.append(f"Error: {exc}")
    click.echo(json.dumps(found, indent=4))
    if missing:
        raise Failure("\n".join(missing), USAGE_EXIT)


@secret.command()
@api_options
@click.argument("names", nargs=-1, required=True, metavar="SECRET...")
def rm(names: tuple[str, ...]) -> None:
    """Remove one or more secrets, by name or ID; prints each one removed."""
    store = SecretStore(client())
    errors: list[str] = []
    for name in names:
        try:
            with api_errors():
                store.remove(name)
        except SecretNotFound as exc:
            errors.append(f"Error: {exc}")
            continue
        click.echo(name)
    if errors:
        raise Failure("\n".join(errors), USAGE_EXIT)


secret.add_command(rm, "remove")
