"""`strongroom secrets enable|disable|list|tune`: the mount table of secrets engines.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.
"""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.flags import (
    VaultGroup,
    api_errors,
    api_options,
    client,
    format_option,
    output_format,
    parse_kv_args,
)
from strongroom.cli.output import columns, go_value, human_duration, render

_METADATA_KEYS = (
    "request_id",
    "lease_id",
    "lease_duration",
    "renewable",
    "data",
    "wrap_info",
    "warnings",
    "auth",
)


def _mount_path(path: str) -> str:
    return path.strip().strip("/") + "/"


def _config(default_lease_ttl: str | None, max_lease_ttl: str | None) -> dict[str, str]:
    config = {}
    if default_lease_ttl is not None:
        config["default_lease_ttl"] = default_lease_ttl
    if max_lease_ttl is not None:
        config["max_lease_ttl"] = max_lease_ttl
    return config


def _options(pairs: tuple[str, ...], version: int | None) -> dict[str, Any]:
    options = {key: str(value) for key, value in parse_kv_args(pairs).items()}
    if version is not None:
        options["version"] = str(version)
    return options


@click.group(cls=VaultGroup)
def secrets() -> None:
    """Enable, disable, list and tune secrets engines."""


@secrets.command()
@api_options
@click.option("--path", help="Where to mount the engine (the engine type when absent).")
@click.option("--description", help="A human-friendly description of the mount.")
@click.option("--version", "version", type=int, help="The KV version (1 or 2) for a kv engine.")
@click.option("--default-lease-ttl", help="Default lease TTL for the mount.")
@click.option("--max-lease-ttl", help="Maximum lease TTL for the mount.")
@click.option("--options", "pairs", multiple=True, help="KEY=VALUE engine options, repeatable.")
@click.option("--local", is_flag=True, help="Do not replicate the mount.")
@click.option("--seal-wrap", is_flag=True, help="Seal-wrap the mount's critical values.")
@click.argument("engine_type", metavar="TYPE")
def enable(
    *,
    engine_type: str,
    path: str | None,
    description: str | None,
    version: int | None,
    default_lease_ttl: str | None,
    max_lease_ttl: str | None,
    pairs: tuple[str, ...],
    local: bool,
    seal_wrap: bool,
) -> None:
    """Enable a secrets engine of TYPE."""
    mount = _mount_path(path or engine_type)
    body: dict[str, Any] = {"type": engine_type, "description": description or ""}
    body["config"] = _config(default_lease_ttl, max_lease_ttl)
    body["options"] = _options(pairs, version)
    if local:
        body["local"] = True
    if seal_wrap:
        body["seal_wrap"] = True
    with api_errors("Error enabling"):
        client().request("POST", f"sys/mounts/{mount.rstrip('/')}", json=body)
    click.echo(f"Success! Enabled the {engine_type} secrets engine at: {mount}")


@secrets.command()
@api_options
@click.argument("path")
def disable(path: str) -> None:
    """Disable the secrets engine mounted at PATH, deleting its data."""
    mount = _mount_path(path)
    with api_errors(f"Error disabling secrets engine at {mount}"):
        client().delete(f"sys/mounts/{mount.rstrip('/')}")
    click.echo(f"Success! Disabled the secrets engine (if it existed) at: {mount}")


@secrets.command()
@api_options
@click.option("--description", help="A new description.")
@click.option("--version", "version", type=int, help="Upgrade a kv mount to this version.")
@click.option("--default-lease-ttl", help="Default lease TTL for the mount.")
@click.option("--max-lease-ttl", help="Maximum lease TTL for the mount.")
@click.option("--options", "pairs", multiple=True, help="KEY=VALUE engine options, repeatable.")
@click.argument("path")
def tune(
    *,
    path: str,
    description: str | None,
    version: int | None,
    default_lease_ttl: str | None,
    max_lease_ttl: str | None,
    pairs: tuple[str, ...],
) -> None:
    """Change the settings of the secrets engine at PATH."""
    mount = _mount_path(path)
    body: dict[str, Any] = dict(_config(default_lease_ttl, max_lease_ttl))
    if description is not None:
        body["description"] = description
    options = _options(pairs, version)
    if options:
        body["options"] = options
    with api_errors(f"Error tuning secrets engine {mount}"):
        client().request("POST", f"sys/mounts/{mount.rstrip('/')}/tune", json=body)
    click.echo(f"Success! Tuned the secrets engine at: {mount}")


def _ttl(mount: dict[str, Any], key: str) -> str:
    if mount.get("type") in ("cubbyhole", "system"):
        return ""
    value = (mount.get("config") or {}).get(key) or 0
    return "system" if not value else go_value(human_duration(value))


@secrets.command("list")
@api_options
@format_option
@click.option("--detailed", is_flag=True, help="Show TTLs, options and other details.")
def list_(detailed: bool) -> None:
    """List the enabled secrets engines."""
    with api_errors("Error listing secrets engines"):
        body = client().request("GET", "sys/mounts") or {}
    mounts = body.get("data") or {k: v for k, v in body.items() if k not in _METADATA_KEYS}
    fmt = output_format()
    if fmt != "table":
        click.echo(render({path: mounts[path] for path in sorted(mounts)}, fmt))
        return
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    if detailed:
        header = (
            "Path",
            "Plugin",
            "Accessor",
            "Default TTL",
            "Max TTL",
            "Replication",
            "Seal Wrap",
            "Options",
        )
        header += ("Description", "UUID")
        rows = [
            (
                path,
                str(mount.get("type", "")),
                str(mount.get("accessor", "")),
                _ttl(mount, "default_lease_ttl"),
                _ttl(mount, "max_lease_ttl"),
                "local" if mount.get("local") else "replicated",
                go_value(bool(mount.get("seal_wrap"))),
                go_value(mount.get("options") or {}),
                str(mount.get("description", "")),
                str(mount.get("uuid", "")),
            )
            for path, mount in sorted(mounts.items())
        ]
    else:
        header = ("Path", "Type", "Accessor", "Description")
        rows = [
            (path, str(m.get("type", "")), str(m.get("accessor", "")), str(m.get("description", "")))
            for path, m in sorted(mounts.items())
        ]
    click.echo(columns([header, tuple("-" * len(title) for title in header), *rows]))
