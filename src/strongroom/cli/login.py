"""`strongroom login`: authenticate with a token or an auth method and store the token for later commands.

Layer: cli. Imports click, `strongroom.cli.flags`, `strongroom.cli.output` and the client.

Methods: token (the default: the token is checked with lookup-self), userpass (username=, password=),
approle (role_id=, secret_id=), jwt (role=, jwt=), kubernetes (role=, jwt=), cert (name=, optional; the
certificate is the TLS client certificate of -client-cert and -client-key) and oidc (the browser login of
login_oidc.py: role=, port=, skip_browser=...); -path names a mount other than the method's name.
KEY=VALUE arguments read `@file` and `-` (stdin) as everywhere else, so secrets need not be in argv.

Invariant: the token is verified (lookup-self, or issued by the login itself) before it is stored, stored
with mode 0600 atomically, and printed only when asked for (-field=token, -token-only, -no-store, or
-format=json|yaml).
Invariant: a password is never echoed: it is prompted for without echo on a terminal, else read from stdin.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from strongroom.cli.flags import (
    USAGE_EXIT,
    Failure,
    VaultCommand,
    api_errors,
    api_options,
    client,
    field_option,
    format_option,
    output_field,
    output_format,
    parse_kv_args,
    wrap_option,
)
from strongroom.cli.generic import show_secret
from strongroom.cli.output import key_value_table, print_field, secret_rows
from strongroom.client import store_token
from strongroom.client.client import TOKEN_VARIABLES

METHODS = ("token", "userpass", "approle", "jwt", "kubernetes", "cert", "oidc")

_SUCCESS = (
    "Success! You are now authenticated. The token information displayed below is\n"
    'already stored in the token helper. You do NOT need to run "strongroom login"\n'
    "again. Future Vault requests will automatically use this token.\n"
)
_NOT_STORED = (
    "The token was not stored in token helper. Set the STRONGROOM_TOKEN environment\n"
    "variable or pass the token below with each request to Vault.\n"
)


def _auth_response(value: str, lookup: dict[str, Any]) -> dict[str, Any]:
    data = lookup.get("data") or {}
    auth = {
        "client_token": value,
        "accessor": data.get("accessor", ""),
        "policies": data.get("policies"),
        "token_policies": data.get("policies"),
        "identity_policies": data.get("identity_policies"),
        "metadata": data.get("meta"),
        "orphan": data.get("orphan", False),
        "entity_id": data.get("entity_id", ""),
        "lease_duration": data.get("ttl", 0),
        "renewable": data.get("renewable", False),
    }
    return {"request_id": lookup.get("request_id", ""), "data": None, "warnings": None, "auth": auth}


def _token_argument(value: str | None) -> str:
    if value == "-":
        return sys.stdin.read().strip()
    if value:
        return value.strip()
    return str(click.prompt("Token (will be hidden)", hide_input=True, err=True)).strip()


def _token_login(args: tuple[str, ...]) -> dict[str, Any]:
    if len(args) > 1:
        raise Failure(f"Too many arguments (expected 0-1, got {len(args)})", USAGE_EXIT)
    secret_value = _token_argument(args[0] if args else None)
    if not secret_value:
        raise Failure("Error authenticating: no token given", USAGE_EXIT)
    with api_errors("Error authenticating"):
        lookup = client(token=secret_value).request("GET", "auth/token/lookup-self", wrap=False) or {}
    return _auth_response(secret_value, lookup)


def _require(data: dict[str, Any], key: str) -> str:
    value = data.pop(key, None)
    if not value:
        raise Failure(f"Error authenticating: '{key}' must be specified")
    return str(value)


def _password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password (will be hidden)", hide_input=True, err=True))
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


def _method_request(method: str, mount: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The login path of `method` under `mount`, and its body."""
    if method == "userpass":
        username = _require(data, "username")
        if "password" not in data:
            data["password"] = _password()
        return f"auth/{mount}/login/{username}", data
    if method == "approle":
        _require(dict(data), "role_id")
        return f"auth/{mount}/login", data
    if method == "cert":  # the credential is the TLS client certificate (-client-cert, -client-key)
        return f"auth/{mount}/login", data
    if method == "kubernetes":
        _require(dict(data), "role")
    _require(dict(data), "jwt")
    return f"auth/{mount}/login", data


def _unwrapped(secret: dict[str, Any]) -> dict[str, Any]:
    """The response inside a wrapped login response; the CLI's own wrap TTL must not re-wrap it."""
    token = str((secret.get("wrap_info") or {}).get("token", ""))
    with api_errors("Error authenticating"):
        inner = client(token=token).request("PUT", "sys/wrapping/unwrap", wrap=False)
    return inner or {}


@click.command(cls=VaultCommand)
@api_options
@wrap_option
@format_option
@field_option
@click.option("--method", default="token", help=f"The auth method: {', '.join(METHODS)}.")
@click.option("--path", "mount", help="The mount of the auth method (the method's name when absent).")
@click.option("--no-store", is_flag=True, help="Do not store the token in the token file; print it.")
@click.option("--token-only", is_flag=True, help="Print only the token; do not store it.")
@click.argument("args", nargs=-1, metavar="[TOKEN | KEY=VALUE...]")
def login(args: tuple[str, ...], method: str, mount: str | None, no_store: bool, token_only: bool) -> None:
    """Authenticate with TOKEN (or stdin for -, or a prompt), or with -method and its KEY=VALUE
    credentials, and store the token for later commands."""
    if method not in METHODS:
        raise Failure(
            f'Unknown auth method: {method}. Use "strongroom auth list" to see the complete list of\n'
            "auth methods. Additionally, some auth methods are only available via the HTTP\nAPI.",
            USAGE_EXIT,
        )
    no_store = no_store or token_only
    if method == "token":
        secret = _token_login(args)
    elif method == "oidc":
        # Imported here: the listener (http.server, webbrowser) is loaded only by the browser login.
        from strongroom.cli.login_oidc import oidc_login

        settings = {key: str(value) for key, value in parse_kv_args(args).items()}
        secret = oidc_login((mount or method).strip("/"), settings)
    else:
        path, body = _method_request(method, (mount or method).strip("/"), parse_kv_args(args))
        http = client()
        http.clear_token()
        with api_errors("Error authenticating"):
            secret = http.request("PUT", path, json=body) or {}
        if secret.get("wrap_info"):
            if token_only:
                print_field(secret["wrap_info"].get("token", ""), "table")
                return
            if no_store:
                show_secret(secret)
                return
            secret = _unwrapped(secret)
    _finish(secret, no_store=no_store, token_only=token_only)


def _finish(secret: dict[str, Any], *, no_store: bool, token_only: bool) -> None:
    auth = secret.get("auth")
    if not isinstance(auth, dict) or not auth.get("client_token"):
        raise Failure(
            "Vault returned a secret, but the secret has no authentication information attached. This "
            "should never happen and is likely a bug.",
        )
    if token_only:
        print_field(auth["client_token"], "table")
        return
    if not no_store:
        store_token(str(auth["client_token"]))
        if any(os.environ.get(name) for name in TOKEN_VARIABLES):
            click.echo(
                "WARNING! A token environment variable (STRONGROOM_TOKEN, VAULT_TOKEN or BAO_TOKEN) is set; "
                "it takes precedence over the stored token.\n",
                err=True,
            )
    else:
        click.echo(_NOT_STORED, err=True)
    if output_field() or output_format() != "table":
        show_secret(secret)
        return
    if not no_store:
        click.echo(_SUCCESS)
    click.echo(key_value_table(row for row in secret_rows(secret) if no_store or row[0] != "token"))
