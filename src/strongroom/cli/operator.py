"""`strongroom operator ...`: the server's lifecycle (init, unseal, seal, step-down) and its barrier key
(key-status, rotate), with the Vault CLI's flags, output and exit codes; the quorum operations (rekey,
generate-root) come from `strongroom.cli.operator_keys` and `strongroom.cli.operator_rekey`.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output`, `strongroom.cli.status`,
`strongroom.cli.operator_keys`, `strongroom.cli.operator_rekey` and the client.

Exit codes: 0 success, 1 a usage or local error, 2 an error from the server; `init -status` exits 2 when
the server is not initialized, as the Vault CLI does.

Invariant: an unseal key share travels only in a request body and is never echoed or put in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_options,
    client,
    format_option,
    output_format,
)
from strongroom.cli.operator_keys import (
    DEFAULT_SHARES,
    DEFAULT_THRESHOLD,
    Fields,
    OperatorCommand,
    call,
    document,
    generate_root,
    pgp_key_files,
    read_key,
    too_many,
    wrap,
)
from strongroom.cli.operator_rekey import rekey
from strongroom.cli.operator_snapshot import raft, snapshot
from strongroom.cli.output import columns, render
from strongroom.cli.status import seal_status_rows
from strongroom.client import Client, ClientError

NOT_INITIALIZED_EXIT = 2

_SEAL_STATUS: Fields = (
    ("type", "", False), ("initialized", False, False), ("sealed", False, False), ("t", 0, False),
    ("n", 0, False), ("progress", 0, False), ("nonce", "", False), ("version", "", False),
    ("commit_date", "", False), ("migration", False, False), ("cluster_name", "", True),
    ("cluster_id", "", True), ("recovery_seal", False, False), ("recovery_seal_type", "", True),
    ("storage_type", "", True), ("warnings", None, True), ("build_date", "", False),
)  # fmt: skip
_LEADER: Fields = (
    ("ha_enabled", False, False), ("is_self", False, True), ("active_time", "", True),
    ("leader_address", "", True), ("leader_cluster_address", "", True), ("performance_standby", False, True),
    ("performance_standby_last_remote_wal", 0, True), ("last_wal", 0, True),
    ("raft_committed_index", 0, True), ("raft_applied_index", 0, True),
)  # fmt: skip
# The encryption count follows only when the server reports one, as OpenBao does.
_KEY_STATUS: Fields = (("term", 0, False), ("install_time", "", False))


@click.group(cls=VaultGroup)
def operator() -> None:
    """Perform operator-specific tasks: init, unseal, seal, rotate, rekey, generate-root, step-down."""


@operator.command("init", cls=OperatorCommand)
@api_options
@format_option
@click.option("--status", is_flag=True, help="Exit 0 if initialized, 2 if not, 1 on error.")
@click.option("--key-shares", "-n", "shares", type=int, default=0, help="Number of unseal key shares.")
@click.option("--key-threshold", "-t", "threshold", type=int, default=0, help="Shares needed to unseal.")
@click.option("--recovery-shares", type=int, default=0, help="Recovery key shares (auto-unseal only).")
@click.option("--recovery-threshold", type=int, default=0, help="Recovery key threshold (auto-unseal only).")
@click.option("--pgp-keys", default="", help="Comma-separated files of public PGP keys, one per share.")
@click.option("--root-token-pgp-key", default="", help="A public PGP key file for the root token.")
@click.option("--recovery-pgp-keys", default="", help="As -pgp-keys, for recovery shares (auto-unseal).")
@click.argument("args", nargs=-1)
@click.pass_context
def init(
    ctx: click.Context,
    *,
    status: bool,
    shares: int,
    threshold: int,
    recovery_shares: int,
    recovery_threshold: int,
    pgp_keys: str,
    root_token_pgp_key: str,
    recovery_pgp_keys: str,
    args: tuple[str, ...],
) -> None:
    """Initialize a server: split a new root key into unseal key shares and create the root token."""
    too_many(args, "0", 0)
    pgp = {
        "pgp_keys": pgp_key_files(pgp_keys) if pgp_keys else None,
        "recovery_pgp_keys": pgp_key_files(recovery_pgp_keys) if recovery_pgp_keys else None,
        "root_token_pgp_key": pgp_key_files(root_token_pgp_key)[0] if root_token_pgp_key else "",
    }
    try:
        seal = client().request("GET", "sys/seal-status") or {}
    except ClientError as exc:
        raise Failure(str(exc)) from None
    if seal.get("recovery_seal"):
        recovery_shares = recovery_shares or DEFAULT_SHARES
        recovery_threshold = recovery_threshold or DEFAULT_THRESHOLD
    else:
        shares = shares or DEFAULT_SHARES
        threshold = threshold or DEFAULT_THRESHOLD
    fmt = output_format()
    if status:
        try:
            initialized = bool((client().request("GET", "sys/init") or {}).get("initialized"))
        except ClientError as exc:
            raise Failure(f"Error checking init status: {exc}", USAGE_EXIT) from None
        if fmt == "table":
            click.echo("Vault is initialized" if initialized else "Vault is not initialized")
        else:
            click.echo(render({"Initialized": initialized}, fmt))
        ctx.exit(0 if initialized else NOT_INITIALIZED_EXIT)
    request = {
        "secret_shares": shares, "secret_threshold": threshold, "pgp_keys": pgp["pgp_keys"],
        "recovery_shares": recovery_shares, "recovery_threshold": recovery_threshold,
        "recovery_pgp_keys": pgp["recovery_pgp_keys"], "root_token_pgp_key": pgp["root_token_pgp_key"],
    }  # fmt: skip
    response = call("Error initializing", "PUT", "sys/init", request)
    keys, recovery = response.get("keys") or [], response.get("recovery_keys") or []
    if fmt != "table":
        click.echo(render(_init_document(request, response), fmt))
        return
    _print_init(request, response, keys, recovery)


def _init_document(request: Mapping[str, Any], response: Mapping[str, Any]) -> dict[str, object]:
    have_keys = bool(response.get("keys"))
    return {
        "unseal_keys_b64": response.get("keys_base64") or None,
        "unseal_keys_hex": response.get("keys") or None,
        "unseal_shares": request["secret_shares"] if have_keys else 1,
        "unseal_threshold": request["secret_threshold"] if have_keys else 1,
        "recovery_keys_b64": response.get("recovery_keys_base64") or None,
        "recovery_keys_hex": response.get("recovery_keys") or None,
        "recovery_keys_shares": request["recovery_shares"],
        "recovery_keys_threshold": request["recovery_threshold"],
        "root_token": response.get("root_token", ""),
    }


def _print_init(
    request: Mapping[str, Any], response: Mapping[str, Any], keys: list[str], recovery: list[str]
) -> None:
    for label, hex_keys, b64_keys in (
        ("Unseal", keys, response.get("keys_base64") or []),
        ("Recovery", recovery, response.get("recovery_keys_base64") or []),
    ):
        shown = b64_keys if len(b64_keys) == len(hex_keys) else hex_keys
        for index, key in enumerate(shown, start=1):
            click.echo(f"{label} Key {index}: {key}")
    click.echo(f"\nInitial Root Token: {response.get('root_token', '')}")
    shares, threshold = request["secret_shares"], request["secret_threshold"]
    if keys:
        click.echo("\n" + wrap(
            f"Vault initialized with {shares} key shares and a key threshold of {threshold}. Please "
            "securely distribute the key shares printed above. When the Vault is re-sealed, restarted, "
            f"or stopped, you must supply at least {threshold} of these keys to unseal it before it can "
            "start servicing requests."
        ))  # fmt: skip
        click.echo("\n" + wrap(
            f"Vault does not store the generated root key. Without at least {threshold} keys to "
            "reconstruct the root key, Vault will remain permanently sealed!"
        ))  # fmt: skip
        click.echo("\n" + wrap(
            "It is possible to generate new unseal keys, provided you have a quorum of existing unseal "
            'keys shares. See "strongroom operator rekey" for more information.'
        ))  # fmt: skip
    else:
        click.echo("\nSuccess! Vault is initialized")
    if recovery:
        click.echo("\n" + wrap(
            f"Recovery key initialized with {request['recovery_shares']} key shares and a key threshold "
            f"of {request['recovery_threshold']}. Please securely distribute the key shares printed above."
        ))  # fmt: skip


def print_seal_status(seal: Mapping[str, Any], api: Client) -> None:
    """A seal status with the leader's HA fields, as `bao operator unseal` prints it."""
    try:
        leader = api.request("GET", "sys/leader") or {}
    except ClientError as exc:
        if "Vault is sealed" not in str(exc):
            raise Failure(f"Error checking leader status: {exc}", USAGE_EXIT) from None
        leader = {"ha_enabled": True}
    fmt = output_format()
    if fmt == "table":
        click.echo(columns([("Key", "Value"), ("---", "-----"), *seal_status_rows(dict(seal), leader)]))
        return
    click.echo(render({**document(seal, _SEAL_STATUS), **document(leader, _LEADER)}, fmt))


@operator.command("unseal", cls=OperatorCommand)
@api_options
@format_option
@click.option("--reset", is_flag=True, help="Discard the key shares entered so far.")
@click.option("--migrate", is_flag=True, help="The share is part of a seal migration.")
@click.argument("args", nargs=-1)
def unseal(*, reset: bool, migrate: bool, args: tuple[str, ...]) -> None:
    """Provide one unseal key share (base64 or hex); prompts for it when KEY is not given."""
    too_many(args, "1", 1)
    api = client()
    if reset:
        print_seal_status(call("Error resetting unseal process", "PUT", "sys/unseal", {"reset": True}), api)
        return
    key = args[0].strip() if args else read_key(())
    body = {"key": key, "reset": False, "migrate": migrate}
    print_seal_status(call("Error unsealing", "PUT", "sys/unseal", body), api)


@operator.command("seal", cls=OperatorCommand)
@api_options
@click.argument("args", nargs=-1)
def seal(*, args: tuple[str, ...]) -> None:
    """Seal the server: it forgets its root key until unsealed again."""
    too_many(args, "0", 0)
    call("Error sealing", "PUT", "sys/seal")
    click.echo("Success! Vault is sealed.")


@operator.command("step-down", cls=OperatorCommand)
@api_options
@click.argument("args", nargs=-1)
def step_down(*, args: tuple[str, ...]) -> None:
    """Make the active node give up active duty."""
    too_many(args, "0", 0)
    call("Error stepping down", "PUT", "sys/step-down")
    click.echo(f"Success! Stepped down: {client().address}")


def _print_key_status() -> None:
    body = call("Error reading key status", "GET", "sys/key-status")
    data = body.get("data") or body
    status = document(data, _KEY_STATUS)
    status["install_time"] = _go_time(str(status["install_time"]))
    if data.get("encryptions") is not None:
        status["encryptions"] = data["encryptions"]
    fmt = output_format()
    if fmt != "table":
        click.echo(render(status, fmt))
        return
    rows = [("Key Term", str(status["term"])), ("Install Time", _rfc822(str(status["install_time"])))]
    if "encryptions" in status:
        rows.append(("Encryption Count", str(status["encryptions"])))
    click.echo(columns(rows))


def _go_time(timestamp: str) -> str:
    """An RFC 3339 time as Go marshals it after parsing: trailing zeros of the fraction dropped."""
    return re.sub(r"\.(\d*?)0+(?=\D|$)", lambda m: f".{m.group(1)}" if m.group(1) else "", timestamp, count=1)


def _rfc822(timestamp: str) -> str:
    """An RFC 3339 time as Go's time.RFC822 prints it in UTC: "28 Nov 26 03:05 UTC"."""
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return timestamp
    return moment.astimezone(UTC).strftime("%d %b %y %H:%M UTC")


@operator.command("key-status", cls=OperatorCommand)
@api_options
@format_option
@click.argument("args", nargs=-1)
def key_status(*, args: tuple[str, ...]) -> None:
    """Show the barrier encryption key's term, install time and encryption count."""
    too_many(args, "0", 0)
    _print_key_status()


@operator.command("rotate", cls=OperatorCommand)
@api_options
@format_option
@click.argument("args", nargs=-1)
def rotate(*, args: tuple[str, ...]) -> None:
    """Add a new barrier encryption key to the keyring; new data is written with it."""
    too_many(args, "0", 0)
    call("Error rotating key", "PUT", "sys/rotate")
    if output_format() == "table":
        click.echo("Success! Rotated key\n")
    _print_key_status()


operator.add_command(rekey)
operator.add_command(generate_root)
operator.add_command(snapshot)
operator.add_command(raft)
