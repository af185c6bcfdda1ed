"""Vault-style command-line conventions on top of click: single-dash long flags, key=value arguments,
the options every API command shares, and the exit codes.

Layer: cli. Imports click, and `strongroom.client` when a command makes a client.

Single-dash long flags: click only knows `--name`. Every command here is a `VaultCommand`, which rewrites
its own arguments before click parses them: `-name=value` and `-name value` become `--name...` when `name`
is one of that command's long options, `-flag=true|false` on a boolean flag becomes `--flag` or
`--no-flag`, and an unknown `-name` is refused the way the Vault CLI refuses it. Single letters (`-f`,
`-h`), a lone `-` (stdin) and everything after `--` are left alone. Because each command rewrites only
against its own declared options, no global list of names has to be kept in step with the commands.

Exit codes copy the Vault CLI: 0 success, 1 a usage or local error, 2 an error from the server.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from strongroom.cli.output import FORMATS
from strongroom.util.durations import format_duration, parse_duration

if TYPE_CHECKING:
    from strongroom.client import Client

USAGE_EXIT = 1
API_EXIT = 2

_TRUE = ("true", "t", "1")
_FALSE = ("false", "f", "0")

F = TypeVar("F", bound=Callable[..., Any])


class Failure(Exception):
    """A command failed: `message` goes to stderr as it is, and the process exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = API_EXIT) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def normalize_flags(command: click.Command, ctx: click.Context, args: Sequence[str]) -> list[str]:
    """`args` with Vault-style single-dash long flags rewritten to click's double-dash form.

    A group rewrites only the flags before its first positional argument (the subcommand's name); the
    subcommand rewrites the rest against its own options.
    """
    options: dict[str, click.Option] = {}
    for param in command.get_params(ctx):
        if isinstance(param, click.Option):
            for opt in (*param.opts, *param.secondary_opts):
                if opt.startswith("--"):
                    options[opt[2:]] = param
    stop_at_positional = isinstance(command, click.Group)
    result: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--" or (stop_at_positional and not arg.startswith("-")):
            result.extend(args[index:])
            break
        if not arg.startswith("-") or arg == "-":
            result.append(arg)
            continue
        name, equals, value = arg.lstrip("-").partition("=")
        if len(name) == 1 and not arg.startswith("--"):
            result.append(arg)
            continue
        option = options.get(name)
        if option is None:
            raise click.UsageError(f"flag provided but not defined: -{name}", ctx)
        result.extend(_long_flag(option, name, equals, value, ctx))
    return result


def _long_flag(option: click.Option, name: str, equals: str, value: str, ctx: click.Context) -> list[str]:
    if not (option.is_flag and equals):
        return [f"--{name}{equals}{value}"]
    if value.lower() in _TRUE:
        return [f"--{name}"]
    if value.lower() in _FALSE:
        negative = [opt for opt in option.secondary_opts if opt.startswith("--")]
        return negative[:1]
    raise click.UsageError(f'invalid boolean value "{value}" for -{name}: parse error', ctx)


class VaultCommand(click.Command):
    """A click command that accepts Vault's single-dash long flags."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, normalize_flags(self, ctx, args))


class VaultGroup(click.Group):
    """A click group whose subcommands and subgroups accept Vault's single-dash long flags."""

    command_class = VaultCommand
    group_class = type

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, normalize_flags(self, ctx, args))


def _remember(key: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _: click.Parameter, value: Any) -> Any:
        ctx.meta[f"strongroom.{key}"] = value
        return value

    return callback


def api_options(func: F) -> F:
    """The connection options every command that talks to the server takes: -address, -namespace, and
    TLS (-ca-cert, -client-cert, -client-key, -tls-skip-verify)."""
    func = click.option(
        "--address", expose_value=False, callback=_remember("address"), help="Server address."
    )(func)
    for name, help_text in (
        ("--ca-cert", "A PEM file of the CA that signs the server's certificate."),
        ("--client-cert", "A PEM client certificate for TLS authentication to the server."),
        ("--client-key", "The PEM key of -client-cert."),
    ):
        func = click.option(name, expose_value=False, callback=_remember(name[2:]), help=help_text)(func)
    func = click.option(
        "--tls-skip-verify",
        is_flag=True,
        expose_value=False,
        callback=_remember("tls-skip-verify"),
        help="Do not verify the server's certificate (insecure).",
    )(func)
    return click.option(
        "--namespace", "--ns", expose_value=False, callback=_remember("namespace"), help="Namespace."
    )(func)


def duration_flag(flag: str) -> Callable[[click.Context, click.Parameter, Any], int | None]:
    """A click callback that reads a duration flag ("30s", "1h", or bare seconds) as whole seconds.

    A bad value fails as Go's flag package fails it: `invalid value "x" for flag -NAME: ...`, exit 1.
    """

    def callback(_: click.Context, __: click.Parameter, value: str | None) -> int | None:
        if value is None:
            return None
        try:
            return parse_duration(value)
        except ValueError:
            raise Failure(
                f'invalid value "{value}" for flag -{flag}: time: invalid duration "{value}"', USAGE_EXIT
            ) from None

    return callback


def _remember_wrap_ttl(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    seconds = duration_flag("wrap-ttl")(ctx, param, value)
    ctx.meta["strongroom.wrap-ttl"] = format_duration(seconds) if seconds else None


def wrap_option(func: F) -> F:
    """-wrap-ttl=DURATION (or *_WRAP_TTL in the environment): ask the server to wrap the response in a
    single-use token with this TTL; `strongroom unwrap` reads it back."""
    return click.option(
        "--wrap-ttl",
        expose_value=False,
        callback=_remember_wrap_ttl,
        envvar=["STRONGROOM_WRAP_TTL", "VAULT_WRAP_TTL", "BAO_WRAP_TTL"],
        help="Wrap the response in a token with this TTL.",
    )(func)


def format_option(func: F) -> F:
    """-format=table|json|yaml."""
    return click.option(
        "--format",
        expose_value=False,
        callback=_remember("format"),
        type=click.Choice(FORMATS, case_sensitive=False),
        default="table",
        help="Output format.",
    )(func)


def field_option(func: F) -> F:
    """-field=NAME: print only one field's value."""
    return click.option(
        "--field", expose_value=False, callback=_remember("field"), help="Print only this field."
    )(func)


def output_format() -> str:
    """The -format of the running command (table when the command has none)."""
    value = click.get_current_context().meta.get("strongroom.format")
    return str(value or "table").lower()


def output_field() -> str | None:
    """The -field of the running command, if given."""
    value = click.get_current_context().meta.get("strongroom.field")
    return str(value) if value else None


def client(token: str | None = None) -> Client:
    """The running command's client: -address and -namespace over the environment; closed on exit.

    With `token`, a separate client that uses that token instead of the configured one.
    """
    # Imported here: the client (and httpx) is not loaded by commands that never talk to a server.
    from strongroom.client import Client, TLSOptions

    ctx = click.get_current_context()
    existing = ctx.meta.get("strongroom.client")
    if token is None and isinstance(existing, Client):
        return existing
    kwargs: dict[str, Any] = {}
    if ctx.meta.get("strongroom.namespace"):
        kwargs["namespace"] = ctx.meta["strongroom.namespace"]
    kwargs["tls"] = TLSOptions(
        ca_cert=ctx.meta.get("strongroom.ca-cert") or "",
        skip_verify=bool(ctx.meta.get("strongroom.tls-skip-verify")),
        client_cert=ctx.meta.get("strongroom.client-cert") or "",
        client_key=ctx.meta.get("strongroom.client-key") or "",
    )
    if ctx.meta.get("strongroom.wrap-ttl"):
        kwargs["wrap_ttl"] = ctx.meta["strongroom.wrap-ttl"]
    made = Client.from_env(address=ctx.meta.get("strongroom.address"), token=token, **kwargs)
    if token is None:
        ctx.meta["strongroom.client"] = made
    ctx.call_on_close(made.close)
    return made


@contextmanager
def api_errors(prefix: str = "") -> Iterator[None]:
    """Turn a ClientError into a Failure (exit 2) whose message starts with `prefix`, as Vault's does."""
    from strongroom.client import ClientError

    try:
        yield
    except ClientError as exc:
        raise Failure(f"{prefix}: {exc}" if prefix else str(exc)) from None


def parse_kv_args(args: Sequence[str]) -> dict[str, Any]:
    """Vault's `key=value` arguments: `key=@file` reads a file, `key=-` reads stdin, a repeated key gives
    a list, and a single `-` argument reads a whole JSON object from stdin."""
    if list(args) == ["-"]:
        try:
            document = json.loads(sys.stdin.read())
        except ValueError as exc:
            raise Failure(f"Failed to parse JSON input: {exc}", USAGE_EXIT) from None
        if not isinstance(document, dict):
            raise Failure("Failed to parse JSON input: the input is not a JSON object", USAGE_EXIT)
        return document
    data: dict[str, Any] = {}
    for arg in args:
        key, equals, raw = arg.partition("=")
        if not equals or not key:
            raise Failure(
                f'Failed to parse K=V data: invalid key/value pair "{arg}": format must be key=value',
                USAGE_EXIT,
            )
        value = _argument_value(raw)
        if key not in data:
            data[key] = value
        elif isinstance(data[key], list):
            data[key].append(value)
        else:
            data[key] = [data[key], value]
    return data


def _argument_value(raw: str) -> str:
    if raw == "-":
        return sys.stdin.read()
    if raw.startswith("@"):
        try:
            return Path(raw[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise Failure(
                f"Failed to parse K=V data: error reading {raw[1:]}: {exc.strerror}", USAGE_EXIT
            ) from None
    return raw


def split_list(values: Sequence[str]) -> list[str]:
    """Repeated list flags, each of which may also hold comma-separated items (`-policy=a,b -policy=c`)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]
