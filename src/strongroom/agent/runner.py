"""The agent's main loop: authenticate, write sinks, render templates, then keep them current.

Layer: agent. Imports httpx, stdlib, config.agent_model and the sibling agent modules; never the server.

    code = await Agent(config).run()      # exit code; `stop()` ends a running agent cleanly

Lifecycle: log in with the auto-auth method (retrying with backoff), write the token to every sink and
render every template. With exit_after_auth that is all (exit 0, or 1 when any template failed).
Otherwise the token is renewed at two thirds of its TTL; a failed renewal, a 403 from a template read or
an event stream closed under a dead token means re-authenticating (with backoff) and rendering again.
Templates re-render on a KV event touching one of their dependencies, and all of them every
static_secret_render_interval seconds. Listeners (the API proxy, agent.listen) start before the login,
so a taken address stops the agent at once (exit 1); without auto_auth they are all the agent runs.
With `cache { persist ... }` (agent.persist) the lease cache and the token an earlier agent left are
imported before that: a token the server still knows is used instead of logging in.

Invariant: log lines name destinations, paths and statuses; never a token or a rendered value.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from typing import Any

import httpx

from strongroom.agent.auth import AgentToken, AuthError, call, login, renew_self
from strongroom.agent.leases import LeaseCache
from strongroom.agent.listen import ListenerError, Listeners
from strongroom.agent.persist import PersistentCache, PersistError, open_persistent
from strongroom.agent.render import Renderer, RenderError, TemplateRenderer
from strongroom.agent.retry import Failures, RetryPolicy
from strongroom.agent.sinks import write_sinks
from strongroom.agent.source import HttpSource, SourceError
from strongroom.agent.supervisor import Supervisor
from strongroom.agent.template import Dependency, TemplateError
from strongroom.agent.watch import EventsUnavailable, affected, subscribe
from strongroom.config.agent_model import AgentConfig, VaultConnection

log = logging.getLogger("strongroom.agent")

DEFAULT_MIN_BACKOFF = 1.0
DEFAULT_MAX_BACKOFF = 300.0
# How long the event stream waits before reconnecting after it ends or fails.
RECONNECT_DELAY = 1.0


def tls_context(vault: VaultConnection) -> ssl.SSLContext | bool:
    """What httpx takes as `verify` for the `vault { ... }` stanza."""
    if vault.tls_skip_verify:
        return False
    if not (vault.ca_cert or vault.ca_path or vault.client_cert):
        return True
    context = ssl.create_default_context(cafile=vault.ca_cert or None, capath=vault.ca_path or None)
    if vault.client_cert:
        context.load_cert_chain(vault.client_cert, vault.client_key or None)
    return context


class Agent:
    """One running agent for one configuration."""

    def __init__(self, config: AgentConfig) -> None:
        if config.auto_auth is None and not config.listeners:
            raise ValueError("the agent runner needs an auto_auth stanza or a listener")
        # Templates are parsed first: a bad one fails here, before any connection is opened.
        self._renderers: list[Renderer] = [
            TemplateRenderer(t, self._deferred_failure) for t in config.templates
        ]
        # Process-supervisor mode: the env_templates render as one more renderer, feeding the exec child.
        self._supervisor = (
            Supervisor(config.exec, config.env_templates, on_exit=self.stop) if config.exec else None
        )
        if self._supervisor is not None:
            self._renderers.append(self._supervisor.renderer)
        self._config = config
        self._auto_auth = config.auto_auth
        self._address = config.vault.address.rstrip("/") or "http://127.0.0.1:8200"
        self._verify = tls_context(config.vault)
        self._http = httpx.AsyncClient(base_url=self._address, verify=self._verify, timeout=30.0)
        self._token = AgentToken("", 0, False)
        self._source = HttpSource(self._http, lambda: self._token.token)
        self._listeners = (
            Listeners(config, verify=self._verify, token=lambda: self._token.token, stop=self.stop)
            if config.listeners
            else None
        )
        self._leases = LeaseCache(self._source, fallback=config.template_config.static_secret_render_interval)
        self._leases_held = asyncio.Event()
        self._resolved: dict[int, frozenset[Dependency]] = {}
        self._render_lock = asyncio.Lock()
        self._reauth = asyncio.Event()
        self._stopped = asyncio.Event()
        # Templates whose last render failed, their pending retries, and the code `run` returns.
        self._failures = Failures(RetryPolicy.from_config(config))
        self._failing: set[int] = set()
        self._retries: dict[int, asyncio.Task[None]] = {}
        self._exit_code = 0
        # The persistent cache (`cache { persist ... }`), and the token an earlier agent left in it.
        self._store: PersistentCache | None = None
        self._preloaded = ""

    def stop(self) -> None:
        """Ask a running agent to end; `run` then returns 0 (or the exec child's own exit code)."""
        self._stopped.set()

    async def run(self) -> int:
        """Run until stopped (or, with exit_after_auth, after the first render); the exit code."""
        try:
            if not self._open_persistent():
                return 1
            if self._listeners is not None:
                try:
                    await self._listeners.start()
                except ListenerError as exc:
                    log.error("%s", exc)
                    return 1
            if self._auto_auth is None:  # the API proxy alone: it forwards until the agent is stopped
                await self._stopped.wait()
                return 0
            if not await self._authenticate():
                return 1
            await self._render(range(len(self._renderers)))
            if self._config.exit_after_auth:
                # Failed reads are retried first (num_retries); exit 1 if any template still fails.
                while self._retries and not self._stopped.is_set():
                    await asyncio.wait(list(self._retries.values()))
                return 1 if self._failing else 0
            tasks = [
                asyncio.create_task(self._keep_token()),
                asyncio.create_task(self._watch_events()),
                asyncio.create_task(self._poll()),
                asyncio.create_task(self._keep_leases()),
            ]
            await self._stopped.wait()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            # In process-supervisor mode the agent mirrors its child: its exit code when it ended by itself.
            code = await self._supervisor.close() if self._supervisor is not None else 0
            # A fatal template failure (exit_on_retry_failure) or a final auth failure exits 1.
            return self._exit_code or code
        finally:
            if self._listeners is not None:
                await self._listeners.close()
            if self._store is not None:
                self._store.close()
            await self._http.aclose()

    def _open_persistent(self) -> bool:
        """Open the persistent cache and import what it holds; False when the agent must exit."""
        cache = self._config.cache
        if cache is None or cache.persist is None:
            return True
        try:
            self._store, imported, error = open_persistent(cache.persist)
        except PersistError as exc:
            log.error("error creating the persistent cache: %s", exc)
            return False
        if error:
            log.error("%s", error)
        self._preloaded = imported.token
        restored = self._listeners.import_cache(imported.entries, self._store) if self._listeners else 0
        if imported.token or restored:
            log.info("loaded %d cache entries and the auto-auth token from the persistent cache", restored)
        return True

    async def _authenticate(self) -> bool:
        """Log in (retrying with backoff until stopped) and write the sinks; False when giving up."""
        auto_auth = self._auto_auth
        if auto_auth is None:
            return True
        method = auto_auth.method
        backoff = float(method.min_backoff) or DEFAULT_MIN_BACKOFF
        ceiling = float(method.max_backoff) or DEFAULT_MAX_BACKOFF
        while not self._stopped.is_set():
            try:
                self._token = await self._preloaded_token() or await login(self._http, method)
                if self._store is not None:
                    self._store.put_token(self._token.token)
                await write_sinks(self._http, auto_auth.sinks, self._token)
            except (AuthError, OSError) as exc:
                log.error("auto-auth (%s) failed: %s", method.type, exc)
                if method.exit_on_err or self._config.exit_after_auth:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), backoff)
                backoff = min(backoff * 2, ceiling)
                continue
            self._reauth.clear()
            self._leases.clear()
            log.info("authenticated with %s; token written to %d sink(s)", method.type, len(auto_auth.sinks))
            return True
        return False

    async def _preloaded_token(self) -> AgentToken | None:
        """The token the persistent cache held, once, if the server still knows it (as Vault Agent,
        which looks it up instead of logging in)."""
        token, self._preloaded = self._preloaded, ""
        if not token:
            return None
        try:
            data = (await call(self._http, "GET", "auth/token/lookup-self", token=token)).get("data") or {}
        except AuthError as exc:
            log.info("the persisted token is not usable (%s); logging in", exc.status or "no answer")
            return None
        ttl = data.get("ttl")
        return AgentToken(token, ttl if isinstance(ttl, int) else 0, data.get("renewable") is True)

    async def _render(self, indexes: range | list[int]) -> int:
        """Render the given templates; the number that failed. A 403 asks for re-authentication."""
        failures = 0
        async with self._render_lock:
            for index in indexes:
                renderer = self._renderers[index]
                try:
                    await renderer.render(self._leases)
                    self._resolved[index] = frozenset(
                        [
                            Dependency(d.kind, await self._source.api_path(d.path, _family(d)))
                            for d in renderer.dependencies
                        ]
                    )
                except SourceError as exc:
                    failures += 1
                    log.error("template %s: %s", renderer.label, exc)
                    if exc.status == 403:
                        self._reauth.set()
                    self._retry_later(index)
                except (TemplateError, RenderError) as exc:
                    failures += 1
                    log.error("template %s: %s", renderer.label, exc)
                    self._failing.add(index)
                    self._template_failed(renderer)
                else:
                    self._failing.discard(index)
                    self._failures.succeeded(index)
        if len(self._leases):
            self._leases_held.set()
        return failures

    def _retry_later(self, index: int) -> None:
        """A read of template `index` failed: render it again after the backoff, or give up."""
        self._failing.add(index)
        delay = self._failures.failed(index)
        if delay is None:
            log.error("template %s: retries exhausted", self._renderers[index].label)
            if self._config.template_config.exit_on_retry_failure:
                self._exit(self._renderers[index].label)
            return
        if index not in self._retries and not self._stopped.is_set():
            self._retries[index] = asyncio.create_task(self._retry_after(index, delay))

    async def _retry_after(self, index: int, delay: float) -> None:
        await asyncio.sleep(delay)
        del self._retries[index]
        await self._render([index])

    def _template_failed(self, renderer: Renderer) -> None:
        """A template that failed to render or write: fatal (error_fatal, the default) only with
        exit_on_retry_failure; otherwise the next event or poll tries again."""
        fatal = renderer.config.error_fatal if isinstance(renderer, TemplateRenderer) else True
        if fatal and self._config.template_config.exit_on_retry_failure:
            self._exit(renderer.label)

    def _deferred_failure(self, renderer: TemplateRenderer, exc: RenderError) -> None:
        log.error("template %s: %s", renderer.label, exc)
        self._template_failed(renderer)

    def _exit(self, label: str) -> None:
        log.error("template %s failed and exit_on_retry_failure is set: exiting", label)
        self._exit_code = 1
        self._stopped.set()

    async def _keep_token(self) -> None:
        """Renew at two thirds of the TTL; re-authenticate and re-render when renewal fails or is asked."""
        while True:
            wait = self._token.ttl * 2 / 3 if self._token.renewable and self._token.ttl > 0 else None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reauth.wait(), wait)
            if not self._reauth.is_set():
                try:
                    method = self._auto_auth.method if self._auto_auth else None
                    self._token = await renew_self(self._http, self._token, method)
                    continue
                except AuthError as exc:
                    log.warning("token renewal failed (%s); re-authenticating", exc.status or "no answer")
            else:
                log.warning("the token was refused; re-authenticating")
            if not await self._authenticate():
                self._exit_code = 1
                self._stopped.set()
                return
            await self._render(range(len(self._renderers)))

    async def _keep_leases(self) -> None:
        """Renew held leases when due; render again the templates whose secret had to be dropped."""
        while True:
            due = self._leases.next_due()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._leases_held.wait(), None if due is None else max(due - time.monotonic(), 0)
                )
            self._leases_held.clear()
            dropped = await self._leases.keep(self._renew_lease)
            hit = [i for i, r in enumerate(self._renderers) if r.dependencies & dropped]
            if hit:
                log.info("%d leased secret(s) expire or were not renewed; fetching anew", len(dropped))
                await self._render(hit)

    async def _renew_lease(self, lease_id: str, increment: int) -> dict[str, Any]:
        body = {"lease_id": lease_id, "increment": increment}
        return await call(self._http, "PUT", "sys/leases/renew", token=self._token.token, body=body)

    async def _on_path(self, path: str) -> None:
        # A failing template may not know what it reads (its render stopped early): any change retries it.
        hit = [
            i
            for i in range(len(self._renderers))
            if i in self._failing or affected(self._resolved.get(i, frozenset()), path)
        ]
        if hit:
            await self._render(hit)

    async def _watch_events(self) -> None:
        """Follow the event stream, reconnecting when it ends; gives up (polling only) without an API."""
        tls = self._verify if isinstance(self._verify, ssl.SSLContext) else None
        if self._verify is False:
            tls = ssl.create_default_context()
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE

        # While the server is away the stream fails at every attempt: the first failure is logged.
        failing = False

        async def on_open() -> None:
            nonlocal failing
            failing = False
            log.info("subscribed to the server's events")
            # Changes made before the stream was up (since the first render, or while it was down) sent no
            # event this agent saw: render them now. Only changed files are written.
            await self._render(range(len(self._renderers)))

        while True:
            try:
                await subscribe(self._address, self._token.token, self._on_path, on_open=on_open, tls=tls)
            except EventsUnavailable as exc:
                # A 403 is a token that may not subscribe (OpenBao's answer to any non-root token) or a dead
                # one: only a dead token is worth subscribing again for, after re-authenticating.
                if exc.status == 403:
                    await self._check_token()
                if not self._reauth.is_set():
                    interval = self._config.template_config.static_secret_render_interval
                    log.info("%s; polling every %ds", exc, interval)
                    return
            except Exception as exc:  # any connection failure: the loop retries after the delay
                level = logging.DEBUG if failing else logging.WARNING
                log.log(level, "event stream failed: %s; reconnecting", type(exc).__name__)
                failing = True
            await self._check_token()
            await asyncio.sleep(RECONNECT_DELAY)

    async def _check_token(self) -> None:
        """After the stream ends: a token the server no longer knows means re-authenticating."""
        try:
            await call(self._http, "GET", "auth/token/lookup-self", token=self._token.token)
        except AuthError as exc:
            if exc.status == 403:
                self._reauth.set()

    async def _poll(self) -> None:
        interval = max(self._config.template_config.static_secret_render_interval, 1)
        while True:
            await asyncio.sleep(interval)
            await self._render(range(len(self._renderers)))


def _family(dependency: Dependency) -> str:
    return "metadata" if dependency.kind == "list" else "data"
