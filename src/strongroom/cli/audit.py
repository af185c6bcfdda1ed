"""`strongroom audit enable|disable|list|hash|search`: audit devices, and finding a secret in their logs.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

Audit logs hold secrets only as salted HMACs ("hmac-sha256:..."), and only the server knows the salt of each
device. `audit hash` asks the server (sys/audit-hash/<path>) for the HMAC of a value; `audit search` does the
same and prints the log entries that contain it, so an operator can find where a leaked secret was used
without the log ever holding it in the clear.

Invariant: a plaintext value to hash is read from -value, an argument or stdin and leaves this process only
in the body of the sys/audit-hash request; it never appears in an error message or an output line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from strongroom.cli.auth import expect_arguments, mount_path
from strongroom.cli.flags import (
    API_EXIT,
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_options,
    client,
    format_option,
    output_format,
    parse_kv_args,
)
from strongroom.cli.output import GoField, columns, go_struct, print_secret, render
from strongroom.client import ClientError, TransportError

_DEVICE_FIELDS: tuple[GoField, ...] = (
    ("type", "", False),
    ("description", "", False),
    ("options", None, False),
    ("local", False, False),
    ("path", "", False),
)
_METADATA_KEYS = frozenset(
    ("request_id", "lease_id", "lease_duration", "renewable", "data", "wrap_info", "warnings", "auth")
)
_HASH_PATH = "sys/audit-hash/"


@click.group(cls=VaultGroup)
def audit() -> None:
    """Enable, disable and list audit devices; hash values and search audit logs for them."""


@audit.command()
@api_options
@click.option("--path", help="Where to enable the device (the device type when absent).")
@click.option("--description", help="A human-friendly description of the device.")
@click.option("--local", is_flag=True, help="Do not replicate the device.")
@click.argument("args", nargs=-1, metavar="TYPE [KEY=VALUE...]")
def enable(args: tuple[str, ...], path: str | None, description: str | None, local: bool) -> None:
    """Enable an audit device of TYPE with KEY=VALUE options (file_path=... for a file device)."""
    if not args:
        raise Failure(
            "Error enabling audit device: audit type missing. Valid types include 'file', 'socket' and "
            "'syslog'.",
            USAGE_EXIT,
        )
    device_type = args[0].strip()
    device = (path or device_type).strip().rstrip("/") + "/"
    options = {key: str(value) for key, value in parse_kv_args(args[1:]).items()}
    body = {"type": device_type, "description": description or "", "options": options, "local": local}
    _call("Error enabling audit device", "PUT", f"sys/audit/{device.strip('/')}", body)
    click.echo(f"Success! Enabled the {device_type} audit device at: {device}")


@audit.command()
@api_options
@click.argument("args", nargs=-1, metavar="PATH")
def disable(args: tuple[str, ...]) -> None:
    """Disable the audit device at PATH. Its salt is lost: its old log entries can no longer be searched."""
    expect_arguments(args, 1)
    device = mount_path(args[0])
    _call("Error disabling audit device", "DELETE", f"sys/audit/{device.rstrip('/')}")
    click.echo(f"Success! Disabled audit device (if it was enabled) at: {device}")


@audit.command("list")
@api_options
@format_option
@click.option("--detailed", is_flag=True, help="Show replication and options.")
@click.argument("args", nargs=-1, metavar="")
def list_(args: tuple[str, ...], detailed: bool) -> None:
    """List the enabled audit devices."""
    expect_arguments(args, 0)
    body = _call("Error listing audits", "GET", "sys/audit") or {}
    table = body.get("data") or {k: v for k, v in body.items() if k not in _METADATA_KEYS}
    devices = {path: go_struct(table[path], _DEVICE_FIELDS) for path in sorted(table)}
    fmt = output_format()
    if fmt != "table":
        click.echo(render(devices, fmt))
        return
    if not devices:
        click.echo("No audit devices are enabled.")
        click.get_current_context().exit(API_EXIT)
    header: tuple[str, ...] = ("Path", "Type", "Description")
    if detailed:
        header += ("Replication", "Options")
    rows = []
    for path, device in devices.items():
        row: tuple[str, ...] = (path, device["type"], device["description"])
        if detailed:
            options = device["options"] or {}
            row += (
                "local" if device["local"] else "replicated",
                " ".join(f"{key}={options[key]}" for key in sorted(options)),
            )
        rows.append(row)
    click.echo(columns([header, tuple("-" * len(title) for title in header), *rows]))


@audit.command("hash")
@api_options
@format_option
@click.argument("args", nargs=-1, metavar="PATH VALUE|-")
def hash_(args: tuple[str, ...]) -> None:
    """Print the HMAC the audit device at PATH writes for VALUE (- reads the value from stdin)."""
    expect_arguments(args, 2)
    device = mount_path(args[0])
    value = _read_value() if args[1] == "-" else args[1]
    secret = _hash_secret(device, value)
    if output_format() == "table":
        click.echo(_hash_of(secret, device))
        return
    print_secret(secret, output_format())


@audit.command()
@api_options
@click.option("--value", help="The plaintext to look for (safer: a lone - reads it from stdin).")
@click.option(
    "--path", "device", default="file/", show_default=True, help="The audit device that wrote FILE."
)
@click.argument("args", nargs=-1, metavar="[VALUE|-] FILE...")
def search(args: tuple[str, ...], value: str | None, device: str) -> None:
    """Print the entries of the audit log FILEs that hold VALUE, hashed with the device's salt.

    Exit 0 when an entry matched, 1 when none did, 2 when the server or a file could not be read. Entries
    of sys/audit-hash requests (the lookups this command makes) are left out.
    """
    files = list(args)
    if value is None:
        if not files:
            raise Failure("Not enough arguments (expected a value and at least one file, got 0)", USAGE_EXIT)
        value = files.pop(0)
        if value == "-":
            value = _read_value()
    if not files:
        raise Failure("Not enough arguments: give at least one audit log FILE", USAGE_EXIT)
    hashed = _hash_of(_hash_secret(mount_path(device), value), mount_path(device))
    found = 0
    for name in files:
        for line in _matching_lines(name, hashed):
            click.echo(line)
            found += 1
    if not found:
        click.get_current_context().exit(1)


def _read_value() -> str:
    """The value to hash: typed without echo on a terminal, else stdin without its final line break."""
    if sys.stdin.isatty():
        return str(click.prompt("Value (will be hidden)", hide_input=True, err=True))
    text = sys.stdin.read()
    return text.removesuffix("\n").removesuffix("\r")


def _hash_secret(device: str, value: str) -> dict[str, Any]:
    prefix = f"Error hashing with the audit device at {device}"
    secret = _call(prefix, "PUT", f"{_HASH_PATH}{device.rstrip('/')}", {"input": value}, secret=value)
    if secret is None:
        raise Failure(f"{prefix}: the server returned no hash")
    return secret


def _hash_of(secret: dict[str, Any], device: str) -> str:
    hashed = (secret.get("data") or {}).get("hash") or secret.get("hash")
    if not isinstance(hashed, str) or not hashed:
        raise Failure(f"Error hashing with the audit device at {device}: the server returned no hash")
    return hashed


def _matching_lines(name: str, hashed: str) -> Iterator[str]:
    """The lines of the log file `name` whose JSON entry holds the string `hashed` as a value."""
    try:
        with open(name, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if hashed not in line:
                    continue
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if _holds(entry, hashed) and not _is_hash_lookup(entry):
                    yield line.rstrip("\r\n")
    except OSError as exc:
        raise Failure(f"Error reading {name}: {exc.strerror}") from None


def _holds(value: object, wanted: str) -> bool:
    if isinstance(value, str):
        return value == wanted
    if isinstance(value, dict):
        return any(_holds(item, wanted) for item in value.values())
    if isinstance(value, list):
        return any(_holds(item, wanted) for item in value)
    return False


def _is_hash_lookup(entry: object) -> bool:
    request = entry.get("request") if isinstance(entry, dict) else None
    path = request.get("path") if isinstance(request, dict) else None
    return isinstance(path, str) and path.startswith(_HASH_PATH)


def _call(
    prefix: str, method: str, path: str, body: dict[str, Any] | None = None, *, secret: str = ""
) -> dict[str, Any] | None:
    """One request; a server error becomes a Failure (exit 2), with `secret` scrubbed from the server's
    error strings should a server ever echo it."""
    try:
        return client().request(method, path, json=body)
    except TransportError as exc:
        raise Failure(f"{prefix}: {exc}") from None
    except ClientError as exc:
        errors = [error.replace(secret, "[redacted]") for error in exc.errors] if secret else exc.errors
        scrubbed = ClientError(exc.status, errors, method=exc.method, url=exc.url)
        raise Failure(f"{prefix}: {scrubbed}") from None
