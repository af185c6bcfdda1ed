"""`strongroom status`: the seal status and HA mode of the server.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.
Exit codes as the Vault CLI's: 0 unsealed, 2 sealed, 1 the status could not be read.
"""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultCommand,
    api_options,
    client,
    format_option,
    output_format,
)
from strongroom.cli.output import columns, render
from strongroom.client import ClientError

SEALED_EXIT = 2


def seal_status_rows(seal: dict[str, Any], leader: dict[str, Any]) -> list[tuple[str, str]]:
    def text(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value if value is not None else "")

    rows = [
        ("Seal Type", text(seal.get("type"))),
        ("Initialized", text(seal.get("initialized"))),
        ("Sealed", text(seal.get("sealed"))),
        ("Total Shares", text(seal.get("n"))),
        ("Threshold", text(seal.get("t"))),
    ]
    if seal.get("sealed"):
        rows += [
            ("Unseal Progress", f"{seal.get('progress', 0)}/{seal.get('t', 0)}"),
            ("Unseal Nonce", text(seal.get("nonce"))),
        ]
    rows.append(("Version", text(seal.get("version"))))
    for label, key in (("Build Date", "build_date"), ("Commit Date", "commit_date")):
        if seal.get(key):
            rows.append((label, text(seal[key])))
    rows.append(("Storage Type", text(seal.get("storage_type"))))
    if seal.get("cluster_name"):
        rows += [("Cluster Name", text(seal["cluster_name"])), ("Cluster ID", text(seal.get("cluster_id")))]
    rows.append(("HA Enabled", text(bool(leader.get("ha_enabled")))))
    if leader.get("ha_enabled"):
        rows += [
            ("HA Mode", "standby" if not leader.get("is_self") else "active"),
            ("Active Node Address", text(leader.get("leader_address"))),
        ]
    return rows


@click.command(cls=VaultCommand)
@api_options
@format_option
@click.pass_context
def status(ctx: click.Context) -> None:
    """Print the seal status of the server."""
    api = client()
    try:
        seal = api.request("GET", "sys/seal-status") or {}
        leader = {} if seal.get("sealed") else (api.request("GET", "sys/leader") or {})
    except ClientError as exc:
        raise Failure(f"Error checking seal status: {exc}", USAGE_EXIT) from None
    fmt = output_format()
    if fmt == "table":
        click.echo(columns([("Key", "Value"), ("---", "-----"), *seal_status_rows(seal, leader)]))
    else:
        click.echo(render({**seal, "ha_enabled": bool(leader.get("ha_enabled"))}, fmt))
    if seal.get("sealed"):
        ctx.exit(SEALED_EXIT)
