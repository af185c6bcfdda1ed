"""The agent's API proxy: forward each request a listener receives to the server, adding the agent's token.

Layer: agent. Imports httpx, orjson, stdlib, config.agent_model and the caches; never the server.
`agent.listen` serves the ASGI application defined here on the configured listeners.

    app = ProxyApp(http, settings, token=lambda: current_token)    # an ASGI application

Every method (LIST included), path, query string, header and body is forwarded to the `vault` address
and the response comes back with its status, headers and body, streamed. The token the request carries
upstream follows Vault Agent's `api_proxy { use_auto_auth_token = ... }`:

    false (or no api_proxy)   the request goes as it came
    true                      a request without X-Vault-Token (or Authorization: Bearer) gets the agent's
    "force"                   the agent's token replaces the client's

With `cache {}`, a request the lease cache (agent.lease_cache) holds is answered from it, a KV read goes
through the static-secret cache (agent.static_cache), and with the lease cache on every other request is
forwarded whole, so that its answer can be kept; without it, requests and answers are streamed. As from
Vault Agent, every answer says `X-Cache: HIT` (with `Age`, in seconds) or `X-Cache: MISS`. Whether
the server answers is recorded in one agent.outage, which logs each outage once.

One deliberate difference: with `true`, Vault Agent looks at X-Vault-Token only, so a client sending
`Authorization: Bearer` is forwarded as the agent (Vault reads X-Vault-Token first). Here that client's
own token is kept: a proxy should not grant a client more than the token it chose to send.

Invariant: the agent's token leaves this module only in the X-Vault-Token header of requests to the
server. A lookup or renewal of it through the proxy (auth/token/lookup-self, renew-self, lookup, renew)
comes back without its `id`/`client_token` and `accessor`, as Vault Agent strips them; asked for wrapped
(which Vault Agent lets through), it is refused, since the wrapped response cannot be stripped.
Invariant: log lines name the method, path and status; never a header, query string or body.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import orjson

from strongroom.agent.lease_cache import LeaseCache, Outbound, api_path
from strongroom.agent.outage import Outage, server_failed
from strongroom.agent.static_cache import Answer, StaticCache
from strongroom.config.agent_model import ApiProxy

log = logging.getLogger("strongroom.agent.proxy")

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

# Headers that describe one connection, not the request or response, plus those httpx sets itself.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {b"host", b"content-length", b"expect", b"accept-encoding"}
_TOKEN_HEADER = b"x-vault-token"
_SELF_PATHS = frozenset({"/v1/auth/token/lookup-self", "/v1/auth/token/renew-self"})
_OTHER_PATHS = frozenset({"/v1/auth/token/lookup", "/v1/auth/token/renew"})
_OTHER_PATHS_WITH_TOKEN = ("/v1/auth/token/lookup/", "/v1/auth/token/renew/")
_WRAP_HEADER = b"x-vault-wrap-ttl"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """The headers a request is forwarded with, and the token they carry (empty for none)."""

    headers: Headers
    token: str


def _bearer(value: bytes) -> bool:
    scheme, _, credential = value.partition(b" ")
    return scheme.lower() == b"bearer" and bool(credential.strip())


def outgoing(headers: Headers, settings: ApiProxy | None, agent_token: str) -> Outgoing:
    """The client's headers as forwarded: hop-by-hop headers dropped, the token chosen by `settings`."""
    kept = [(k, v) for k, v in headers if k not in _NOT_FORWARDED]
    if settings is None or not settings.use_auto_auth_token:
        return Outgoing(kept, _client_token(kept))
    if settings.force:
        kept = [(k, v) for k, v in kept if k != _TOKEN_HEADER and not (k == b"authorization" and _bearer(v))]
    elif _client_token(kept):
        return Outgoing(kept, _client_token(kept))
    # An empty X-Vault-Token counts as none, as in Vault Agent.
    kept = [(k, v) for k, v in kept if k != _TOKEN_HEADER]
    if agent_token:
        kept.append((_TOKEN_HEADER, agent_token.encode()))
    return Outgoing(kept, agent_token)


def _client_token(headers: Headers) -> str:
    for name, value in headers:
        if name == _TOKEN_HEADER and value.strip():
            return value.strip().decode("latin-1")
    for name, value in headers:
        if name == b"authorization" and _bearer(value):
            return value.partition(b" ")[2].strip().decode("latin-1")
    return ""


def names_agent_token(path: str, query: bytes, body: bytes, sent: str, agent_token: str) -> bool:
    """Whether the response to this request may hold the agent's token (a lookup or renewal of it)."""
    if not agent_token:
        return False
    path = posixpath.normpath(re.sub("/+", "/", path))
    if path in _SELF_PATHS:
        return sent == agent_token
    if path.startswith(_OTHER_PATHS_WITH_TOKEN):
        return path.rpartition("/")[2] == agent_token
    if path not in _OTHER_PATHS:
        return False
    try:
        fields = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        fields = {}
    named = fields.get("token") if isinstance(fields, dict) else None
    if not isinstance(named, str):
        named = next(iter(parse_qs(query.decode("latin-1")).get("token", [])), "")
    # Vault Agent strips an empty `token` too: the server refuses it, so nothing is lost.
    return named in ("", agent_token)


def strip_token(content: bytes) -> bytes:
    """A lookup or renewal response without the token's id/client_token and accessor."""
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content
    if not isinstance(body, dict):
        return content
    data, auth = body.get("data"), body.get("auth")
    if isinstance(data, dict) and ("id" in data or "accessor" in data):
        data.pop("id", None)
        data.pop("accessor", None)
    elif isinstance(auth, dict):
        auth["client_token"] = ""
        auth["accessor"] = ""
    else:
        return content
    return orjson.dumps(body)


class ProxyApp:
    """The ASGI application a listener serves: each HTTP request is forwarded to the server, or answered
    from the lease cache or the static-secret cache when they hold it."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: ApiProxy | None,
        token: Callable[[], str],
        *,
        cache: StaticCache | None = None,
        leases: LeaseCache | None = None,
        outage: Outage | None = None,
    ) -> None:
        self._http = http
        self._settings = settings
        self._token = token
        self._cache = cache
        self._leases = leases
        self._outage = outage if outage is not None else Outage(serving=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await read_body(receive)
        agent_token = (
            self._token() if self._settings is not None and self._settings.use_auto_auth_token else ""
        )
        forward = outgoing(list(scope["headers"]), self._settings, agent_token)
        path: str = scope["path"]
        query: bytes = scope["query_string"]
        sensitive = names_agent_token(path, query, body, forward.token, agent_token)
        if sensitive and any(name == _WRAP_HEADER for name, _ in forward.headers):
            # Wrapped, the response could not be stripped, and unwrapping it would hand out the token.
            await _respond_error(send, 400, "the agent's token cannot be looked up or renewed wrapped")
            return
        raw_path: bytes = scope.get("raw_path") or path.encode()
        target = raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
        # Identity encoding: the body is relayed as its bytes, and a stripped response can be re-encoded.
        headers = [*forward.headers, (b"accept-encoding", b"identity")]
        namespace = next((v.decode("latin-1") for k, v in headers if k == b"x-vault-namespace"), "")
        request = Outbound(
            scope["method"], target, api_path(path), headers, body, forward.token, namespace.strip("/")
        )
        leases = self._leases if self._leases is not None and self._leases.enabled and not sensitive else None
        if leases is not None:
            cached = leases.hit(request)
            if cached is not None:
                await _respond(send, cached)
                return

        async def exchange() -> Answer:
            if leases is None:
                return await self._exchange(request)
            return await leases.send(request, lambda: self._exchange(request))

        if (
            self._cache is not None
            and self._cache.enabled
            and _cache_candidate(scope["method"], path, query, headers)
        ):
            api = request.path.removeprefix("/v1/")
            answer = await self._cache.read(forward.token, request.namespace, api, query, exchange)
            await _respond(send, answer)
            return
        if leases is not None:
            await _respond(send, await exchange())
            return
        outbound = self._http.build_request(scope["method"], target, headers=headers, content=body)
        try:
            response = await self._http.send(outbound, stream=True)
        except httpx.HTTPError as exc:
            self._outage.failed(type(exc).__name__)
            log.debug("proxy: %s %s: the server did not answer", scope["method"], path)
            await _respond_error(send, 500, f"failed to get the response: {type(exc).__name__}")
            return
        self._seen(response.status_code)
        try:
            log.debug("proxy: %s %s -> %d", scope["method"], path, response.status_code)
            if sensitive and response.status_code == 200:
                await _relay_stripped(response, send)
            else:
                await _relay(response, send)
        finally:
            await response.aclose()

    def _seen(self, status: int) -> None:
        if server_failed(status):
            self._outage.failed(str(status))
        else:
            self._outage.answered()

    async def _exchange(self, request: Outbound) -> Answer:
        """The server's whole answer to `request`; a 500 of the proxy's own when it does not answer."""
        try:
            response = await self._http.request(
                request.method, request.target, headers=request.headers, content=request.body
            )
        except httpx.HTTPError as exc:
            self._outage.failed(type(exc).__name__)
            log.debug("proxy: %s %s: the server did not answer", request.method, request.path)
            content = orjson.dumps({"errors": [f"failed to get the response: {type(exc).__name__}"]})
            return Answer(500, [(b"content-type", b"application/json")], content)
        self._seen(response.status_code)
        log.debug("proxy: %s %s -> %d", request.method, request.path, response.status_code)
        return Answer(response.status_code, _response_headers(response), response.content)


async def _respond(send: Send, answer: Answer) -> None:
    headers = [(k, v) for k, v in answer.headers if k not in (b"content-length", b"x-cache")]
    headers.append((b"content-length", str(len(answer.body)).encode()))
    headers.append((b"x-cache", b"HIT" if answer.cached else b"MISS"))
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": answer.body})


def _cache_candidate(method: str, path: str, query: bytes, headers: Headers) -> bool:
    """A plain read of an API path: no list, no wrapping, no consistency headers to honour."""
    if method != "GET" or not path.startswith("/v1/") or b"list=" in query:
        return False
    return not any(k in (_WRAP_HEADER, b"x-vault-index", b"x-vault-inconsistent") for k, _ in headers)


async def read_body(receive: Receive) -> bytes:
    """The whole request body, buffered as Vault Agent does: Vault's requests are small, and a complete
    body can be retried."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _response_headers(response: httpx.Response) -> Headers:
    return [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in _HOP_BY_HOP]


def _relayed_headers(response: httpx.Response) -> Headers:
    """A forwarded response's headers, with Vault Agent's X-Cache (a relayed answer is a miss)."""
    headers = [(k, v) for k, v in _response_headers(response) if k != b"x-cache"]
    return [*headers, (b"x-cache", b"MISS")]


async def _relay_stripped(response: httpx.Response, send: Send) -> None:
    content = strip_token(await response.aread())
    headers = [(k, v) for k, v in _relayed_headers(response) if k != b"content-length"]
    headers.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _relay(response: httpx.Response, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": _relayed_headers(response),
        }
    )
    try:
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    except httpx.HTTPError as exc:
        # The status line is gone: all that is left is to end the response early.
        log.warning("proxy: the server's response broke off (%s)", type(exc).__name__)
    await send({"type": "http.response.body", "body": b""})


async def _respond_error(send: Send, status: int, message: str) -> None:
    content = orjson.dumps({"errors": [message]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
