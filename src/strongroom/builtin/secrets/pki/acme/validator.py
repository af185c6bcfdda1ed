"""The challenge validation engine: each accepted challenge is checked in a background task, retried a
few times, and its outcome written to the authorization. Layer: builtin (asyncio, util and the ACME
modules).

Invariant: an authorization turns valid only when the check of one of its challenges passed against the
account key's thumbprint. A check under way is recorded in storage until it ends, so a restarted mount
resumes it (resume()); tasks end with the mount (close()).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from strongroom.builtin.secrets.pki.acme.challenges import (
    Ports,
    check_dns_01,
    check_http_01,
    check_tls_alpn_01,
)
from strongroom.builtin.secrets.pki.acme.models import Authorization, Challenge, Validation
from strongroom.builtin.secrets.pki.acme.problems import AcmeProblem
from strongroom.builtin.secrets.pki.acme.store import AcmeStore
from strongroom.util import ids
from strongroom.util.clock import Clock, rfc3339

log = logging.getLogger(__name__)

ATTEMPTS = 5
RETRY_DELAY = 2.0  # seconds, times the attempt number (OpenBao waits 5 s times the retry count)
AUTHORIZATION_LIFETIME = 15 * 24 * 3600


class Validator:
    """Runs the checks of accepted challenges for one mount."""

    def __init__(self, store: AcmeStore, clock: Clock, ports: Ports) -> None:
        self._store = store
        self._clock = clock
        self._ports = ports
        self._tasks: set[asyncio.Task[None]] = set()

    async def accept(self, authz: Authorization, kind: str, thumbprint: str, resolver: str) -> None:
        """Check `kind` of `authz` in the background; `resolver` is config/acme's dns_resolver."""
        validation = Validation(ids.new_uuid(), authz.account, authz.id, kind, thumbprint, resolver)
        await self._store.save_validation(validation)
        self._start(validation)

    async def resume(self) -> None:
        """Carry on with the checks a previous run of the mount left under way."""
        for validation in await self._store.validations():
            self._start(validation)

    async def close(self) -> None:
        """Stop the checks (they stay recorded, for the next run to resume)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _start(self, validation: Validation) -> None:
        task = asyncio.get_running_loop().create_task(self._finish(validation))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _finish(self, validation: Validation) -> None:
        try:
            await self._run(
                validation.account,
                validation.authz,
                validation.kind,
                validation.thumbprint,
                validation.resolver,
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # a storage fault: the record stays for the next run to retry
            log.exception("ACME validation %s stopped", validation.id)
            return
        await self._store.delete_validation(validation.id)

    async def _check(
        self, authz: Authorization, challenge: Challenge, thumbprint: str, resolver: str
    ) -> None:
        domain = authz.identifier.value
        if challenge.type == "http-01":
            await check_http_01(domain, challenge.token, thumbprint, self._ports.http_01)
        elif challenge.type == "dns-01":
            await check_dns_01(domain, challenge.token, thumbprint, resolver)
        elif challenge.type == "tls-alpn-01":
            await check_tls_alpn_01(domain, challenge.token, thumbprint, self._ports.tls_alpn_01)
        else:
            raise AcmeProblem("serverInternal", f"unsupported challenge type {challenge.type}")

    async def _run(self, account: str, authz_id: str, kind: str, thumbprint: str, resolver: str) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            authz = await self._store.authorization(account, authz_id)
            challenge = authz.challenge(kind) if authz is not None else None
            if authz is None or challenge is None or authz.status != "pending":
                return
            try:
                await self._check(authz, challenge, thumbprint, resolver)
            except AcmeProblem as problem:
                log.info("ACME %s validation of authorization %s failed: %s", kind, authz_id, problem.kind)
                await self._record(account, authz_id, kind, problem, final=attempt == ATTEMPTS)
                if attempt < ATTEMPTS:
                    await asyncio.sleep(RETRY_DELAY * attempt)
                continue
            await self._record(account, authz_id, kind, None, final=True)
            return

    async def _record(
        self, account: str, authz_id: str, kind: str, problem: AcmeProblem | None, *, final: bool
    ) -> None:
        """Write one attempt's outcome: valid, or the error (and invalid after the last attempt)."""
        async with self._store.lock:
            authz = await self._store.authorization(account, authz_id)
            challenge = authz.challenge(kind) if authz is not None else None
            if authz is None or challenge is None or authz.status != "pending":
                return
            now = self._clock.now()
            if problem is None:
                challenge = replace(challenge, status="valid", validated=rfc3339(now), error={})
                authz = replace(authz, status="valid", expires=rfc3339(now + AUTHORIZATION_LIFETIME))
            else:
                challenge = replace(
                    challenge, status="invalid" if final else challenge.status, error=problem.document()
                )
                if final:
                    authz = replace(authz, status="invalid")
            await self._store.save_authorization(authz.with_challenge(challenge))
