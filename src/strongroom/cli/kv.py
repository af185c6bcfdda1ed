"""`strongroom kv ...`: the KV secrets engine, versions 1 and 2, as the Vault CLI drives it.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

The version of a mount is detected the way the Vault CLI detects it, with GET sys/internal/ui/mounts/<path>;
on a version 2 mount `secret/db` is addressed as `secret/data/db`, `secret/metadata/db`, and so on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_errors,
    api_options,
    client,
    field_option,
    format_option,
    output_field,
    output_format,
    parse_kv_args,
    split_list,
    wrap_option,
)
from strongroom.cli.generic import clean_path, show_secret
from strongroom.cli.output import (
    key_value_table,
    map_header,
    map_rows,
    padded_header,
    print_field,
    print_list,
    print_secret,
)


def _join(*parts: str) -> str:
    return "/".join(part.strip("/") for part in parts if part.strip("/"))


@dataclass(frozen=True, slots=True)
class KvTarget:
    """Where a KV command's path lives: the mount, its KV version, and the path inside the mount."""

    mount: str
    version: int
    relative: str

    def api_path(self, prefix: str) -> str:
        """The API path: `<mount>/<prefix>/<relative>` on version 2, `<mount>/<relative>` on version 1."""
        if self.version == 2:
            return _join(self.mount, prefix, self.relative)
        return _join(self.mount, self.relative)


def resolve(path: str, mount: str | None) -> KvTarget:
    """Detect the mount and version for `path` (inside `mount` when -mount is given)."""
    path = clean_path(path)
    with api_errors():
        if mount:
            found, version = client().kv_mount_info(clean_path(mount))
            return KvTarget(found or clean_path(mount), version, path)
        found, version = client().kv_mount_info(path)
    if not found:
        return KvTarget("", version, path)
    relative = path[len(found) :] if path.startswith(found) else ""
    return KvTarget(found, version, relative)


def _require_v2(target: KvTarget, message: str, exit_code: int = USAGE_EXIT) -> None:
    if target.version != 2:
        raise Failure(message, exit_code)


def _versions(values: tuple[str, ...]) -> list[int]:
    try:
        return [int(item) for item in split_list(values)]
    except ValueError:
        raise Failure(f"invalid -versions value: {','.join(values)}", USAGE_EXIT) from None


def _print_section(title: str, data: dict[str, Any]) -> None:
    click.echo(map_header(title, data))
    if data:
        click.echo(key_value_table(map_rows(data)))


def _print_written(target: KvTarget, path: str, secret: dict[str, Any] | None) -> None:
    if secret is None:
        click.echo(f"Success! Data written to: {path}")
        return
    field = output_field()
    if field:
        data = secret.get("data") or {}
        if field not in data:
            raise Failure(f'Field "{field}" not present in secret', USAGE_EXIT)
        print_field(data[field], output_format())
        return
    if output_format() == "table" and target.version == 2:
        click.echo(padded_header("Secret Path", len(path)))
        click.echo(path)
        click.echo("")
        click.echo(map_header("Metadata", secret.get("data") or {}))
    print_secret(secret, output_format())


mount_option = click.option("--mount", help="The KV mount; PATH is then relative to it.")


@click.group(cls=VaultGroup)
def kv() -> None:
    """Read and write the KV secrets engine (versions 1 and 2)."""


@kv.command()
@api_options
@format_option
@field_option
@mount_option
@click.option("--cas", type=int, help="Check-and-set: the version the secret must be at (0: must not exist).")
@click.argument("path")
@click.argument("data", nargs=-1)
def put(path: str, data: tuple[str, ...], mount: str | None, cas: int | None) -> None:
    """Write KEY=VALUE data as a new version of the secret at PATH."""
    body = parse_kv_args(data)
    if not body:
        raise Failure("Must supply data", USAGE_EXIT)
    target = resolve(path, mount)
    api_path = target.api_path("data")
    payload: dict[str, Any] = body
    if target.version == 2:
        payload = {"data": body, **({"options": {"cas": cas}} if cas is not None else {})}
    with api_errors(f"Error writing data to {api_path}"):
        secret = client().write(api_path, payload)
    _print_written(target, api_path, secret)


@kv.command()
@api_options
@format_option
@field_option
@mount_option
@click.option("--cas", type=int, help="Check-and-set: the version the secret must be at.")
@click.argument("path")
@click.argument("data", nargs=-1)
def patch(path: str, data: tuple[str, ...], mount: str | None, cas: int | None) -> None:
    """Merge KEY=VALUE data into the latest version of the secret at PATH (KV version 2)."""
    body = parse_kv_args(data)
    if not body:
        raise Failure("Must supply data", USAGE_EXIT)
    target = resolve(path, mount)
    _require_v2(target, "K/V engine mount must be version 2 for patch support", exit_code=2)
    api_path = target.api_path("data")
    payload = {"data": body, **({"options": {"cas": cas}} if cas is not None else {})}
    with api_errors(f"Error writing data to {api_path}"):
        secret = client().patch(api_path, payload)
    _print_written(target, api_path, secret)


@kv.command()
@api_options
@wrap_option
@format_option
@field_option
@mount_option
@click.option("--version", "version", type=int, help="The version to read (latest when absent).")
@click.argument("path")
def get(path: str, mount: str | None, version: int | None) -> None:
    """Read the secret at PATH."""
    target = resolve(path, mount)
    api_path = target.api_path("data")
    params = {"version": str(version)} if version and target.version == 2 else None
    with api_errors(f"Error reading {api_path}"):
        secret = client().read(api_path, params)
    if secret is None:
        raise Failure(f"No value found at {api_path}")
    if secret.get("wrap_info"):
        show_secret(secret)
        return
    body = secret.get("data") or {}
    data = body.get("data") if target.version == 2 else body
    field = output_field()
    if field:
        if not isinstance(data, dict) or field not in data:
            raise Failure(f'Field "{field}" not present in map', USAGE_EXIT)
        print_field(data[field], output_format())
        return
    if output_format() != "table":
        print_secret(secret, output_format())
        return
    if target.version == 2:
        click.echo(padded_header("Secret Path", len(api_path)))
        click.echo(api_path)
        click.echo("")
    metadata = body.get("metadata") if target.version == 2 else None
    if isinstance(metadata, dict):
        _print_section("Metadata", metadata)
        click.echo("")
    if isinstance(data, dict):
        _print_section("Data", data)


@kv.command("list")
@api_options
@format_option
@mount_option
@click.argument("path", default="")
def list_(path: str, mount: str | None) -> None:
    """List the keys under PATH."""
    target = resolve(path, mount)
    api_path = target.api_path("metadata")
    with api_errors(f"Error listing {api_path}"):
        secret = client().list(api_path)
    keys = ((secret or {}).get("data") or {}).get("keys")
    if not keys:
        raise Failure(f"No value found at {api_path}")
    print_list(keys, output_format())


@kv.command()
@api_options
@mount_option
@click.option("--versions", multiple=True, help="Versions to delete (soft); the latest when absent.")
@click.argument("path")
def delete(path: str, mount: str | None, versions: tuple[str, ...]) -> None:
    """Delete the latest version (or -versions) of the secret at PATH; version 2 deletes are soft."""
    target = resolve(path, mount)
    numbers = _versions(versions)
    api_path = target.api_path("data")
    with api_errors(f"Error deleting {api_path}"):
        if numbers and target.version == 2:
            client().write(target.api_path("delete"), {"versions": numbers})
        else:
            client().delete(api_path)
    click.echo(f"Success! Data deleted (if it existed) at: {api_path}")


def _write_versions(action: str, path: str, mount: str | None, versions: tuple[str, ...]) -> None:
    target = resolve(path, mount)
    _require_v2(target, f"{action.capitalize()} not supported on KV Version 1")
    numbers = _versions(versions)
    if not numbers:
        raise Failure(
            f'No versions provided, use the "-versions" flag to specify the version to {action}.', USAGE_EXIT
        )
    api_path = target.api_path(action)
    with api_errors(f"Error writing data to {api_path}"):
        client().write(api_path, {"versions": numbers})
    click.echo(f"Success! Data written to: {api_path}")


@kv.command()
@api_options
@mount_option
@click.option("--versions", multiple=True, help="Versions to restore.")
@click.argument("path")
def undelete(path: str, mount: str | None, versions: tuple[str, ...]) -> None:
    """Restore soft-deleted -versions of the secret at PATH (KV version 2)."""
    _write_versions("undelete", path, mount, versions)


@kv.command()
@api_options
@mount_option
@click.option("--versions", multiple=True, help="Versions to destroy.")
@click.argument("path")
def destroy(path: str, mount: str | None, versions: tuple[str, ...]) -> None:
    """Remove -versions of the secret at PATH for good (KV version 2)."""
    _write_versions("destroy", path, mount, versions)


@kv.command()
@api_options
@format_option
@mount_option
@click.option("--version", "version", type=int, required=True, help="The version to roll back to.")
@click.argument("path")
def rollback(path: str, mount: str | None, version: int) -> None:
    """Write version -version of the secret at PATH again as its newest version (KV version 2)."""
    target = resolve(path, mount)
    _require_v2(target, "Rollback not supported on KV Version 1")
    metadata_path, data_path = target.api_path("metadata"), target.api_path("data")
    with api_errors(f"Error reading {metadata_path}"):
        metadata = client().read(metadata_path)
    if metadata is None:
        raise Failure(f"No value found at {metadata_path}")
    current = (metadata.get("data") or {}).get("current_version")
    with api_errors(f"Error reading {data_path}"):
        old = client().read(data_path, {"version": str(version)})
    old_body = (old or {}).get("data") or {}
    old_meta = old_body.get("metadata") or {}
    if old_body.get("data") is None or old_meta.get("destroyed") or old_meta.get("deletion_time"):
        raise Failure(f"Cannot roll back to a version that is deleted or destroyed: {version}")
    with api_errors(f"Error writing data to {data_path}"):
        secret = client().write(data_path, {"data": old_body["data"], "options": {"cas": current}})
    if secret is not None:
        print_secret(secret, output_format())


@kv.group(cls=VaultGroup)
def metadata() -> None:
    """Read and write the metadata of KV version 2 secrets."""


@metadata.command("get")
@api_options
@format_option
@mount_option
@click.argument("path")
def metadata_get(path: str, mount: str | None) -> None:
    """Print the metadata and the versions of the secret at PATH."""
    target = resolve(path, mount)
    _require_v2(target, "Metadata not supported on KV Version 1")
    api_path = target.api_path("metadata")
    with api_errors(f"Error reading {api_path}"):
        secret = client().read(api_path)
    if secret is None:
        raise Failure(f"No value found at {api_path}")
    if output_format() != "table":
        print_secret(secret, output_format())
        return
    data = dict(secret.get("data") or {})
    versions = data.pop("versions", None) or {}
    click.echo(padded_header("Metadata Path", len(api_path)))
    click.echo(api_path)
    click.echo("")
    _print_section("Metadata", data)
    for number in sorted(versions, key=int):
        click.echo("")
        _print_section(f"Version {number}", versions[number])


def _metadata_body(
    *,
    max_versions: int | None,
    cas_required: bool | None,
    delete_version_after: str | None,
    custom_metadata: tuple[str, ...],
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if max_versions is not None:
        body["max_versions"] = max_versions
    if cas_required is not None:
        body["cas_required"] = cas_required
    if delete_version_after is not None:
        body["delete_version_after"] = delete_version_after
    if custom_metadata:
        body["custom_metadata"] = parse_kv_args(custom_metadata)
    return body


def _metadata_options(func: Callable[..., None]) -> Callable[..., None]:
    """The metadata flags of `kv metadata put` and `patch`; they reach the command as _metadata_body's
    keyword arguments."""
    for option in (
        click.option("--max-versions", type=int, help="Versions to keep (0: the mount's setting)."),
        click.option("--cas-required/--no-cas-required", default=None, help="Require check-and-set writes."),
        click.option("--delete-version-after", help="Delete versions after this duration."),
        click.option("--custom-metadata", multiple=True, help="KEY=VALUE custom metadata, repeatable."),
    ):
        func = option(func)
    return func


def _write_metadata(path: str, mount: str | None, options: dict[str, Any], *, patch: bool) -> None:
    target = resolve(path, mount)
    _require_v2(target, "Metadata not supported on KV Version 1")
    api_path = target.api_path("metadata")
    body = _metadata_body(**options)
    with api_errors(f"Error writing data to {api_path}"):
        if patch:
            client().patch(api_path, body)
        else:
            client().write(api_path, body)
    click.echo(f"Success! Data written to: {api_path}")


@metadata.command("put")
@api_options
@mount_option
@_metadata_options
@click.argument("path")
def metadata_put(path: str, mount: str | None, **options: Any) -> None:
    """Create or replace the metadata of the secret at PATH."""
    _write_metadata(path, mount, options, patch=False)


@metadata.command("patch")
@api_options
@mount_option
@_metadata_options
@click.argument("path")
def metadata_patch(path: str, mount: str | None, **options: Any) -> None:
    """Change only the given metadata fields of the secret at PATH."""
    _write_metadata(path, mount, options, patch=True)


@metadata.command("delete")
@api_options
@mount_option
@click.argument("path")
def metadata_delete(path: str, mount: str | None) -> None:
    """Delete the secret at PATH with all its versions and metadata."""
    target = resolve(path, mount)
    _require_v2(target, "Metadata not supported on KV Version 1")
    api_path = target.api_path("metadata")
    with api_errors(f"Error deleting {api_path}"):
        client().delete(api_path)
    click.echo(f"Success! Data deleted (if it existed) at: {api_path}")
