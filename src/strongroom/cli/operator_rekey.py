"""`strongroom operator rekey`: new unseal (or recovery) key shares from a quorum of the current ones, as
`bao operator rekey` does it: -init (with -pgp-keys, -backup and -verify), shares given one at a time,
-status, -cancel, the verification of new shares (-verify with a share, -status or -cancel), and the kept
PGP-encrypted shares (-backup-retrieve, -backup-delete).

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.operator_keys` (shared helpers and the
keyholder paths) and `strongroom.cli.output`.

Invariant: a key share is sent only in a request body and never appears in an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, api_options, format_option, output_format
from strongroom.cli.operator_keys import (
    DEFAULT_SHARES,
    DEFAULT_THRESHOLD,
    REKEY,
    Fields,
    KeyholderPaths,
    OperatorCommand,
    document,
    go_bool,
    key_and_nonce,
    pgp_key_files,
    too_many,
    wrap,
)
from strongroom.cli.output import key_value_table, render

_REKEY_STATUS: Fields = (
    ("nonce", "", False), ("started", False, False), ("t", 0, False), ("n", 0, False),
    ("progress", 0, False), ("required", 0, False), ("pgp_fingerprints", None, False),
    ("backup", False, False), ("verification_required", False, False), ("verification_nonce", "", False),
)  # fmt: skip
_REKEY_UPDATE: Fields = (
    ("nonce", "", False), ("complete", False, False), ("keys", None, False), ("keys_base64", None, False),
    ("pgp_fingerprints", None, False), ("backup", False, False), ("verification_required", False, False),
    ("verification_nonce", "", True),
)  # fmt: skip
_VERIFY_STATUS: Fields = (
    ("nonce", "", False), ("started", False, False), ("t", 0, False), ("n", 0, False), ("progress", 0, False),
)  # fmt: skip
_VERIFY_UPDATE: Fields = (("nonce", "", False), ("complete", False, False))


@click.command("rekey", cls=OperatorCommand)
@api_options
@format_option
@click.option("--init", "start", is_flag=True, help="Start a rekey with -key-shares and -key-threshold.")
@click.option("--cancel", is_flag=True, help="Cancel the rekey in progress and discard its shares.")
@click.option("--status", is_flag=True, help="Print the progress of the rekey in progress.")
@click.option("--key-shares", "-n", "shares", type=int, default=DEFAULT_SHARES, help="New key shares.")
@click.option(
    "--key-threshold", "-t", "threshold", type=int, default=DEFAULT_THRESHOLD, help="New threshold."
)
@click.option("--nonce", help="The nonce of the rekey in progress.")
@click.option("--target", default="barrier", help="barrier (unseal keys) or recovery.")
@click.option("--pgp-keys", default="", help="Comma-separated files of public PGP keys, one per new share.")
@click.option("--backup", is_flag=True, help="Keep the PGP-encrypted new shares for -backup-retrieve.")
@click.option("--verify", is_flag=True, help="With -init: require verification; else act on verification.")
@click.option("--backup-retrieve", is_flag=True, help="Print the kept PGP-encrypted shares.")
@click.option("--backup-delete", is_flag=True, help="Delete the kept PGP-encrypted shares.")
@click.argument("args", nargs=-1)
def rekey(
    *,
    start: bool,
    cancel: bool,
    status: bool,
    shares: int,
    threshold: int,
    nonce: str | None,
    target: str,
    pgp_keys: str,
    backup: bool,
    verify: bool,
    backup_retrieve: bool,
    backup_delete: bool,
    args: tuple[str, ...],
) -> None:
    """Replace the unseal keys: -init, then submit a quorum of the current key shares with -nonce."""
    too_many(args, "0-1", 1)
    kind = target.strip().lower()
    if kind not in ("barrier", "recovery", "hsm"):
        raise Failure(f"Unknown target: {target}", USAGE_EXIT)
    paths = REKEY["barrier" if kind == "barrier" else "recovery"]
    if backup_delete:
        paths.call("Error deleting rekey backed up keys", "DELETE", "backup")
        click.echo("Success! Deleted backed up keys (if they existed)")
    elif backup_retrieve:
        kept = paths.call("Error retrieving rekey backed up keys", "GET", "backup")
        click.echo(render({k: kept.get(k) for k in ("nonce", "keys", "keys_base64")}, output_format()))
    elif cancel and verify:
        _print_verification(paths.call("Error canceling rekey verification", "DELETE", "verify"))
        click.echo("Success! Canceled rekey verification (if it was started)")
    elif cancel:
        paths.call("Error canceling rekey", "DELETE", "init")
        click.echo("Success! Canceled rekeying (if it was started)")
    elif start:
        keys = pgp_key_files(pgp_keys) if pgp_keys else []
        body = {
            "secret_shares": shares, "secret_threshold": threshold, "pgp_keys": keys or None,
            "backup": backup, "require_verification": verify,
        }  # fmt: skip
        _start(paths, kind, body)
    elif status and verify:
        _print_verification(paths.call("Error reading rekey verification status", "GET", "verify"))
    elif status:
        _print_rekey_status(paths.call("Error reading rekey status", "GET", "init"))
    elif verify:
        _provide_verification_key(paths, args[0].strip() if args else "", nonce)
    else:
        _provide_rekey_key(paths, args[0].strip() if args else "", nonce, kind)


def _start(paths: KeyholderPaths, kind: str, body: Mapping[str, Any]) -> None:
    keys, backup = body["pgp_keys"], body["backup"]
    started = paths.call("Error initializing rekey", "PUT", "init", body)
    key_type = "unseal" if kind == "barrier" else "recovery"
    if output_format() == "table" and not keys:
        click.echo(wrap(
            "WARNING! If you lose the keys after they are returned, there is no recovery. Consider "
            "canceling this operation and re-initializing with the -pgp-keys flag to protect the "
            f"returned {key_type} keys along with -backup to allow recovery of the encrypted keys in "
            "case of emergency. You can delete the stored keys later using the -delete flag."
        ), err=True)  # fmt: skip
        click.echo("")
    elif output_format() == "table" and not backup:
        click.echo(wrap(
            f"WARNING! You are using PGP keys for encryption of resulting {key_type} keys, but you did "
            "not enable the option to backup the keys to Vault's core. If you lose the encrypted keys "
            "after they are returned, you will not be able to recover them. Consider canceling this "
            "operation and re-running with -backup to allow recovery of the encrypted unseal keys in "
            "case of emergency. You can delete the backed up keys later using the -delete flag."
        ), err=True)  # fmt: skip
        click.echo("")
    _print_rekey_status(started)


def _provide_rekey_key(paths: KeyholderPaths, key: str, nonce: str | None, kind: str) -> None:
    current = paths.call("Error getting rekey status", "GET", "init")
    if not current.get("started"):
        raise Failure(
            wrap(
                'No rekey is in progress. Start a rekey process by running "strongroom operator rekey -init".'
            ),
            USAGE_EXIT,
        )
    result = _submit(paths, "update", current, key, nonce)
    if result is None:
        _print_rekey_status(paths.call("Error reading rekey status", "GET", "init"))
        return
    if output_format() != "table":
        click.echo(render(document(result, _REKEY_UPDATE), output_format()))
        return
    _print_new_keys(result)
    new_shares, new_threshold = current.get("n", 0), current.get("t", 0)
    if result.get("pgp_fingerprints") and result.get("backup"):
        where = "core/unseal-keys-backup" if kind == "barrier" else "core/recovery-keys-backup"
        flags = "-backup-delete" if kind == "barrier" else "-backup-delete -target=recovery"
        click.echo("\n" + wrap(
            f'The encrypted {"unseal" if kind == "barrier" else "recovery"} keys are backed up to "{where}" '
            "in the storage backend. Remove these keys at any time using "
            f'"strongroom operator rekey {flags}". Vault does not automatically remove these keys.'
        ))  # fmt: skip
    if result.get("verification_required"):
        _print_verification_advice(kind, new_shares, new_threshold)
        _print_verification(paths.call("Error reading rekey verification status", "GET", "verify"))
    elif kind == "barrier":
        click.echo("\n" + wrap(
            f"Vault unseal keys rekeyed with {new_shares} key shares and a key threshold of {new_threshold}. "
            "Please securely distribute the key shares printed above. When Vault is re-sealed, restarted, "
            f"or stopped, you must supply at least {new_threshold} of these keys to unseal it before it can "
            "start servicing requests."
        ))  # fmt: skip
    else:
        click.echo("\n" + wrap(
            f"Vault recovery keys rekeyed with {new_shares} key shares and a key threshold of "
            f"{new_threshold}. Please securely distribute the key shares printed above."
        ))  # fmt: skip


def _submit(
    paths: KeyholderPaths, step: str, current: Mapping[str, Any], key: str, nonce: str | None
) -> dict[str, Any] | None:
    """Give one share to STEP ("update" with a current share, "verify" with a new one); the answer once
    the operation is complete, else None."""
    label = "Rekey operation nonce" if step == "update" else "Rekey verification nonce"
    prompt = (f"{label}: {current.get('nonce', '')}",)
    key, nonce = key_and_nonce(key, nonce, str(current.get("nonce", "")), prompt)
    result = paths.call("Error posting unseal key", "PUT", step, {"key": key, "nonce": nonce})
    return result if result.get("complete") else None


def _print_new_keys(result: Mapping[str, Any]) -> None:
    hex_keys, b64_keys = result.get("keys") or [], result.get("keys_base64") or []
    fingerprints = result.get("pgp_fingerprints") or []
    shown = b64_keys if len(b64_keys) == len(hex_keys) else hex_keys
    click.echo("")
    for index, value in enumerate(shown, start=1):
        if fingerprints:
            click.echo(f"Key {index} fingerprint: {fingerprints[index - 1]}; value: {value}")
        else:
            click.echo(f"Key {index}: {value}")
    click.echo(f"\nOperation nonce: {result.get('nonce', '')}")


def _print_verification_advice(kind: str, shares: object, threshold: object) -> None:
    if kind == "barrier":
        click.echo("\n" + wrap(
            f"Vault has created a new unseal key, split into {shares} key shares and a key threshold of "
            f"{threshold}. These will not be active until after verification is complete. Please securely "
            "distribute the key shares printed above. When Vault is re-sealed, restarted, or stopped, you "
            f"must supply at least {threshold} of these keys to unseal it before it can start servicing "
            "requests."
        ))  # fmt: skip
    else:
        click.echo("\n" + wrap(
            f"Vault has created a new recovery key, split into {shares} key shares and a key threshold of "
            f"{threshold}. These will not be active until after verification is complete. Please securely "
            "distribute the key shares printed above."
        ))  # fmt: skip
    action = "unseal" if kind == "barrier" else "authenticate with"
    click.echo("")
    click.echo(wrap(
        "Again, these key shares are _not_ valid until verification is performed. Do not lose or discard "
        "your current key shares until after verification is complete or you will be unable to "
        f"{action} Vault. If you cancel the rekey process or seal Vault before verification is complete "
        "the new shares will be discarded and the current shares will remain valid."
    ), err=True)  # fmt: skip
    click.echo("")
    click.echo(wrap("The current verification status, including initial nonce, is shown below."), err=True)
    click.echo("")


def _provide_verification_key(paths: KeyholderPaths, key: str, nonce: str | None) -> None:
    current = paths.call("Error getting rekey verification status", "GET", "verify")
    if not current.get("started"):
        raise Failure("No rekey verification is in progress.", USAGE_EXIT)
    result = _submit(paths, "verify", current, key, nonce)
    if result is None:
        _print_verification(paths.call("Error reading rekey verification status", "GET", "verify"))
        return
    if output_format() != "table":
        click.echo(render(document(result, _VERIFY_UPDATE), output_format()))
        return
    click.echo(wrap(
        "Rekey verification successful. The rekey operation is complete and the new keys are now active."
    ))  # fmt: skip


def _print_verification(body: Mapping[str, Any]) -> None:
    status = document(body, _VERIFY_STATUS)
    fmt = output_format()
    if fmt != "table":
        click.echo(render(status, fmt))
        return
    rows = [
        ("Started", go_bool(status["started"])),
        ("New Shares", str(status["n"])),
        ("New Threshold", str(status["t"])),
        ("Verification Nonce", str(status["nonce"])),
        ("Verification Progress", f"{status['progress']}/{status['t']}"),
    ]
    click.echo(key_value_table(rows))


def _print_rekey_status(body: Mapping[str, Any]) -> None:
    status = document(body, _REKEY_STATUS)
    fmt = output_format()
    if fmt != "table":
        click.echo(render(status, fmt))
        return
    rows = [("Nonce", str(status["nonce"])), ("Started", go_bool(status["started"]))]
    if status["started"]:
        progress = f"{status['progress']}/{status['required']}"
        if status["progress"] == status["required"]:
            progress += " (verification in progress)"
        rows += [
            ("Progress", progress),
            ("New Shares", str(status["n"])),
            ("New Threshold", str(status["t"])),
            ("Verification Required", go_bool(status["verification_required"])),
        ]
        if status["verification_nonce"]:
            rows.append(("Verification Nonce", str(status["verification_nonce"])))
    fingerprints = status["pgp_fingerprints"]
    if isinstance(fingerprints, list) and fingerprints:
        rows += [("PGP Fingerprints", f"[{' '.join(fingerprints)}]"), ("Backup", go_bool(status["backup"]))]
    click.echo(key_value_table(rows))
