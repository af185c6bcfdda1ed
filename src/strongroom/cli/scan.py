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
@click.argument("target", required=False, default=".", metavar="[PATH|IMAGE]")
def scan(
    target: str, *, format_: str, fix: bool, apply: bool, mount: str, path_prefix: str, **_: Any
) -> None:
    """Find secrets in PATH (a directory or a file; the current directory by default) or in the image
    IMAGE (its environment, labels and history, through podman or docker)."""
    if apply and not fix:
        raise Failure("-apply needs -fix", ERROR_EXIT)
    path = Path(target)
    try:
        findings = list(scan_path(path) if _is_path(target) else scan_image(target))
    except ScanError as exc:
        raise Failure(f"Error: {exc}", ERROR_EXIT) from None
    if fix:
        if not _is_path(target):
            raise Failure("-fix rewrites files: give a PATH, not an image", ERROR_EXIT)
        _fix(path, findings, apply=apply, mount=mount, prefix=path_prefix)
        return
    click.echo(report.as_json(findings) if format_ == "json" else report.as_text(findings), nl=False)
    if findings:
        raise click.exceptions.Exit(FOUND_EXIT)


def _is_path(target: str) -> bool:
    # An existing file or directory, or what can only be a path: a missing one is then reported as
    # missing rather than looked up as an image.
    return Path(target).exists() or target.startswith(("/", "./", "../", "~", ".")) or target == "."


def _fix(root: Path, findings: list[Finding], *, apply: bool, mount: str, prefix: str) -> None:
    from strongroom.scan.fix import FixError, plan_fixes

    try:
        plans = plan_fixes(root, findings, mount=mount, prefix=prefix)
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
            for plan in plans:
                plan.rewrite()
        except FixError as exc:
            raise Failure(f"Error: {exc}", ERROR_EXIT) from None
    if not apply and plans:
        click.echo("Dry run: nothing was changed; run again with -apply to do it.")
    left = [f for f in findings if not any(f in plan.findings for plan in plans)]
    click.echo(report.as_text(left), nl=False)
    if left or (plans and not apply):
        raise click.exceptions.Exit(FOUND_EXIT)
