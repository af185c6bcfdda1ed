"""Lease caching in the agent's API proxy: answers that carry a lease or a new token, served again to the
same request and token, renewed by the agent while they are cached (Vault Agent's lease cache).

Layer: agent. Imports httpx, orjson, stdlib, config.agent_model and agent.outage / agent.static_cache (for
its Answer); never the server.

    cache = LeaseCache(http, settings, agent_token=lambda: token, outage=outage)
    answer = cache.hit(request)                      # a cached answer, or None
    answer = await cache.send(request, forward)      # forward() goes to the server; the answer is kept
    cache.clear("lease", lease_id)                   # /agent/v1/cache-clear

What is cached, as in Vault Agent: an answer below 300 in JSON, keyed by a hash of the request (method,
path and query, body, the headers that change its meaning) and its token, when it carries
- a lease (database credentials, a leased certificate) obtained with a token the agent manages: its own
  auto-auth token or one created through the proxy; or
- a renewable token (auth/token/create, a login); a child token only when its parent is managed.
Everything else is forwarded untouched. Concurrent identical requests wait for the first one, so two
replicas asking at once for database credentials get the same lease.

How long: each entry has a keeper (Vault's lifetime watcher) that renews a renewable lease
(sys/leases/renew) or token (auth/token/renew-self, with that token) at two thirds of its duration. When
the server caps a renewal (max TTL reached) the entry is kept until 90% of what is left, then evicted;
a failed renewal evicts it. One deliberate difference: Vault Agent forwards a lease that is not
renewable (a PKI certificate) every time, minting one per request; here it is served until 90% of its
duration, so replicas share one certificate as they share database credentials.

Eviction follows the tokens: evicting a token's entry evicts every entry obtained with that token (its
leases, its child tokens, recursively). A successful revocation through the proxy evicts what it revoked:
auth/token/revoke, revoke-self, revoke-accessor (the token and its descendants), revoke-orphan (the token
and its leases; its children stay), sys/leases/revoke (the lease), revoke-prefix and revoke-force (every
lease under the prefix).

With `serve_during_outage`, a renewal the server cannot answer (connection, timeout, 5xx) is retried
while the entry lives instead of evicting it: the lease is still valid on the server until it expires.

Invariant: entries live in memory only, under a key hashed with the token; log lines name request paths
and statuses, never tokens, lease IDs or bodies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import posixpath
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

from strongroom.agent.outage import Outage, server_failed
from strongroom.agent.persist import PersistentCache
from strongroom.agent.static_cache import Answer
from strongroom.config.agent_model import CacheSettings

log = logging.getLogger("strongroom.agent.lease_cache")

Headers = list[tuple[bytes, bytes]]
Forward = Callable[[], Awaitable[Answer]]

# Headers that change what a request means, and so belong to its cache key (others, such as User-Agent,
# differ between clients asking the same thing).
_KEYED_HEADERS = frozenset(
    {
        b"x-vault-namespace",
        b"x-vault-wrap-ttl",
        b"x-vault-wrap-format",
        b"x-vault-policy-override",
        b"x-vault-mfa",
        b"content-type",
    }
)
_NOT_STORED = frozenset({b"date", b"content-length", b"connection", b"keep-alive", b"transfer-encoding"})
# The share of a renewable lease or token after which it is renewed, and of a last term (or of a lease
# that cannot be renewed) after which its entry goes.
RENEW_AT = 2 / 3
EVICT_AT = 0.9
# How often a renewal the server could not answer is tried again, with serve_during_outage.
OUTAGE_RETRY = 2.0
_RENEW_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Outbound:
    """A request as the proxy forwards it: `path` is the normalised /v1/... path, `token` the one sent."""

    method: str
    target: str
    path: str
    headers: Headers
    body: bytes
    token: str = field(repr=False)
    namespace: str = ""


def request_key(request: Outbound) -> str:
    """The cache key: the request's meaning and its token, hashed (so the token is not kept in it)."""
    digest = hashlib.sha256()
    keyed = sorted((k, v) for k, v in request.headers if k in _KEYED_HEADERS)
    parts = [request.method.encode(), request.target.encode(), *(k + b":" + v for k, v in keyed)]
    for part in (*parts, request.body, request.token.encode()):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


@dataclass(slots=True)
class _Entry:
    """One cached answer. `owner` is the token it was obtained with ("" for an orphan token's login);
    `token`/`accessor` are the token it holds, `lease` the lease it holds."""

    key: str
    namespace: str
    path: str
    answer: Answer = field(repr=False)
    stored: float
    owner: str = field(repr=False)
    lease: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    accessor: str = field(default="", repr=False)
    renewable: bool = False
    duration: int = 0
    expires: float = math.inf
    renew_due: float = math.inf
    keeper: asyncio.Task[None] | None = None


@dataclass(slots=True)
class LeaseCounters:
    """What /agent/v1/metrics reports of the lease cache."""

    hits: int = 0
    stored: int = 0
    renewals: int = 0
    evictions: int = 0


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _json(content: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(content) if content.strip() else {}
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


class LeaseCache:
    """Leased answers and tokens of every client of the proxy, keyed by request and token."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        settings: CacheSettings,
        *,
        agent_token: Callable[[], str],
        outage: Outage,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._settings = settings
        self._agent_token = agent_token
        self._outage = outage
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._by_lease: dict[str, str] = {}
        self._by_token: dict[str, str] = {}
        self._by_accessor: dict[str, str] = {}
        self._inflight: dict[str, asyncio.Future[None]] = {}
        self._file: PersistentCache | None = None
        self.counters = LeaseCounters()

    @property
    def enabled(self) -> bool:
        return self._settings.dynamic_secrets

    def __len__(self) -> int:
        return len(self._entries)

    def hit(self, request: Outbound) -> Answer | None:
        """The cached answer to `request`, while its entry lives."""
        entry = self._entries.get(request_key(request))
        if entry is None:
            return None
        if entry.expires <= self._clock():
            self._evict(entry)
            return None
        self.counters.hits += 1
        age = str(int(self._clock() - entry.stored)).encode()
        return Answer(entry.answer.status, [*entry.answer.headers, (b"age", age)], entry.answer.body, True)

    async def send(self, request: Outbound, forward: Forward) -> Answer:
        """The cached answer, or the server's (kept when it carries a lease or a token)."""
        key = request_key(request)
        while True:
            cached = self.hit(request)
            if cached is not None:
                return cached
            flight = self._inflight.get(key)
            if flight is None:
                break
            # An identical request is with the server: its answer may be the one to share.
            await asyncio.wait([flight])
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = done
        try:
            answer = await forward()
            if 200 <= answer.status < 300 and not self._after_revocation(request):
                self._store(key, request, answer)
        finally:
            del self._inflight[key]
            done.set_result(None)
        return answer

    # --- what is kept -----------------------------------------------------------------------------------

    def _managed(self, token: str) -> bool:
        return bool(token) and (token in self._by_token or token == self._agent_token())

    def _store(self, key: str, request: Outbound, answer: Answer) -> None:
        kind = next((v for k, v in answer.headers if k == b"content-type"), b"")
        if not kind.startswith(b"application/json"):
            return
        body = _json(answer.body)
        lease_id = body.get("lease_id")
        auth = body.get("auth")
        now = self._clock()
        headers = [(k, v) for k, v in answer.headers if k not in _NOT_STORED]
        kept = Answer(answer.status, headers, answer.body)
        entry = _Entry(key, request.namespace, request.path, kept, now, "")
        if isinstance(lease_id, str) and lease_id:
            entry.duration = _int(body.get("lease_duration"))
            entry.renewable = body.get("renewable") is True
            if not self._managed(request.token) or (entry.duration <= 0 and not entry.renewable):
                return
            entry.owner, entry.lease = request.token, lease_id
        elif isinstance(auth, dict) and isinstance(auth.get("client_token"), str) and auth["client_token"]:
            if auth.get("renewable") is not True:
                return
            if auth.get("orphan") is not True:
                if not self._managed(request.token):
                    return
                entry.owner = request.token
            entry.token, entry.accessor = auth["client_token"], str(auth.get("accessor") or "")
            entry.duration, entry.renewable = _int(auth.get("lease_duration")), True
        else:
            return
        if entry.duration > 0:
            entry.expires = now + entry.duration * EVICT_AT
            entry.renew_due = now + entry.duration * RENEW_AT
        previous = self._entries.get(key)
        if previous is not None:
            self._evict(previous)
        self._insert(entry)
        self.counters.stored += 1
        log.debug("lease cache: keeping the answer to %s %s", request.method, request.path)

    def _insert(self, entry: _Entry) -> None:
        self._entries[entry.key] = entry
        if entry.lease:
            self._by_lease[entry.lease] = entry.key
        if entry.token:
            self._by_token[entry.token] = entry.key
            if entry.accessor:
                self._by_accessor[entry.accessor] = entry.key
        self._write(entry)
        entry.keeper = asyncio.create_task(self._keep(entry))

    # --- renewal ----------------------------------------------------------------------------------------

    async def _keep(self, entry: _Entry) -> None:
        """Renew `entry` at two thirds of each term until it cannot be; then evict it at its end."""
        try:
            while entry.renewable and entry.duration > 0:
                await asyncio.sleep(max(entry.renew_due - self._clock(), 0))
                granted = await self._renew(entry)
                while granted is None:  # the server is away: served until its term ends, retried meanwhile
                    await asyncio.sleep(min(OUTAGE_RETRY, max(entry.expires - self._clock(), 0)))
                    if self._clock() >= entry.expires:
                        return
                    granted = await self._renew(entry)
                if granted <= 0:
                    return
                self.counters.renewals += 1
                # Capped by the max TTL, this term is the last one.
                entry.renewable = granted >= entry.duration
                entry.expires = self._clock() + granted * EVICT_AT
                entry.renew_due = self._clock() + granted * RENEW_AT
                entry.duration = granted
                self._write(entry)
            if entry.expires == math.inf:
                # A token that never expires: kept until evicted.
                await asyncio.get_running_loop().create_future()
            await asyncio.sleep(max(entry.expires - self._clock(), 0))
        finally:
            if self._entries.get(entry.key) is entry:
                self._evict(entry, keeper=False)

    async def _renew(self, entry: _Entry) -> int | None:
        """The renewed duration; 0 when the server refused; None when it is away and outage serving is on
        (an outage without it evicts, as in Vault Agent)."""
        headers = {"X-Vault-Namespace": entry.namespace} if entry.namespace else {}
        if entry.lease:
            path, token = "/v1/sys/leases/renew", entry.owner
            payload: dict[str, Any] = {"lease_id": entry.lease, "increment": entry.duration}
        else:
            path, token = "/v1/auth/token/renew-self", entry.token
            payload = {"increment": entry.duration}
        try:
            response = await self._http.put(
                path,
                headers={**headers, "X-Vault-Token": token},
                content=orjson.dumps(payload),
                timeout=_RENEW_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            self._outage.failed(type(exc).__name__)
            return None if self._settings.serve_during_outage else 0
        if server_failed(response.status_code):
            self._outage.failed(f"{response.status_code}")
            return None if self._settings.serve_during_outage else 0
        self._outage.answered()
        body = _json(response.content)
        if response.status_code != 200:
            log.info("lease cache: renewal of %s refused (%d); evicting", entry.path, response.status_code)
            return 0
        if entry.lease:
            return _int(body.get("lease_duration"))
        auth = body.get("auth")
        return _int(auth.get("lease_duration")) if isinstance(auth, dict) else 0

    # --- eviction ---------------------------------------------------------------------------------------

    def _evict(self, entry: _Entry, *, keeper: bool = True) -> None:
        """Drop `entry` and, when it holds a token, everything obtained with that token."""
        if self._entries.get(entry.key) is not entry:
            return
        del self._entries[entry.key]
        self.counters.evictions += 1
        if self._file is not None:
            self._file.delete(entry.key)
        if entry.lease and self._by_lease.get(entry.lease) == entry.key:
            del self._by_lease[entry.lease]
        if entry.token and self._by_token.get(entry.token) == entry.key:
            del self._by_token[entry.token]
        if entry.accessor and self._by_accessor.get(entry.accessor) == entry.key:
            del self._by_accessor[entry.accessor]
        if keeper and entry.keeper is not None:
            entry.keeper.cancel()
        if entry.token:
            self._evict_owned(entry.token)

    def _evict_owned(self, token: str, *, leases_only: bool = False) -> int:
        owned = [e for e in self._entries.values() if e.owner == token and (e.lease or not leases_only)]
        for entry in owned:
            self._evict(entry)
        return len(owned)

    def evict_token(self, token: str) -> None:
        """Drop the entry holding `token` and everything obtained with it (the agent's own token too)."""
        key = self._by_token.get(token)
        if key is not None:
            self._evict(self._entries[key])
        self._evict_owned(token)

    def _evict_orphaning(self, token: str) -> None:
        """revoke-orphan: the token's entry and leases go; its child tokens stay, parentless."""
        self._evict_owned(token, leases_only=True)
        key = self._by_token.pop(token, None)
        for entry in self._entries.values():
            if entry.owner == token:
                entry.owner = ""
        if key is not None:
            self._evict(self._entries[key])

    def _evict_lease_prefix(self, prefix: str) -> None:
        for lease, key in list(self._by_lease.items()):
            if lease.startswith(prefix) and key in self._entries:
                self._evict(self._entries[key])

    def clear(self, kind: str, value: str, namespace: str = "") -> None:
        """/agent/v1/cache-clear: `token`, `token_accessor`, `lease`, `request_path` (a prefix) or `all`."""
        if kind == "all":
            for entry in list(self._entries.values()):
                self._evict(entry)
        elif kind == "token":
            self.evict_token(value)
        elif kind == "token_accessor":
            key = self._by_accessor.get(value)
            if key is not None:
                self._evict(self._entries[key])
        elif kind == "lease":
            key = self._by_lease.get(value)
            if key is not None:
                self._evict(self._entries[key])
        elif kind == "request_path":
            value = "/v1/" + value.lstrip("/").removeprefix("v1/")
            for entry in list(self._entries.values()):
                if entry.namespace == namespace and entry.path.startswith(value):
                    self._evict(entry)

    def _after_revocation(self, request: Outbound) -> bool:
        """Evict what a successful revocation through the proxy revoked; whether it was one."""
        path = request.path.removeprefix("/v1/")
        fields = _json(request.body)

        def named(name: str) -> str:
            value = fields.get(name)
            return value if isinstance(value, str) else ""

        if path == "auth/token/revoke":
            self.evict_token(named("token"))
        elif path == "auth/token/revoke-self":
            self.evict_token(request.token)
        elif path == "auth/token/revoke-accessor":
            self.clear("token_accessor", named("accessor"))
        elif path == "auth/token/revoke-orphan":
            self._evict_orphaning(named("token"))
        elif path == "sys/leases/revoke" or path.startswith("sys/leases/revoke/"):
            self.clear("lease", named("lease_id") or unquote(path.removeprefix("sys/leases/revoke/")))
        elif path.startswith(("sys/leases/revoke-prefix/", "sys/leases/revoke-force/")):
            self._evict_lease_prefix(unquote(path.partition("/revoke-")[2].partition("/")[2]))
        else:
            return False
        log.debug("lease cache: evicted what %s revoked", path)
        return True

    # --- the persistent cache -----------------------------------------------------------------------------

    def persist_to(self, store: PersistentCache) -> None:
        """Write every entry through to `store` from now on (entries held now included)."""
        self._file = store
        for entry in self._entries.values():
            self._write(entry)

    def _write(self, entry: _Entry) -> None:
        if self._file is None:
            return
        wall = time.time() - self._clock()

        def at(moment: float) -> float | None:
            return None if moment == math.inf else wall + moment

        answer = entry.answer
        self._file.put(
            entry.key,
            {
                "namespace": entry.namespace,
                "path": entry.path,
                "status": answer.status,
                "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in answer.headers],
                "body": answer.body.decode("latin-1"),
                "stored": wall + entry.stored,
                "owner": entry.owner,
                "lease": entry.lease,
                "token": entry.token,
                "accessor": entry.accessor,
                "renewable": entry.renewable,
                "duration": entry.duration,
                "expires": at(entry.expires),
                "renew_due": at(entry.renew_due),
            },
        )

    def restore(self, records: Mapping[str, Mapping[str, Any]]) -> int:
        """Take in the entries an earlier agent persisted, those not yet expired; how many. Each is
        renewed when due, as if this agent had cached it (a renewal refused evicts it)."""
        mono = self._clock() - time.time()
        restored = 0
        for key, record in records.items():
            try:
                expires = math.inf if record["expires"] is None else mono + float(record["expires"])
                due = math.inf if record["renew_due"] is None else mono + float(record["renew_due"])
                headers = [(str(k).encode("latin-1"), str(v).encode("latin-1")) for k, v in record["headers"]]
                answer = Answer(int(record["status"]), headers, str(record["body"]).encode("latin-1"))
                entry = _Entry(
                    key, str(record["namespace"]), str(record["path"]), answer,
                    mono + float(record["stored"]), str(record["owner"]), str(record["lease"]),
                    str(record["token"]), str(record["accessor"]), record["renewable"] is True,
                    int(record["duration"]), expires, due,
                )  # fmt: skip
            except (KeyError, TypeError, ValueError):
                log.warning("lease cache: a persisted entry is malformed; skipped")
                continue
            if expires <= self._clock() or key in self._entries:
                continue
            self._insert(entry)
            restored += 1
        return restored

    async def close(self) -> None:
        keepers = [e.keeper for e in self._entries.values() if e.keeper is not None]
        self._entries.clear()
        for keeper in keepers:
            keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*keepers, return_exceptions=True)


def api_path(path: str) -> str:
    """A request path as entries record it: slashes collapsed, dot segments resolved (/v1/...)."""
    return posixpath.normpath(re.sub("/+", "/", path))
