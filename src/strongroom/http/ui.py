"""The web UI's static files at /ui/, and the redirect of / and /ui there (as Vault's `ui = true`).

Layer: http. Imports the stdlib only; the files themselves ship in the strongroom.ui package.

The UI is a client like any other: it talks to the public /v1 API from the browser, so this module serves
bytes and headers and nothing else.

Invariant: every UI response carries the strict Content-Security-Policy below (scripts and styles only from
files of this origin: no inline code, no eval) and refuses to be framed.
Invariant: only the files present in the package are served; a path never reaches the file system.
"""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from typing import Any

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

PREFIX = "/ui/"
# connect-src 'self' covers the events WebSocket on the same host and port (CSP level 3 matches ws: and wss:
# to an http: or https: origin).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; manifest-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'; require-trusted-types-for 'script'; trusted-types 'none'"
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
_PATH_ROUTES = ("vault/auth/", "vault/identity/oidc/provider/")
_SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the UI, held in memory with its validator."""

    body: bytes
    content_type: str
    etag: str


def _walk(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in folder.iterdir():
        if entry.is_dir():
            yield from _walk(entry, f"{prefix}{entry.name}/")
        elif "." + entry.name.rsplit(".", 1)[-1] in _TYPES:
            yield prefix + entry.name, entry


def load_assets() -> dict[str, Asset]:
    """Every file of the packaged UI by its path under /ui/ ("" is index.html)."""
    assets: dict[str, Asset] = {}
    for name, entry in _walk(importlib.resources.files("strongroom.ui") / "static", ""):
        body = entry.read_bytes()
        content_type = _TYPES["." + name.rsplit(".", 1)[-1]]
        assets[name] = Asset(body, content_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
    assets[""] = assets["index.html"]
    return assets


class WebUI:
    """Answers /, /ui and /ui/... from the packaged files; anything else is left to the API."""

    def __init__(self) -> None:
        self._assets = load_assets()

    def handles(self, path: str) -> bool:
        """Whether `path` is the UI's (the API keeps everything under /v1/)."""
        return path in ("/", "/ui") or path.startswith(PREFIX)

    async def serve(self, scope: Scope, send: Send) -> None:
        """Answer one request for a path `handles` accepted."""
        path: str = scope["path"]
        method: str = scope["method"]
        if path in ("/", "/ui"):
            await _respond(send, 307, [(b"location", PREFIX.encode()), (b"cache-control", b"no-store")])
            return
        name = path.removeprefix(PREFIX)
        # Vault's UI routes that other parties link to by path (the OIDC login's redirect_uri, the OIDC
        # provider's authorization_endpoint) draw the page, which reads its route from the path.
        asset = self._assets.get("" if name.startswith(_PATH_ROUTES) else name)
        if asset is None:
            await _respond(send, 404, [(b"cache-control", b"no-store")], b"not found\n", "text/plain")
            return
        if method not in ("GET", "HEAD"):
            await _respond(send, 405, [(b"allow", b"GET, HEAD"), (b"cache-control", b"no-store")])
            return
        # The page itself is never cached, so a new server version is picked up at once; the files it loads
        # are revalidated by their ETag (their names carry no hash, so they cannot be cached for long).
        cache = b"no-store" if asset.content_type.startswith("text/html") else b"no-cache"
        headers = [(b"cache-control", cache), (b"etag", asset.etag.encode())]
        request_headers = dict(scope.get("headers") or ())
        if request_headers.get(b"if-none-match", b"").decode("latin-1") == asset.etag:
            await _respond(send, 304, headers)
            return
        body = b"" if method == "HEAD" else asset.body
        await _respond(send, 200, headers, body, asset.content_type, length=len(asset.body))


async def _respond(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes = b"",
    content_type: str = "",
    *,
    length: int | None = None,
) -> None:
    headers = [*headers, *_SECURITY_HEADERS]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    if status != 304:
        headers.append((b"content-length", b"%d" % (len(body) if length is None else length)))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
