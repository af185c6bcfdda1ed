"""Static-secret caching in the agent's API proxy: KV reads answered from memory, kept current by the
server's events.

Layer: agent. Imports httpx, orjson, stdlib, config.agent_model and agent.watch; never the server.

    cache = StaticCache(http, address, settings, tls=None)
    answer = await cache.read(token, namespace, path, query, fetch)   # fetch() goes to the server
    cache.clear("request_path", "/v1/secret/data/db")

What is cached: a GET of a KV v1 path or a KV v2 `data/` path (the mount and its version looked up once
with sys/internal/ui/mounts), answered 200, keyed by (token, namespace, path, query), so that different
tokens never see each other's entries. Everything else is forwarded.

How it stays current: each token with cached entries has its own event subscription
(sys/events/subscribe/kv*), opened with that token, so it carries exactly the events for paths that token
may read. An event for a path drops that token's entries for it; a read that was in flight when the event
came is not stored (a per-path generation counter), nor is anything read while the subscription is not
open. When the stream ends (a revoked token's feed ends at its next event) the token's entries are
dropped. A token that may not subscribe (403) has its reads forwarded, uncached. At most MAX_TOKENS
tokens hold entries (and subscriptions); the least recently used one makes way for a new one.

How permission is re-checked: an entry whose token's access was confirmed more than `capability_refresh`
seconds ago is confirmed again with sys/capabilities-self before it is served, and its path's mount with
sys/internal/ui/mounts (two requests per token and path per interval, only while it is being read); a
token that lost `read` gets the server's own answer (the entry is dropped and the request forwarded), and
a mount disabled or replaced (same path, new UUID) drops every entry under it. So a lost permission or a
removed mount shows within that interval.

With `serve_during_outage`, each token's last answer per path is kept apart from the entries, and served
when the server cannot answer the read (connection, timeout, 5xx; agent.outage logs it once): a closed
event stream empties the entries but not these. An event for the path, a lost permission, a removed mount
or a cache-clear drops them as it drops the entries; while the server is away nothing can be re-checked.

Invariant: entries live in memory only, under a key that includes the token; log lines name paths and
statuses, never tokens or values.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import orjson

from strongroom.agent.outage import Outage, server_failed
from strongroom.agent.watch import EventsUnavailable, subscribe
from strongroom.config.agent_model import CacheSettings

log = logging.getLogger("strongroom.agent.cache")

Headers = list[tuple[bytes, bytes]]
# Tokens with entries (each holds an event subscription open); past this the least recently used goes.
MAX_TOKENS = 256
# How long a token refused a subscription has its reads forwarded before subscribing is tried again.
_REFUSED_RETRY = 30.0
_RECONNECT_DELAY = 1.0
# Headers not replayed from a cached answer (each response gets its own).
_NOT_STORED = frozenset({b"date", b"content-length", b"connection", b"keep-alive", b"transfer-encoding"})


@dataclass(frozen=True, slots=True)
class Answer:
    """A response as the proxy relays it; `cached` is True when it came from memory."""

    status: int
    headers: Headers
    body: bytes
    cached: bool = False


@dataclass(slots=True)
class _Entry:
    answer: Answer
    stored: float
    checked: float


@dataclass(slots=True)
class _TokenView:
    """One token's entries and the event subscription that keeps them current."""

    token: str = field(repr=False)
    entries: dict[tuple[str, str, bytes], _Entry] = field(default_factory=dict)
    generations: dict[str, int] = field(default_factory=dict)
    live: bool = False
    # Bumped whenever the subscription opens or closes: a read spanning either is not stored.
    epoch: int = 0
    refused_until: float = 0.0
    task: asyncio.Task[None] | None = None
    # Reads and access checks in flight, shared by concurrent requests for the same key.
    fetching: dict[tuple[str, str, bytes], tuple[tuple[int, int], asyncio.Future[Answer]]] = field(
        default_factory=dict
    )
    checking: dict[tuple[str, str, bytes], asyncio.Future[bool | None]] = field(default_factory=dict)


@dataclass(slots=True)
class Counters:
    """What /agent/v1/metrics reports of the cache."""

    hits: int = 0
    misses: int = 0
    events: int = 0
    evictions: int = 0


Fetch = Callable[[], Awaitable[Answer]]


def _key_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class StaticCache:
    """KV reads of every token through the proxy, cached per token and invalidated by events."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        address: str,
        settings: CacheSettings,
        *,
        tls: ssl.SSLContext | None = None,
        outage: Outage | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._address = address
        self._settings = settings
        self._outage = outage if outage is not None else Outage(serving=False)
        # With serve_during_outage: each token's last answer per key, served only while the server is away.
        # An event, a lost permission or a cache-clear drops it as it drops the entry; a closed event
        # stream does not (that is how an outage begins).
        self._last: dict[tuple[str, str, str, bytes], _Entry] = {}
        self._tls = tls
        self._clock = clock
        self._views: dict[str, _TokenView] = {}
        # mount path ("secret/") -> (KV version, 0 for a mount of another type; the mount's UUID).
        self._mounts: dict[str, tuple[int, str]] = {}
        self.counters = Counters()

    @property
    def enabled(self) -> bool:
        return self._settings.static_secrets

    async def read(self, token: str, namespace: str, path: str, query: bytes, fetch: Fetch) -> Answer:
        """The answer to GET /v1/<path>?<query>: from memory when current, else from `fetch`."""
        if not token or not await self._cacheable(token, namespace, path):
            return await fetch()
        view = self._view(token)
        key = (namespace, path, query)
        entry = view.entries.get(key)
        if entry is not None and view.live:
            current = self._clock() - entry.checked < self._settings.capability_refresh
            confirmed: bool | None = current
            # An event may drop the entry while its token's access is confirmed: it must still be there.
            if not current:
                confirmed = await self._confirm(view, token, key)
                if confirmed and view.entries.get(key) is entry:
                    entry.checked = self._clock()
                    current = view.live
            if current:
                return self._hit(entry)
            if confirmed is not None:  # None: the server did not answer; the read below tells more
                self._drop(view, path)
        self.counters.misses += 1
        ticket = (view.epoch, view.generations.get(path, 0))
        # Concurrent misses of one key share one server read, if no event came since it was sent.
        flight = view.fetching.get(key)
        if flight is not None and flight[0] == ticket:
            return await asyncio.shield(flight[1])
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        view.fetching[key] = (ticket, future)
        try:
            answer = await fetch()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # retrieved here: a miss nobody shared must not warn
            raise
        finally:
            if view.fetching.get(key, (None, None))[1] is future:
                del view.fetching[key]
        future.set_result(answer)
        if answer.status == 200 and ticket == (view.epoch, view.generations.get(path, 0)):
            now = self._clock()
            headers = [(k, v) for k, v in answer.headers if k not in _NOT_STORED]
            stored = _Entry(Answer(200, headers, answer.body), now, now)
            if view.live:
                view.entries[key] = stored
            if self._settings.serve_during_outage:
                self._last[(_key_of(token), *key)] = stored
        elif server_failed(answer.status) and self._settings.serve_during_outage:
            last = self._last.get((_key_of(token), *key))
            if last is not None:
                return self._hit(last)
        return answer

    def _hit(self, entry: _Entry) -> Answer:
        self.counters.hits += 1
        age = str(int(self._clock() - entry.stored)).encode()
        return Answer(entry.answer.status, [*entry.answer.headers, (b"age", age)], entry.answer.body, True)

    async def _confirm(self, view: _TokenView, token: str, key: tuple[str, str, bytes]) -> bool | None:
        """Whether the token may still read the entry's path (None: the server did not answer);
        concurrent hits share one check."""
        check = view.checking.get(key)
        if check is None:
            check = asyncio.ensure_future(self._may_read(token, key[0], key[1]))
            view.checking[key] = check
            check.add_done_callback(lambda _: view.checking.pop(key, None))
        return await asyncio.shield(check)

    def clear(self, kind: str, value: str, namespace: str = "") -> int:
        """Drop entries as /agent/v1/cache-clear asks (`token`, `request_path`, `all`); how many."""
        dropped = 0
        if kind == "all":
            self._last.clear()
            for view in self._views.values():
                dropped += len(view.entries)
                view.entries.clear()
        elif kind == "token":
            self._forget_last(lambda k: k[0] == _key_of(value))
            named = self._views.get(_key_of(value))
            if named is not None:
                dropped = len(named.entries)
                named.entries.clear()
        elif kind == "request_path":
            path = value.strip("/").removeprefix("v1/")
            self._forget_last(lambda k: k[2] == path and (not namespace or k[1] == namespace))
            for view in self._views.values():
                doomed = [k for k in view.entries if k[1] == path and (not namespace or k[0] == namespace)]
                for doomed_key in doomed:
                    del view.entries[doomed_key]
                dropped += len(doomed)
        self.counters.evictions += dropped
        return dropped

    async def clear_accessor(self, accessor: str) -> int:
        """Drop the entries of the token whose accessor is `accessor` (each cached token is looked up)."""
        for key, view in list(self._views.items()):
            response = await self._http.get(
                "/v1/auth/token/lookup-self", headers={"X-Vault-Token": view.token}
            )
            if (
                response.status_code == 200
                and (response.json().get("data") or {}).get("accessor") == accessor
            ):
                return self.clear("token", view.token) if key in self._views else 0
        return 0

    def _forget_last(self, doomed: Callable[[tuple[str, str, str, bytes]], bool]) -> None:
        for key in [k for k in self._last if doomed(k)]:
            del self._last[key]

    async def close(self) -> None:
        tasks = [view.task for view in self._views.values() if view.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._views.clear()

    # --- what may be cached ---------------------------------------------------------------------------

    async def _cacheable(self, token: str, namespace: str, path: str) -> bool:
        view = self._views.get(_key_of(token))
        if view is not None and view.refused_until > self._clock():
            return False
        version = await self._kv_version(token, namespace, path)
        if version == 1:
            return True
        if version == 2:
            mount = next(m for m in self._mounts if path.startswith(m))
            return path[len(mount) :].startswith("data/")
        return False

    async def _kv_version(self, token: str, namespace: str, path: str) -> int:
        if namespace:
            # Mounts inside namespaces are not tracked: their reads are forwarded.
            return 0
        for mount, (version, _) in self._mounts.items():
            if path.startswith(mount):
                return version
        found = await self._lookup_mount(token, path)
        if found is None:
            return 0
        mount, version, uuid = found
        self._mounts[mount] = (version, uuid)
        return version

    async def _lookup_mount(self, token: str, path: str) -> tuple[str, int, str] | None:
        """The mount holding `path`: its path, KV version (0 for another type) and UUID."""
        try:
            response = await self._http.get(
                f"/v1/sys/internal/ui/mounts/{path}", headers={"X-Vault-Token": token}
            )
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        data = response.json().get("data") or {}
        mount = str(data.get("path", ""))
        if not mount:
            return None
        version = 0
        if str(data.get("type", "")) in ("kv", "generic"):
            version = 2 if str((data.get("options") or {}).get("version", "")) == "2" else 1
        return mount, version, str(data.get("uuid", ""))

    async def _may_read(self, token: str, namespace: str, path: str) -> bool | None:
        """Whether `token` still has read on `path`, and `path` is still on the mount its entry came from
        (a KV mount disabled or replaced sends no event); None when the server did not answer."""
        headers = {"X-Vault-Token": token, **({"X-Vault-Namespace": namespace} if namespace else {})}
        try:
            response, mount = await asyncio.gather(
                self._http.post(
                    "/v1/sys/capabilities-self", headers=headers, content=orjson.dumps({"paths": [path]})
                ),
                self._lookup_mount(token, path),
            )
        except httpx.HTTPError as exc:
            self._outage.failed(type(exc).__name__)
            return None
        if server_failed(response.status_code):
            self._outage.failed(str(response.status_code))
            return None
        known = next(((m, v) for m, v in self._mounts.items() if path.startswith(m)), None)
        if known is not None and (mount is None or (mount[0], mount[1:]) != (known[0], known[1])):
            self._forget_mount(known[0])
            return False
        if response.status_code != 200:
            return False
        capabilities = (response.json().get("data") or {}).get(path) or response.json().get(path) or []
        return "root" in capabilities or "read" in capabilities

    def _forget_mount(self, mount: str) -> None:
        self._mounts.pop(mount, None)
        for view in self._views.values():
            doomed = [key for key in view.entries if key[1].startswith(mount)]
            for key in doomed:
                del view.entries[key]
            self.counters.evictions += len(doomed)
        self._forget_last(lambda k: k[2].startswith(mount))

    # --- the subscriptions ------------------------------------------------------------------------------

    def _view(self, token: str) -> _TokenView:
        key = _key_of(token)
        view = self._views.pop(key, None)
        if view is None:
            view = _TokenView(token)
            if len(self._views) >= MAX_TOKENS:
                self._evict(next(iter(self._views)))
        # Re-inserted at each use: the dict's order is least recently used first.
        self._views[key] = view
        if view.task is None or view.task.done():
            view.task = asyncio.create_task(self._follow(key, view))
        return view

    def _evict(self, key: str) -> None:
        view = self._views.pop(key)
        self._forget_last(lambda k: k[0] == key)
        if view.task is not None:
            view.task.cancel()
        self.counters.evictions += len(view.entries)

    def _drop(self, view: _TokenView, path: str) -> None:
        owner = _key_of(view.token)
        self._forget_last(lambda k: k[0] == owner and k[2] == path)
        doomed = [key for key in view.entries if key[1] == path]
        for key in doomed:
            del view.entries[key]
        self.counters.evictions += len(doomed)

    async def _follow(self, key: str, view: _TokenView) -> None:
        """Keep `view`'s subscription open until its token is refused; its entries live only while open."""

        async def on_open() -> None:
            view.live = True
            view.epoch += 1

        async def on_path(path: str) -> None:
            self.counters.events += 1
            view.generations[path] = view.generations.get(path, 0) + 1
            self._drop(view, path)

        while True:
            try:
                await subscribe(self._address, view.token, on_path, on_open=on_open, tls=self._tls)
            except EventsUnavailable as exc:
                log.info("cache: reads of a token are forwarded uncached: %s", exc)
                view.refused_until = self._clock() + _REFUSED_RETRY
                self._close_view(view)
                return
            except Exception as exc:  # any connection failure: entries go, the loop reconnects
                # During an outage every token's stream fails each second: the outage is logged once.
                level = logging.DEBUG if self._outage.down else logging.WARNING
                log.log(level, "cache: event stream failed: %s", type(exc).__name__)
            self._close_view(view)
            if not await self._token_lives(view.token):
                self._views.pop(key, None)
                self._forget_last(lambda k: k[0] == key)
                return
            await asyncio.sleep(_RECONNECT_DELAY)

    def _close_view(self, view: _TokenView) -> None:
        view.live = False
        view.epoch += 1
        self.counters.evictions += len(view.entries)
        view.entries.clear()

    async def _token_lives(self, token: str) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            response = await self._http.get("/v1/auth/token/lookup-self", headers={"X-Vault-Token": token})
            return response.status_code != 403
        return True
