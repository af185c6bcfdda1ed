"""`strongroom lease renew|revoke|lookup`: the leases of dynamic secrets (sys/leases).

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

A lease ID travels in the request body (renew, lookup) or in the path of the revoke endpoints, as the Vault
CLI sends it (without a trailing slash: Go's client cleans request paths); lease IDs name secrets, they are
not secrets themselves.
"""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.auth import expect_arguments
from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_errors,
    api_options,
    client,
    duration_flag,
    field_option,
    format_option,
)
from strongroom.cli.generic import show_secret

_FORCE_WARNING = "Warning! Force-removing leases can cause Vault to become out of sync with\nsecret engines!"


@click.group(cls=VaultGroup)
def lease() -> None:
    """Renew, revoke and look up leases."""


def _lease_id(args: tuple[str, ...]) -> str:
    if not args:
        raise Failure("Missing ID!", USAGE_EXIT)
    return args[0].strip()


@lease.command()
@api_options
@format_option
@field_option
@click.option(
    "--increment",
    "-i",
    callback=duration_flag("increment"),
    help="The TTL to request for the lease; the server need not honour it.",
)
@click.argument("args", nargs=-1, metavar="LEASE_ID")
def renew(args: tuple[str, ...], increment: int | None) -> None:
    """Renew the lease LEASE_ID, extending the life of its secret."""
    if len(args) > 1:
        raise Failure(f"Too many arguments (expected 1-2, got {len(args)})", USAGE_EXIT)
    lease_id = _lease_id(args)
    with api_errors(f"Error renewing {lease_id}"):
        secret = client().request(
            "PUT", "sys/leases/renew", json={"increment": increment or 0, "lease_id": lease_id}
        )
    if secret is not None:
        show_secret(secret)


@lease.command()
@api_options
@click.option("--prefix", is_flag=True, help="Treat LEASE_ID as a prefix and revoke every lease under it.")
@click.option(
    "-f", "--force", is_flag=True, help="With -prefix: delete the leases even when revocation fails."
)
@click.option("--sync", is_flag=True, help="Wait for the revocation to finish instead of queueing it.")
@click.argument("args", nargs=-1, metavar="LEASE_ID")
def revoke(args: tuple[str, ...], prefix: bool, force: bool, sync: bool) -> None:
    """Revoke the lease LEASE_ID (or, with -prefix, every lease whose ID starts with it)."""
    if force and not prefix:
        raise Failure("Specifying -force requires also specifying -prefix", USAGE_EXIT)
    expect_arguments(args, 1)
    lease_id = args[0].strip()
    body: dict[str, Any] = {"sync": sync}
    if force:
        click.echo(_FORCE_WARNING, err=True)
        with api_errors(f"Error force revoking leases with prefix {lease_id}"):
            client().request("PUT", f"sys/leases/revoke-force/{lease_id.rstrip('/')}")
        click.echo(f"Success! Force revoked any leases with prefix: {lease_id}")
        return
    if prefix:
        with api_errors(f"Error revoking leases with prefix {lease_id}"):
            client().request("PUT", f"sys/leases/revoke-prefix/{lease_id.rstrip('/')}", json=body)
        done = f"Success! Revoked any leases with prefix: {lease_id}"
    else:
        with api_errors(f"Error revoking lease {lease_id}"):
            client().request("PUT", f"sys/leases/revoke/{lease_id.rstrip('/')}", json=body)
        done = f"Success! Revoked lease: {lease_id}"
    click.echo(done if sync else "All revocation operations queued successfully!")


@lease.command()
@api_options
@format_option
@field_option
@click.argument("args", nargs=-1, metavar="LEASE_ID")
def lookup(args: tuple[str, ...]) -> None:
    """Print the properties of the lease LEASE_ID: issue and expiry times, TTL, renewability."""
    if len(args) > 1:
        raise Failure(f"Too many arguments (expected 1, got {len(args)})", USAGE_EXIT)
    lease_id = _lease_id(args)
    with api_errors(f"error looking up lease id {lease_id}"):
        secret = client().request("PUT", "sys/leases/lookup", json={"lease_id": lease_id})
    if secret is not None:
        show_secret(secret)
