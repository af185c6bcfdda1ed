"""A synchronous client for the Vault HTTP API (`/v1/...`), on httpx.

Layer: client. Imports httpx, `strongroom.client.errors` and `strongroom.client.token_helper`; never the
server. Used by the CLI, the agent and the tests.

Invariant: the token travels only in the X-Vault-Token header; it never appears in a URL, a repr, an
exception message or a log line (token arguments of token endpoints go in request bodies).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from strongroom.client.errors import ClientError, TransportError, UnusableTokenError
from strongroom.client.token_helper import read_token_file

DEFAULT_ADDRESS = "http://127.0.0.1:8200"
ADDRESS_VARIABLES = ("STRONGROOM_ADDR", "VAULT_ADDR", "BAO_ADDR")
TOKEN_VARIABLES = ("STRONGROOM_TOKEN", "VAULT_TOKEN", "BAO_TOKEN")
NAMESPACE_VARIABLES = ("STRONGROOM_NAMESPACE", "VAULT_NAMESPACE", "BAO_NAMESPACE")
CACERT_VARIABLES = ("STRONGROOM_CACERT", "VAULT_CACERT", "BAO_CACERT")
SKIP_VERIFY_VARIABLES = ("STRONGROOM_SKIP_VERIFY", "VAULT_SKIP_VERIFY", "BAO_SKIP_VERIFY")
CLIENT_CERT_VARIABLES = ("STRONGROOM_CLIENT_CERT", "VAULT_CLIENT_CERT", "BAO_CLIENT_CERT")
CLIENT_KEY_VARIABLES = ("STRONGROOM_CLIENT_KEY", "VAULT_CLIENT_KEY", "BAO_CLIENT_KEY")

JSONObject = dict[str, Any]


def _first_set(names: tuple[str, ...], environ: Mapping[str, str]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def address_from_env(environ: Mapping[str, str] | None = None) -> str:
    """The server address: STRONGROOM_ADDR, then VAULT_ADDR, then BAO_ADDR, else http://127.0.0.1:8200."""
    return _first_set(ADDRESS_VARIABLES, os.environ if environ is None else environ) or DEFAULT_ADDRESS


def token_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The token: STRONGROOM_TOKEN, VAULT_TOKEN, BAO_TOKEN, then the token file of `strongroom login`."""
    return _first_set(TOKEN_VARIABLES, os.environ if environ is None else environ) or read_token_file()


def namespace_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The namespace: STRONGROOM_NAMESPACE, VAULT_NAMESPACE or BAO_NAMESPACE, if any is set."""
    return _first_set(NAMESPACE_VARIABLES, os.environ if environ is None else environ)


def tls_from_env(environ: Mapping[str, str] | None = None) -> TLSOptions:
    """TLS settings from the *_CACERT, *_SKIP_VERIFY, *_CLIENT_CERT and *_CLIENT_KEY variables."""
    env = os.environ if environ is None else environ
    skip = (_first_set(SKIP_VERIFY_VARIABLES, env) or "").lower() in ("1", "t", "true")
    return TLSOptions(
        ca_cert=_first_set(CACERT_VARIABLES, env) or "",
        skip_verify=skip,
        client_cert=_first_set(CLIENT_CERT_VARIABLES, env) or "",
        client_key=_first_set(CLIENT_KEY_VARIABLES, env) or "",
    )


@dataclass(frozen=True, slots=True)
class TLSOptions:
    """How the client checks the server (a CA file, or no check at all) and proves itself (a client cert)."""

    ca_cert: str = ""
    skip_verify: bool = False
    client_cert: str = ""
    client_key: str = ""

    def merged(self, other: TLSOptions) -> TLSOptions:
        """`other`'s settings where it has them, else these."""
        return TLSOptions(
            ca_cert=other.ca_cert or self.ca_cert,
            skip_verify=other.skip_verify or self.skip_verify,
            client_cert=other.client_cert or self.client_cert,
            client_key=other.client_key or self.client_key,
        )

    def verify(self) -> ssl.SSLContext | bool:
        """What httpx takes as `verify`."""
        if self.skip_verify:
            return False
        if not (self.ca_cert or self.client_cert):
            return True
        context = ssl.create_default_context(cafile=self.ca_cert or None)
        if self.client_cert:
            context.load_cert_chain(self.client_cert, self.client_key or None)
        return context


class Client:
    """Talks to one server with one token. Paths are API paths without the `/v1/` prefix."""

    def __init__(
        self,
        address: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        namespace: str | None = None,
        transport: httpx.BaseTransport | None = None,
        tls: TLSOptions | None = None,
        wrap_ttl: str | None = None,
    ) -> None:
        # Values as UTF-8 bytes, as the Vault CLI sends a non-ASCII token (the server then refuses it).
        headers = {b"X-Vault-Request": b"true"}
        self._token_refused = token is not None and not token.isprintable()
        """The Vault CLI refuses to send a token with non-printable characters (api.validateToken)."""
        if token:
            headers[b"X-Vault-Token"] = token.encode()
        if namespace:
            headers[b"X-Vault-Namespace"] = namespace.encode()
        self.address = address.rstrip("/")
        self.namespace = namespace
        self.wrap_ttl = wrap_ttl
        """When set, every request but the client's own lookups asks the server to wrap its response."""
        self._http = httpx.Client(
            base_url=self.address,
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=(tls or TLSOptions()).verify(),
        )

    @classmethod
    def from_env(cls, *, address: str | None = None, token: str | None = None, **kwargs: Any) -> Client:
        """A client configured from the environment, with explicit arguments taking precedence."""
        kwargs.setdefault("namespace", namespace_from_env())
        kwargs["tls"] = tls_from_env().merged(kwargs.get("tls") or TLSOptions())
        return cls(address or address_from_env(), token or token_from_env(), **kwargs)

    def __repr__(self) -> str:
        return f"Client(address={self.address!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def has_token(self) -> bool:
        """True when requests carry a token (its value stays inside the client)."""
        return "X-Vault-Token" in self._http.headers

    def clear_token(self) -> None:
        """Send no token from now on: a login through an auth method must not carry a stale one."""
        self._http.headers.pop("X-Vault-Token", None)
        self._token_refused = False

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        wrap: bool = True,
        content: bytes | None = None,
    ) -> httpx.Response:
        """Send one request and return the response whatever its status; raises TransportError.

        `wrap=False` keeps the response unwrapped even when the client has a `wrap_ttl`; `content` is a
        raw body (a snapshot) sent instead of `json`.
        """
        url = f"/v1/{path.lstrip('/')}"
        if self._token_refused:
            raise UnusableTokenError()
        if wrap and self.wrap_ttl:
            headers = {**(headers or {}), "X-Vault-Wrap-TTL": self.wrap_ttl}
        try:
            return self._http.request(method, url, params=params, json=json, headers=headers, content=content)
        except httpx.HTTPError as exc:
            full_url = str(self._http.build_request(method, url, params=params).url)
            raise TransportError(_reason(exc), method=method, url=full_url) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: object = None,
        headers: Mapping[str, str] | None = None,
        wrap: bool = True,
    ) -> JSONObject | None:
        """Send one request; the decoded JSON body, or None for an empty body. Raises ClientError."""
        response = self.send(method, path, params=params, json=json, headers=headers, wrap=wrap)
        if response.status_code >= 400:
            raise _error_from(response)
        return _body(response)

    def raw(self, method: str, path: str, content: bytes | None = None) -> bytes:
        """Send `content` as it is and return the body as it is (snapshots); raises ClientError."""
        response = self.send(method, path, content=content, wrap=False)
        if response.status_code >= 400:
            raise _error_from(response)
        return response.content

    def read(self, path: str, params: Mapping[str, str] | None = None) -> JSONObject | None:
        """GET a path; None when nothing is there (a 404 that carries no data and no warnings)."""
        return self._tolerating_404("GET", path, params=params)

    def list(self, path: str) -> JSONObject | None:
        """List a path; None when there is nothing to list.

        Sent as GET with `list=true`, as the Vault CLI sends it: some HTTP stacks refuse the LIST method.
        """
        return self._tolerating_404("GET", path, params={"list": "true"})

    def write(self, path: str, data: Mapping[str, object] | None = None) -> JSONObject | None:
        """PUT `data` as JSON to a path; the response body, or None when the server sent none."""
        return self.request("PUT", path, json=dict(data or {}))

    def patch(self, path: str, data: Mapping[str, object]) -> JSONObject | None:
        """PATCH a path with a JSON merge patch (RFC 7386)."""
        return self.request(
            "PATCH", path, json=dict(data), headers={"Content-Type": "application/merge-patch+json"}
        )

    def delete(self, path: str, params: Mapping[str, str] | None = None) -> JSONObject | None:
        """DELETE a path; the response body (some endpoints return warnings), or None."""
        return self.request("DELETE", path, params=params)

    def kv_mount_info(self, path: str) -> tuple[str, int]:
        """The KV mount holding `path` and its version (1 or 2), as the Vault CLI detects them.

        A server without sys/internal/ui/mounts (404) is taken as KV version 1 with an unknown mount ("").
        """
        response = self.send("GET", f"sys/internal/ui/mounts/{path.lstrip('/')}", wrap=False)
        if response.status_code == 404:
            return "", 1
        if response.status_code >= 400:
            raise _error_from(response)
        data = (_body(response) or {}).get("data") or {}
        options = data.get("options") or {}
        version = 2 if str(options.get("version", "")) == "2" else 1
        return str(data.get("path", "")), version

    def _tolerating_404(
        self, method: str, path: str, params: Mapping[str, str] | None = None
    ) -> JSONObject | None:
        response = self.send(method, path, params=params)
        if response.status_code == 404:
            body = _body_or_none(response)
            if body is not None and (body.get("data") or body.get("warnings")):
                return body
            return None
        if response.status_code >= 400:
            raise _error_from(response)
        return _body(response)


def _reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        cause = exc.__context__ or exc.__cause__
        while cause is not None and not isinstance(cause, ssl.SSLError | ConnectionRefusedError):
            cause = cause.__context__ or cause.__cause__
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"tls: failed to verify certificate: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return f"tls: {cause.reason or 'handshake failed'}"
        return "connection refused"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    return type(exc).__name__


def _body(response: httpx.Response) -> JSONObject | None:
    if response.status_code == 204 or not response.content.strip():
        return None
    body = response.json()
    if not isinstance(body, dict):
        raise ClientError(
            response.status_code,
            ["the server answered with JSON that is not an object"],
            method=response.request.method,
            url=str(response.request.url),
        )
    return body


def _body_or_none(response: httpx.Response) -> JSONObject | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _error_from(response: httpx.Response) -> ClientError:
    body = _body_or_none(response)
    errors = body.get("errors") if body is not None else None
    if isinstance(errors, list):
        messages = [str(error) for error in errors]
    else:
        text = response.text.strip()
        messages = [text] if text else []
    return ClientError(
        response.status_code, messages, method=response.request.method, url=str(response.request.url)
    )
