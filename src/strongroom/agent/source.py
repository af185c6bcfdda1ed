"""The agent's `SecretSource`: templates read Vault through the HTTP API with the agent's token.

Layer: agent. Imports httpx, stdlib and the template engine's Protocol.

KV v2 paths are mapped as consul-template maps them: on a version 2 mount, `secret "secret/db"` reads
secret/data/db and `secrets "secret/"` lists secret/metadata/; a path already naming data/ or metadata/
is left as it is. The mount of a path is found with GET sys/internal/ui/mounts/<path> and cached per
mount; a server without that endpoint is taken as KV version 1.

Invariant: a SourceError names the method, path and status, never a response body or the token.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx


class SourceError(Exception):
    """A request of a template the server refused (`status`) or never answered (status 0)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class HttpSource:
    """Reads, writes and lists through `http` with the token `token()` returns at each request."""

    def __init__(self, http: httpx.AsyncClient, token: Callable[[], str]) -> None:
        self._http = http
        self._token = token
        # mount path ("secret/") -> KV version; looked up once per mount.
        self._mounts: dict[str, int] = {}

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Vault-Token": self._token()}
        try:
            return await self._http.request(method, f"/v1/{path}", headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise SourceError(f"{method} {path}: {type(exc).__name__}") from None

    async def _mount_of(self, path: str) -> tuple[str, int]:
        for mount, version in self._mounts.items():
            if path.startswith(mount):
                return mount, version
        response = await self._send("GET", f"sys/internal/ui/mounts/{path}")
        if response.status_code != 200:
            return "", 1
        data = response.json().get("data") or {}
        mount = str(data.get("path", ""))
        version = 2 if str((data.get("options") or {}).get("version", "")) == "2" else 1
        if mount:
            self._mounts[mount] = version
        return mount, version

    async def api_path(self, path: str, family: str = "data") -> str:
        """The API path a template's `path` names: on a KV v2 mount, under `family` (data or metadata)."""
        path = path.strip("/")
        mount, version = await self._mount_of(path)
        if version != 2 or not mount:
            return path
        # The mount itself (`secrets "secret/"`, stripped to "secret") lists the mount's root.
        rest = path[len(mount) :] if path.startswith(mount) else "" if f"{path}/" == mount else path
        if rest.startswith((f"{family}/", "data/", "metadata/")) or rest in ("data", "metadata"):
            return path
        return f"{mount}{family}/{rest}".rstrip("/")

    def _check(self, method: str, path: str, response: httpx.Response) -> None:
        if response.status_code >= 400:
            raise SourceError(f"{method} {path}: {response.status_code}", response.status_code)

    async def read(self, path: str) -> Mapping[str, Any] | None:
        api = await self.api_path(path)
        response = await self._send("GET", api)
        if response.status_code == 404:
            return None
        self._check("GET", api, response)
        body = response.json() if response.content.strip() else None
        return body if isinstance(body, dict) else None

    async def write(self, path: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        path = path.strip("/")
        response = await self._send("PUT", path, json=dict(data))
        self._check("PUT", path, response)
        body = response.json() if response.content.strip() else None
        return body if isinstance(body, dict) else None

    async def list(self, path: str) -> list[str]:
        api = await self.api_path(path, "metadata")
        response = await self._send("GET", api, params={"list": "true"})
        if response.status_code == 404:
            return []
        self._check("LIST", api, response)
        keys = (response.json().get("data") or {}).get("keys") or []
        return [str(key) for key in keys]
