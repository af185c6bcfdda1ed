"""`strongroom auth enable|disable|list|tune`: the mount table of auth methods.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

Requests, messages and output copy the Vault CLI's: enable posts to sys/auth/<path>, tune to
sys/mounts/auth/<path>/tune, and `auth list -format=json` prints each mount with the fields and field order
of the Vault API client's AuthMount struct, so scripts written against `vault auth list` read ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultGroup,
    api_errors,
    api_options,
    client,
    duration_flag,
    format_option,
    output_format,
    parse_kv_args,
    split_list,
)
from strongroom.cli.output import GoField, columns, go_struct, go_value, render
from strongroom.util.durations import format_duration

_MOUNT_FIELDS: tuple[GoField, ...] = (
    ("uuid", "", False),
    ("type", "", False),
    ("description", "", False),
    ("accessor", "", False),
    ("config", {}, False),
    ("options", None, False),
    ("local", False, False),
    ("seal_wrap", False, False),
    ("external_entropy_access", False, False),
    ("plugin_version", "", False),
    ("running_plugin_version", "", False),
    ("running_sha256", "", False),
    ("deprecation_status", "", False),
)
_CONFIG_FIELDS: tuple[GoField, ...] = (
    ("default_lease_ttl", 0, False),
    ("max_lease_ttl", 0, False),
    ("force_no_cache", False, False),
    ("audit_non_hmac_request_keys", [], True),
    ("audit_non_hmac_response_keys", [], True),
    ("listing_visibility", "", True),
    ("passthrough_request_headers", [], True),
    ("allowed_response_headers", [], True),
    ("token_type", "", True),
)
_METADATA_KEYS = frozenset(
    ("request_id", "lease_id", "lease_duration", "renewable", "data", "wrap_info", "warnings", "auth")
)


def expect_arguments(args: Sequence[str], count: int) -> None:
    """Refuse the wrong number of positional arguments with the Vault CLI's message (exit 1)."""
    if len(args) < count:
        raise Failure(f"Not enough arguments (expected {count}, got {len(args)})", USAGE_EXIT)
    if len(args) > count:
        raise Failure(f"Too many arguments (expected {count}, got {len(args)})", USAGE_EXIT)


def mount_path(path: str) -> str:
    """A mount path as the Vault CLI prints it: leading slashes dropped, one trailing slash."""
    return path.strip().lstrip("/").rstrip("/") + "/"


def _ttl(seconds: int | None, unset: str) -> str:
    return format_duration(seconds) if seconds else unset


def _mount_config(
    *,
    default_lease_ttl: int | None,
    max_lease_ttl: int | None,
    unset_ttl: str,
    listing_visibility: str | None,
    token_type: str | None,
    lists: dict[str, tuple[str, ...]],
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "default_lease_ttl": _ttl(default_lease_ttl, unset_ttl),
        "max_lease_ttl": _ttl(max_lease_ttl, unset_ttl),
        "force_no_cache": False,
    }
    for key, values in lists.items():
        if values:
            config[key] = split_list(values)
    if listing_visibility:
        config["listing_visibility"] = listing_visibility
    if token_type:
        config["token_type"] = token_type
    return config


def _options(pairs: tuple[str, ...]) -> dict[str, str] | None:
    options = {key: str(value) for key, value in parse_kv_args(pairs).items()}
    return options or None


def _tuning_options(func: Any) -> Any:
    """The settings `auth enable` and `auth tune` share."""
    for decorator in reversed(
        (
            click.option("--description", help="A human-friendly description of the auth method."),
            click.option(
                "--default-lease-ttl",
                callback=duration_flag("default-lease-ttl"),
                help="Default lease TTL of the tokens this method issues.",
            ),
            click.option(
                "--max-lease-ttl",
                callback=duration_flag("max-lease-ttl"),
                help="Maximum lease TTL of the tokens this method issues.",
            ),
            click.option("--options", "pairs", multiple=True, help="KEY=VALUE method options, repeatable."),
            click.option("--listing-visibility", help='"unauth" lists the method in the UI login form.'),
            click.option("--token-type", help="The type of token to issue (service, batch, default-*)."),
            click.option(
                "--audit-non-hmac-request-keys", multiple=True, help="Request keys audited in plaintext."
            ),
            click.option(
                "--audit-non-hmac-response-keys", multiple=True, help="Response keys audited in plaintext."
            ),
            click.option(
                "--passthrough-request-headers", multiple=True, help="Headers passed to the method."
            ),
            click.option("--allowed-response-headers", multiple=True, help="Headers the method may set."),
        )
    ):
        func = decorator(func)
    return func


def _lists(settings: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    return {
        key: settings[key]
        for key in (
            "audit_non_hmac_request_keys",
            "audit_non_hmac_response_keys",
            "passthrough_request_headers",
            "allowed_response_headers",
        )
    }


@click.group(cls=VaultGroup)
def auth() -> None:
    """Enable, disable, list and tune auth methods."""


@auth.command()
@api_options
@_tuning_options
@click.option("--path", help="Where to enable the method (the method type when absent).")
@click.option("--local", is_flag=True, help="Do not replicate the mount.")
@click.option("--seal-wrap", is_flag=True, help="Seal-wrap the mount's critical values.")
@click.argument("args", nargs=-1, metavar="TYPE")
def enable(args: tuple[str, ...], path: str | None, local: bool, seal_wrap: bool, **settings: Any) -> None:
    """Enable an auth method of TYPE."""
    expect_arguments(args, 1)
    method_type = args[0].strip()
    mount = (path or method_type).strip().rstrip("/") + "/"
    body: dict[str, Any] = {
        "type": method_type,
        "description": settings["description"] or "",
        "config": _mount_config(
            default_lease_ttl=settings["default_lease_ttl"],
            max_lease_ttl=settings["max_lease_ttl"],
            unset_ttl="0s",
            listing_visibility=settings["listing_visibility"],
            token_type=settings["token_type"],
            lists=_lists(settings),
        ),
        "local": local,
        "seal_wrap": seal_wrap,
        "options": _options(settings["pairs"]),
    }
    with api_errors(f"Error enabling {method_type} auth"):
        client().request("POST", f"sys/auth/{mount.strip('/')}", json=body)
    click.echo(f"Success! Enabled {method_type} auth method at: {mount}")


@auth.command()
@api_options
@click.argument("args", nargs=-1, metavar="PATH")
def disable(args: tuple[str, ...]) -> None:
    """Disable the auth method at PATH, revoking every token it issued."""
    expect_arguments(args, 1)
    mount = mount_path(args[0])
    with api_errors(f"Error disabling auth method at {mount}"):
        client().delete(f"sys/auth/{mount.rstrip('/')}")
    click.echo(f"Success! Disabled the auth method (if it existed) at: {mount}")


@auth.command()
@api_options
@_tuning_options
@click.argument("args", nargs=-1, metavar="PATH")
def tune(args: tuple[str, ...], **settings: Any) -> None:
    """Change the settings of the auth method at PATH."""
    expect_arguments(args, 1)
    mount = mount_path(args[0])
    body = _mount_config(
        default_lease_ttl=settings["default_lease_ttl"],
        max_lease_ttl=settings["max_lease_ttl"],
        unset_ttl="",
        listing_visibility=settings["listing_visibility"],
        token_type=settings["token_type"],
        lists=_lists(settings),
    )
    body["options"] = _options(settings["pairs"])
    if settings["description"] is not None:
        body["description"] = settings["description"]
    with api_errors(f"Error tuning auth method {mount}"):
        client().request("POST", f"sys/mounts/auth/{mount.rstrip('/')}/tune", json=body)
    click.echo(f"Success! Tuned the auth method at: {mount}")


def auth_mounts(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The mounts of a sys/auth response, each shaped as the Vault CLI prints it, keyed by sorted path."""
    table = body.get("data") or {k: v for k, v in body.items() if k not in _METADATA_KEYS}
    mounts: dict[str, dict[str, Any]] = {}
    for path in sorted(table):
        mount = go_struct(table[path], _MOUNT_FIELDS)
        mount["config"] = go_struct(mount["config"] or {}, _CONFIG_FIELDS)
        mounts[path] = mount
    return mounts


def _detailed_row(path: str, mount: dict[str, Any]) -> tuple[str, ...]:
    """A row of `auth list -detailed`; TTLs in plain seconds, as the Vault CLI shows them."""
    config = mount["config"]
    return (
        path,
        mount["type"],
        mount["accessor"],
        str(config.get("default_lease_ttl") or "system"),
        str(config.get("max_lease_ttl") or "system"),
        str(config.get("token_type", "")),
        "local" if mount["local"] else "replicated",
        go_value(bool(mount["seal_wrap"])),
        go_value(bool(mount["external_entropy_access"])),
        go_value(mount["options"] or {}),
        mount["description"],
        mount["uuid"],
        mount["plugin_version"],
        mount["running_plugin_version"],
        mount["running_sha256"],
        mount["deprecation_status"],
    )


@auth.command("list")
@api_options
@format_option
@click.option("--detailed", is_flag=True, help="Show TTLs, token types, replication and other details.")
@click.argument("args", nargs=-1, metavar="")
def list_(args: tuple[str, ...], detailed: bool) -> None:
    """List the enabled auth methods."""
    expect_arguments(args, 0)
    with api_errors("Error listing enabled authentications"):
        body = client().request("GET", "sys/auth") or {}
    mounts = auth_mounts(body)
    fmt = output_format()
    if fmt != "table":
        click.echo(render(mounts, fmt))
        return
    header: tuple[str, ...]
    rows: list[tuple[str, ...]]
    if detailed:
        header = (
            "Path", "Plugin", "Accessor", "Default TTL", "Max TTL", "Token Type", "Replication", "Seal Wrap",
            "External Entropy Access", "Options", "Description", "UUID", "Version", "Running Version",
            "Running SHA256", "Deprecation Status",
        )  # fmt: skip
        rows = [_detailed_row(path, mount) for path, mount in mounts.items()]
    else:
        header = ("Path", "Type", "Accessor", "Description", "Version")
        rows = [
            (path, m["type"], m["accessor"], m["description"], m["plugin_version"])
            for path, m in mounts.items()
        ]
    click.echo(columns([header, tuple("-" * len(title) for title in header), *rows]))
