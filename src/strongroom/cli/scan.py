"""`strongroom scan [PATH|IMAGE]`: report secrets in a directory, a file or a built image; with -fix, move
the ones in compose files into strongroom.

Layer: cli. Imports click, `strongroom.cli.flags` and `strongroom.scan` (whose `fix` reaches the server
only through the client).

Exit codes follow grep and the secret scanners CI and pre-commit hooks expect: 0 nothing found, 1 something
found, 2 an error (a bad flag, a missing path, no container engine, a server error).

Invariant: values are printed masked, never whole; not in findings, plans, nor errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from strongroom.cli.flags import Failure, VaultCommand, api_errors, api_options, client
from strongroom.scan import report
from strongroom.scan.image import scan_image
from strongroom.scan.rules import Finding
from strongroom.scan.sources import ScanError, scan_path

FOUND_EXIT = 1
ERROR_EXIT = 2


class _ScanCommand(VaultCommand):
    """A VaultCommand whose usage errors exit 2, since 1 means "secrets found" here."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise Failure(exc.format_message(), ERROR_EXIT) from None


@click.command(cls=_ScanCommand)
@api_options
@click.option(
    "--format", "format_", type=click.Choice(("text", "json")), default="text", help="Output format."
)
@click.option("--fix", is_flag=True, help="Plan moving compose secrets into strongroom (a dry run).")
@click.option("--apply", is_flag=True, help="With -fix: store the values and rewrite the compose files.")
@click.option("--mount", default="secret", show_default=True, help="The KV version 2 mount -fix writes to.")
@click.option(
    "--path-prefix", default="scan", show_default=True, help="-fix writes to MOUNT/PREFIX/<file stem>."
)
@click.argument("targets", nargs=-1, metavar="[PATH|IMAGE]...")
def scan(
    targets: tuple[str, ...], *, format_: str, fix: bool, apply: bool, mount: str, path_prefix: str, **_: Any
) -> None:
    """Find secrets in each PATH (a directory or a file; the current directory by default) or IMAGE (its
    environment, labels and history, through podman or docker). Several files may be given, as
    pre-commit passes them."""
    if apply and not fix:
        raise Failure("-apply needs -fix", ERROR_EXIT)
    if fix and not all(_is_path(target) for target in targets):
        raise Failure("-fix rewrites files: give a PATH, not an image", ERROR_EXIT)
    scanned: list[tuple[Path, list[Finding]]] = []
    try:
        for target in targets or (".",):
            found = scan_path(Path(target)) if _is_path(target) else scan_image(target)
            scanned.append((Path(target), list(found)))
    except ScanError as exc:
        raise Failure(f"Error: {exc}", ERROR_EXIT) from None
    findings = [finding for _, found in scanned for finding in found]
    if fix:
        _fix(scanned, apply=apply, mount=mount, prefix=path_prefix)
        return
    click.echo(report.as_json(findings) if format_ == "json" else report.as_text(findings), nl=False)
    if findings:
        raise click.exceptions.Exit(FOUND_EXIT)


def _is_path(target: str) -> bool:
    # An existing file or directory, or what can only be a path: a missing one is then reported as
    # missing rather than looked up as an image.
    return Path(target).exists() or target.startswith(("/", "./", "../", "~", ".")) or target == "."


def _fix(scanned: list[tuple[Path, list[Finding]]], *, apply: bool, mount: str, prefix: str) -> None:
    from strongroom.scan.fix import FixError, plan_fixes

    try:
        plans = [
            plan for root, found in scanned for plan in plan_fixes(root, found, mount=mount, prefix=prefix)
        ]
    except FixError as exc:
        raise Failure(f"Error: {exc}", ERROR_EXIT) from None
    for plan in plans:
        click.echo(plan.describe(applied=apply), nl=False)
    if apply and plans:
        # Every value is stored before any file changes, so a refusal leaves the files as they were.
        try:
            with api_errors("Error writing to strongroom"):
                for plan in plans:
                    plan.store(client())
        except FixError as exc:
            raise Failure(f"Error: {exc}", ERROR_EXIT) from None
        for plan in plans:
            plan.rewrite()
    if not apply and plans:
        click.echo("Dry run: nothing was changed; run again with -apply to do it.")
    moved = {finding for plan in plans for finding in plan.findings}
    left = [finding for _, found in scanned for finding in found if finding not in moved]
    click.echo(report.as_text(left), nl=False)
    if left or (plans and not apply):
        raise click.exceptions.Exit(FOUND_EXIT)
