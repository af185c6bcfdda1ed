"""`strongroom operator snapshot save|restore FILE`, and the same as `operator raft snapshot ...` (the
Vault CLI's name): the whole storage to a file and back, with the Vault CLI's messages and exit codes.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.operator_keys` and the client.

Exit codes: 0 success, 1 a usage error, 2 an error from the server or with the file.
Invariant: a snapshot file is created owner-only (0600), and only once the whole snapshot has arrived.
"""

from __future__ import annotations

import os

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, VaultGroup, api_errors, api_options, client
from strongroom.cli.operator_keys import OperatorCommand

_SAVE_PATH = "sys/storage/raft/snapshot"
_FORCE_PATH = "sys/storage/raft/snapshot-force"


def _one_file(args: tuple[str, ...], missing: str) -> str:
    if len(args) != 1:
        raise Failure(f"Incorrect arguments (expected 1, got {len(args)})", USAGE_EXIT)
    name = args[0].strip()
    if not name:
        raise Failure(missing, USAGE_EXIT)
    return name


@click.group(cls=VaultGroup)
def snapshot() -> None:
    """Save the whole storage to a file, or restore it from one."""


@snapshot.command("save", cls=OperatorCommand)
@api_options
@click.argument("args", nargs=-1)
def save(*, args: tuple[str, ...]) -> None:
    """Save a snapshot of the whole storage (still encrypted) into FILE."""
    path = _one_file(args, "Output file name is required")
    with api_errors("Error taking the snapshot"):
        data = client().raw("GET", _SAVE_PATH)
    try:
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
    except OSError as exc:
        raise Failure(f"Error taking the snapshot: {exc.strerror}: {path}") from None


@snapshot.command("restore", cls=OperatorCommand)
@api_options
@click.option("--force", is_flag=True, help="Install a snapshot of another cluster (different keys).")
@click.argument("args", nargs=-1)
def restore(*, force: bool, args: tuple[str, ...]) -> None:
    """Replace the whole storage with the snapshot in FILE."""
    path = _one_file(args, "Snapshot file name is required")
    try:
        with open(path, "rb") as source:
            data = source.read()
    except OSError as exc:
        raise Failure(f"Error opening snapshot file: {exc.strerror}: {path}") from None
    with api_errors("Error installing the snapshot"):
        client().raw("POST", _FORCE_PATH if force else _SAVE_PATH, content=data)


@click.group(cls=VaultGroup)
def raft() -> None:
    """Raft storage operations; here only snapshots, which strongroom takes of any storage."""


raft.add_command(snapshot)
