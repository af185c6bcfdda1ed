"""The agent's own endpoints on each listener, in front of the API proxy: /agent/v1/metrics,
/agent/v1/quit and /agent/v1/cache-clear, and the listener's `require_request_header`. `strongroom proxy`
serves them as Vault Proxy does, under /proxy/v1 and with the listener's `proxy_api` settings.

Layer: agent. Imports orjson, stdlib, config.agent_model and agent.proxy / agent.static_cache; never the
server.

As in Vault Agent: a `role = "metrics_only"` listener serves the metrics and answers 404 to the rest;
/agent/v1/quit is 404 unless the listener's `agent_api { enable_quit = true }`, 405 for any method but
POST, and stops the agent; /agent/v1/cache-clear takes POST or PUT with {"type", "value", "namespace"}
(type token, token_accessor, lease, request_path or all) and answers 200 with no body, 400 for input it
cannot use, and, as Vault Agent does, 500 "failed to clear cache: <what> not provided" for a missing
value. `require_request_header` refuses every request without `X-Vault-Request: true` with 412 (the
agent's endpoints too, as OpenBao Agent does), a guard against requests a browser can be made to send.

Invariant: these endpoints take no token and hand out none: metrics are counts, cache-clear only drops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from strongroom.agent.lease_cache import LeaseCache
from strongroom.agent.proxy import Message, ProxyApp, Receive, Scope, Send, read_body
from strongroom.agent.static_cache import StaticCache
from strongroom.config.agent_model import Listener

# Each type but `all`, and what Vault Agent names its value when it is missing.
_CLEAR_VALUES = {
    "request_path": "request path",
    "token": "token",
    "token_accessor": "token accessor",
    "lease": "lease",
}


@dataclass(slots=True)
class ProxyCounters:
    """Requests the proxy answered, by outcome, for /agent/v1/metrics."""

    success: int = 0
    client_error: int = 0
    error: int = 0

    def count(self, status: int) -> None:
        if status >= 500:
            self.error += 1
        elif status >= 400:
            self.client_error += 1
        else:
            self.success += 1


@dataclass(slots=True)
class AgentServices:
    """What every listener's endpoints share: the proxy, the cache (None without `cache {}`), the stop."""

    proxy: ProxyApp
    cache: StaticCache | None
    stop: Callable[[], None]
    kind: str = "agent"
    leases: LeaseCache | None = None
    counters: ProxyCounters = field(default_factory=ProxyCounters)


def metrics_text(services: AgentServices) -> bytes:
    """The agent's counters in Prometheus' text format."""
    values: list[tuple[str, str, int]] = [
        ("vault_agent_proxy_success", "Requests the proxy answered below 400.", services.counters.success),
        ("vault_agent_proxy_client_error", "Requests answered 4xx.", services.counters.client_error),
        ("vault_agent_proxy_error", "Requests answered 5xx.", services.counters.error),
    ]
    if services.cache is not None:
        cache = services.cache.counters
        values += [
            ("vault_agent_cache_hit", "KV reads answered from the static-secret cache.", cache.hits),
            ("vault_agent_cache_miss", "Cacheable KV reads forwarded to the server.", cache.misses),
            ("vault_agent_cache_event", "KV events that invalidated cached paths.", cache.events),
            ("vault_agent_cache_eviction", "Cache entries dropped.", cache.evictions),
        ]
    if services.leases is not None:
        leases = services.leases.counters
        values += [
            ("vault_agent_lease_cache_hit", "Requests answered from the lease cache.", leases.hits),
            ("vault_agent_lease_cache_stored", "Leased answers and tokens cached.", leases.stored),
            ("vault_agent_lease_cache_renewal", "Leases and tokens the cache renewed.", leases.renewals),
            ("vault_agent_lease_cache_eviction", "Lease cache entries dropped.", leases.evictions),
        ]
    lines = []
    for name, help_text, value in values:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
    return ("\n".join(lines) + "\n").encode()


class ListenerApp:
    """One listener's ASGI application: the agent's endpoints, then the proxy."""

    def __init__(self, listener: Listener, services: AgentServices) -> None:
        self._listener = listener
        self._services = services
        self._prefix = f"/{services.kind}/v1/"
        self._api = listener.proxy_api if services.kind == "proxy" else listener.agent_api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        # OpenBao Agent guards every path of such a listener, its own endpoints too.
        required = self._listener.require_request_header and self._listener.role != "metrics_only"
        if required and not _has_request_header(scope):
            await _error(send, 412, 'missing "X-Vault-Request" header')
            return
        if path == self._prefix + "metrics":
            if method != "GET":
                await _respond(send, 405, b"")
                return
            await _respond(send, 200, metrics_text(self._services), b"text/plain; version=0.0.4")
            return
        if self._listener.role == "metrics_only":
            await _respond(send, 404, b"")
            return
        if path == self._prefix + "quit":
            await self._quit(method, send)
            return
        if path == self._prefix + "cache-clear":
            await self._cache_clear(method, receive, send)
            return
        status: list[int] = []

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(str(message["status"])))
            await send(message)

        await self._services.proxy(scope, receive, counted)
        if status:
            self._services.counters.count(status[0])

    async def _quit(self, method: str, send: Send) -> None:
        if not self._api.enable_quit:
            await _respond(send, 404, b"")
        elif method != "POST":
            await _respond(send, 405, b"")
        else:
            await _respond(send, 200, b"")
            self._services.stop()

    async def _cache_clear(self, method: str, receive: Receive, send: Send) -> None:
        cache = self._services.cache
        if cache is None or method not in ("POST", "PUT"):
            # Vault Agent answers 200 doing nothing, for these as for a cache it does not have.
            await _respond(send, 200, b"")
            return
        body = await read_body(receive)
        try:
            request = orjson.loads(body) if body.strip() else None
        except orjson.JSONDecodeError as exc:
            await _error(send, 400, f"failed to parse JSON input: {exc}")
            return
        if request is None:
            await _error(send, 400, "failed to parse JSON input: empty JSON provided")
            return
        if not isinstance(request, dict):
            await _error(send, 400, "failed to parse JSON input: expected a JSON object")
            return
        kind = request.get("type")
        value = request.get("value")
        namespace = request.get("namespace")
        if not kind:
            await _error(send, 400, "failed to parse clear input: no type provided")
            return
        if not isinstance(kind, str) or (kind != "all" and kind not in _CLEAR_VALUES):
            await _error(send, 400, "failed to clear cache: invalid type provided")
            return
        value = value if isinstance(value, str) else ""
        if kind != "all" and not value:
            # Vault Agent's answer, 500 included.
            await _error(send, 500, f"failed to clear cache: {_CLEAR_VALUES[kind]} not provided")
            return
        space = namespace.strip("/") if isinstance(namespace, str) else ""
        space = "" if space == "root" else space
        if self._services.leases is not None:
            self._services.leases.clear(kind, value, space)
        if kind == "token_accessor":
            await cache.clear_accessor(value)
        elif kind != "lease":  # static entries carry no lease
            cache.clear(kind, value, space)
        await _respond(send, 200, b"")


def _has_request_header(scope: Scope) -> bool:
    """Exactly one X-Vault-Request header, and it says "true"."""
    values = [v for k, v in scope["headers"] if k == b"x-vault-request"]
    return values == [b"true"]


async def _respond(send: Send, status: int, content: bytes, kind: bytes = b"application/json") -> None:
    headers = [(b"content-length", str(len(content)).encode())]
    if content:
        headers.append((b"content-type", kind))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})


async def _error(send: Send, status: int, message: str) -> None:
    await _respond(send, status, orjson.dumps({"errors": [message]}))
