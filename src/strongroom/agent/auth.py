"""Auto-auth for the agent: log in with the configured method and renew the resulting token.

Layer: agent. Imports httpx, stdlib and config.agent_model (the method settings); never the server.

Methods: approle (role ID and secret ID files; a secret ID file may hold a response-wrapping token,
unwrapped through sys/wrapping/unwrap), token_file (a token used as it is), jwt (a JWT file),
kubernetes (the pod's service-account token file, read again at every login) and cert (a client
certificate presented over TLS: the method's own, else the `vault` stanza's).
Files marked for removal after reading are removed only after a successful login, as Vault Agent does,
so a failed attempt can be retried with the same credential.

Invariant: no token, secret ID or JWT appears in an exception message or a log line; errors name the
method, the endpoint and the server's status and error strings only.
"""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from strongroom.config.agent_model import (
    AppRoleLogin,
    AutoAuthMethod,
    CertLogin,
    JWTLogin,
    KubernetesLogin,
    TokenFileLogin,
)


class AuthError(Exception):
    """A login, unwrap or renewal the server refused or never answered; `status` is 0 with no answer."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class AgentToken:
    """The agent's token: `ttl` in seconds (0 for none) and whether renew-self may extend it."""

    token: str = field(repr=False)
    ttl: int
    renewable: bool


async def call(
    http: httpx.AsyncClient, method: str, path: str, *, token: str = "", body: object = None
) -> dict[str, Any]:
    """One request to /v1/<path>; the JSON body ({} when empty). Raises AuthError on failure."""
    headers = {"X-Vault-Token": token} if token else {}
    try:
        response = await http.request(method, f"/v1/{path}", json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise AuthError(f"{method} {path}: {type(exc).__name__}") from None
    if response.status_code >= 400:
        try:
            errors = response.json().get("errors") or []
        except ValueError:
            errors = []
        detail = "; ".join(str(e) for e in errors) or "no error message"
        raise AuthError(f"{method} {path}: {response.status_code}: {detail}", response.status_code)
    if response.status_code == 204 or not response.content.strip():
        return {}
    body_json = response.json()
    return body_json if isinstance(body_json, dict) else {}


def _read_secret_file(path: str, what: str) -> str:
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise AuthError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    if not text:
        raise AuthError(f"the {what} file {path} is empty")
    return text


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise AuthError(f"cannot remove {path}: {exc.strerror}") from None


def _token_from_auth(body: dict[str, Any], what: str) -> AgentToken:
    auth = body.get("auth")
    if not isinstance(auth, dict) or not auth.get("client_token"):
        raise AuthError(f"{what}: the response carried no token")
    return AgentToken(
        str(auth["client_token"]), int(auth.get("lease_duration") or 0), bool(auth.get("renewable"))
    )


async def _unwrap_secret_id(http: httpx.AsyncClient, wrapping_token: str, expected_path: str) -> str:
    """The secret ID a wrapping token holds, after checking the token was made by `expected_path`."""
    lookup = await call(http, "POST", "sys/wrapping/lookup", body={"token": wrapping_token})
    creation_path = str((lookup.get("data") or {}).get("creation_path", ""))
    if creation_path.strip("/") != expected_path.strip("/"):
        raise AuthError("the wrapped secret ID was not created at secret_id_response_wrapping_path")
    body = await call(http, "POST", "sys/wrapping/unwrap", token=wrapping_token)
    secret_id = (body.get("data") or {}).get("secret_id")
    if not isinstance(secret_id, str) or not secret_id:
        raise AuthError("the unwrapped response holds no secret_id")
    return secret_id


async def _approle(http: httpx.AsyncClient, mount: str, login: AppRoleLogin) -> AgentToken:
    body: dict[str, str] = {"role_id": _read_secret_file(login.role_id_file_path, "role ID")}
    if login.secret_id_file_path:
        secret_id = _read_secret_file(login.secret_id_file_path, "secret ID")
        if login.secret_id_response_wrapping_path:
            secret_id = await _unwrap_secret_id(http, secret_id, login.secret_id_response_wrapping_path)
        body["secret_id"] = secret_id
    token = _token_from_auth(await call(http, "POST", f"auth/{mount}/login", body=body), "approle login")
    if login.secret_id_file_path and login.remove_secret_id_file_after_reading:
        _remove(login.secret_id_file_path)
    return token


async def _jwt(http: httpx.AsyncClient, mount: str, login: JWTLogin) -> AgentToken:
    jwt = _read_secret_file(login.path, "JWT")
    body = {"role": login.role, "jwt": jwt}
    token = _token_from_auth(await call(http, "POST", f"auth/{mount}/login", body=body), "jwt login")
    if login.remove_jwt_after_reading:
        if not login.remove_jwt_follows_symlinks or not os.path.islink(login.path):
            _remove(login.path)
        else:
            _remove(os.path.realpath(login.path))
    return token


async def _kubernetes(http: httpx.AsyncClient, mount: str, login: KubernetesLogin) -> AgentToken:
    # Read at every login, never cached: kubelet replaces the projected token before it expires.
    jwt = _read_secret_file(login.token_path, "service account token")
    body = {"role": login.role, "jwt": jwt}
    return _token_from_auth(await call(http, "POST", f"auth/{mount}/login", body=body), "kubernetes login")


async def _token_file(http: httpx.AsyncClient, login: TokenFileLogin) -> AgentToken:
    token = _read_secret_file(login.token_file_path, "token")
    data = (await call(http, "GET", "auth/token/lookup-self", token=token)).get("data") or {}
    return AgentToken(token, int(data.get("ttl") or 0), bool(data.get("renewable")))


def _cert_client(http: httpx.AsyncClient, login: CertLogin) -> httpx.AsyncClient | None:
    """A client presenting the method's own certificate, or None to use the `vault` stanza's."""
    if not login.client_cert:
        return None
    try:
        context = ssl.create_default_context(cafile=login.ca_cert or None)
        context.load_cert_chain(login.client_cert, login.client_key or None)
    except (OSError, ssl.SSLError) as exc:
        raise AuthError(f"cannot load the client certificate {login.client_cert}: {exc}") from None
    return httpx.AsyncClient(base_url=http.base_url, verify=context, timeout=http.timeout)


async def _cert(http: httpx.AsyncClient, mount: str, login: CertLogin) -> AgentToken:
    body = {"name": login.name} if login.name else {}
    own = _cert_client(http, login)
    if own is None:
        return _token_from_auth(await call(http, "POST", f"auth/{mount}/login", body=body), "cert login")
    async with own:
        answer = await call(own, "POST", f"auth/{mount}/login", body=body)
    return _token_from_auth(answer, "cert login")


async def login(http: httpx.AsyncClient, method: AutoAuthMethod) -> AgentToken:
    """Authenticate with the configured auto-auth method."""
    mount = method.mount_path.strip("/").removeprefix("auth/") or method.type
    config = method.login
    if isinstance(config, AppRoleLogin):
        return await _approle(http, mount, config)
    if isinstance(config, JWTLogin):
        return await _jwt(http, mount, config)
    if isinstance(config, KubernetesLogin):
        return await _kubernetes(http, mount, config)
    if isinstance(config, CertLogin):
        return await _cert(http, mount, config)
    return await _token_file(http, config)


async def renew_self(
    http: httpx.AsyncClient, token: AgentToken, method: AutoAuthMethod | None = None
) -> AgentToken:
    """Extend the token with auth/token/renew-self; AuthError (403 when revoked) when that fails. A cert
    login's token is renewed over the same certificate (the server binds renewals to it, and Vault Agent
    renews through the client it logged in with)."""
    own = _cert_client(http, method.login) if method and isinstance(method.login, CertLogin) else None
    if own is None:
        body = await call(http, "POST", "auth/token/renew-self", token=token.token, body={})
    else:
        async with own:
            body = await call(own, "POST", "auth/token/renew-self", token=token.token, body={})
    renewed = _token_from_auth(body, "renew-self")
    return AgentToken(token.token, renewed.ttl, renewed.renewable)
