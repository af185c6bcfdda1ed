"""`strongroom login -method=oidc`: the OIDC browser login as Vault's CLI does it. A local listener (default
localhost:8250) waits at /oidc/callback; the server's auth_url (redirect_uri http://localhost:8250/oidc/callback,
a fresh client_nonce) is opened in a browser or printed (skip_browser=true); the browser's redirect brings the
code and state to the listener, which completes the login at the server's oidc/callback. With
callbackmode=direct the browser goes back to the server itself and the CLI polls oidc/poll for the token.

Layer: cli. Imports click, stdlib's http.server and webbrowser, `strongroom.cli.flags` and the client.

Invariant: the listener answers one callback and closes; the login's token goes no further than the
returned response (login.py stores it); the pages it serves escape everything they show.
"""

from __future__ import annotations

import html
import secrets
import string
import sys
import threading
import time
import webbrowser
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import click

from strongroom.cli.flags import USAGE_EXIT, Failure, api_errors, client

if TYPE_CHECKING:
    from strongroom.client import Client

DEFAULTS = {"listenaddress": "localhost", "port": "8250", "callbackmode": "client"}
CLIENT_DEFAULTS = {"callbackhost": "localhost", "callbackmethod": "http"}
"""The redirect's host and scheme in client mode; in direct mode they are the server's."""
WAIT_SECONDS = 120.0
"""How long the listener waits for the browser (Vault's two minutes)."""
_BASE62 = string.ascii_letters + string.digits
_SUCCESS_PAGE = (
    "<!DOCTYPE html><html><head><title>Authentication Succeeded</title></head><body>"
    "<h1>Signed in via your OIDC provider</h1>"
    "<p>You can now close this window and start using strongroom.</p>"
    "</body></html>"
)


def _flag(settings: Mapping[str, str], name: str) -> bool:
    value = settings.get(name, "false").strip().lower()
    if value in ("1", "t", "true"):
        return True
    if value in ("0", "f", "false"):
        return False
    raise Failure(
        f'failed to parse value for "{name}", err=strconv.ParseBool: parsing "{value}": invalid syntax'
    )


def _error_page(message: str) -> str:
    return (
        "<!DOCTYPE html><html><head><title>Authentication Failed</title></head><body>"
        f"<h1>Login error</h1><p>{html.escape(message)}</p></body></html>"
    )


class _Callback:
    """The one callback the listener waits for, and what completing it gave."""

    def __init__(self, http: Client, mount: str, client_nonce: str) -> None:
        self.http = http
        self.mount = mount
        self.client_nonce = client_nonce
        self.done = threading.Event()
        self.secret: dict[str, Any] | None = None
        self.error = ""

    def complete(self, method: str, fields: Mapping[str, str]) -> str:
        """Finish the login at the server; the page to show in the browser."""
        from strongroom.client import ClientError

        data = {
            "state": fields.get("state", ""),
            "code": fields.get("code", ""),
            "client_nonce": self.client_nonce,
        }
        http = self.http
        try:
            if method == "POST":
                # form_post: hand the server the code or ID token first, then complete as a redirect would.
                # As Vault's CLI, the answer (a page meant for the UI) is not read: the GET tells.
                http.send(
                    "POST",
                    f"auth/{self.mount}/oidc/callback",
                    json={**data, "id_token": fields.get("id_token", "")},
                )
            self.secret = (
                http.request("GET", f"auth/{self.mount}/oidc/callback", params=data, wrap=False) or {}
            )
        except ClientError as exc:
            self.error = str(exc)
            return _error_page(self.error)
        finally:
            self.done.set()
        return _SUCCESS_PAGE


def _handler(callback: _Callback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str, fields: Mapping[str, str]) -> None:
            if urlsplit(self.path).path != "/oidc/callback" or callback.done.is_set():
                self.send_error(404)
                return
            page = callback.complete(method, fields).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)
            self._answer("GET", {k: v[0] for k, v in query.items()})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(min(length, 1 << 20)).decode("latin-1"))
            self._answer("POST", {k: v[0] for k, v in form.items()})

        def log_message(self, format: str, *args: Any) -> None:
            # The request line carries the authorization code: never printed.
            return

    return Handler


def oidc_login(mount: str, settings: dict[str, str]) -> dict[str, Any]:
    """The login response of a completed browser login at the oidc mount `mount`."""
    settings = {**DEFAULTS, **settings}
    mode = settings["callbackmode"]
    if mode not in ("client", "direct"):
        raise Failure(f'Error authenticating: callback mode "{mode}" is not supported', USAGE_EXIT)
    skip_browser = _flag(settings, "skip_browser")
    http = client()
    http.clear_token()
    redirect_uri = _redirect_uri(settings, http.address, mount)
    client_nonce = "".join(secrets.choice(_BASE62) for _ in range(20))
    role = settings.get("role", "")
    body = {"role": role, "redirect_uri": redirect_uri, "client_nonce": client_nonce}
    with api_errors("Error authenticating"):
        answer = http.request("PUT", f"auth/{mount}/oidc/auth_url", json=body, wrap=False) or {}
    data = answer.get("data") or {}
    auth_url = str(data.get("auth_url") or "")
    if not auth_url:
        raise Failure(
            f'Error authenticating: Unable to authorize role "{role}" with redirect_uri "{redirect_uri}". '
            "Check the server logs for more information."
        )
    state, interval = str(data.get("state") or ""), str(data.get("poll_interval") or "")
    if mode == "direct":
        if not state or not interval.isdigit():
            raise Failure("Error authenticating: no state or poll_interval returned in direct callback mode")
        _show(auth_url, skip_browser=skip_browser)
        return _poll(http, mount, {"state": state, "client_nonce": client_nonce}, int(interval))
    if state:
        raise Failure("Error authenticating: state returned in client callback mode, try direct")
    return _listen(http, mount, client_nonce, settings, auth_url, skip_browser=skip_browser)


def _redirect_uri(settings: Mapping[str, str], address: str, mount: str) -> str:
    """Where the provider sends the browser: the local listener, or in direct mode the server itself."""
    if settings["callbackmode"] == "direct":
        server = urlsplit(address)
        host = settings.get("callbackhost", server.hostname or "")
        method = settings.get("callbackmethod", server.scheme)
        port = settings.get("callbackport", f"{server.port}/v1/auth/{mount}")
        return f"{method}://{host}:{port}/oidc/callback"
    client_settings = {**CLIENT_DEFAULTS, **settings}
    port = client_settings.get("callbackport") or settings["port"]
    return f"{client_settings['callbackmethod']}://{client_settings['callbackhost']}:{port}/oidc/callback"


def _poll(http: Client, mount: str, body: Mapping[str, str], interval: int) -> dict[str, Any]:
    """Direct mode: ask the server for the login's result until the user has completed it."""
    from strongroom.client import ClientError

    while True:
        time.sleep(interval)
        try:
            return http.request("PUT", f"auth/{mount}/oidc/poll", json=dict(body), wrap=False) or {}
        except ClientError as exc:
            if exc.errors[-1:] == ["slow_down"]:
                interval *= 2
            elif exc.errors[-1:] != ["authorization_pending"]:
                raise Failure(f"Error authenticating: {exc}") from None


def _listen(
    http: Client,
    mount: str,
    client_nonce: str,
    settings: Mapping[str, str],
    auth_url: str,
    *,
    skip_browser: bool,
) -> dict[str, Any]:
    """Client mode: wait on the local listener for the browser's redirect and complete the login."""
    callback = _Callback(http, mount, client_nonce)
    try:
        listener = HTTPServer((settings["listenaddress"], int(settings["port"])), _handler(callback))
    except (OSError, ValueError) as exc:
        raise Failure(
            f"Error authenticating: listen tcp {settings['listenaddress']}:{settings['port']}: {exc}"
        ) from None
    with listener:
        thread = threading.Thread(target=listener.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        thread.start()
        try:
            _show(auth_url, skip_browser=skip_browser)
            if not callback.done.wait(WAIT_SECONDS):
                raise Failure("Error authenticating: timed out waiting for response from provider")
        finally:
            listener.shutdown()
    if callback.error:
        raise Failure(f"Error authenticating: {callback.error}")
    return callback.secret or {}


def _show(auth_url: str, *, skip_browser: bool) -> None:
    lead = "Open the following link in your browser" if skip_browser else "Launching browser to"
    click.echo(f"Complete the login via your OIDC provider. {lead}:\n\n    {auth_url}\n\n\n", err=True)
    if not skip_browser and not webbrowser.open(auth_url):
        click.echo(
            "Error attempting to automatically open browser: no browser found.\n"
            "Please visit the authorization URL manually.",
            err=True,
        )
    click.echo("Waiting for OIDC authentication to complete...", err=True)
    sys.stderr.flush()
