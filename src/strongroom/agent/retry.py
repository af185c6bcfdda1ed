"""How the agent retries a template whose reads failed, and when it gives up.

Layer: agent. Imports stdlib and config.agent_model only.

Vault Agent hands its templates to consul-template with `vault { retry { num_retries } }` (12 by default,
0 with -1): a failed read is retried that many times with exponential backoff, 250 ms doubling up to
1 min, or auto_auth's `min_backoff`/`max_backoff` when they are set. When the retries are spent, the agent
exits if `template_config { exit_on_retry_failure = true }` and otherwise starts over.

    policy = RetryPolicy.from_config(config)
    delay = failures.failed(index)      # seconds before the next attempt, or None: retries spent
    failures.succeeded(index)
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.config.agent_model import AgentConfig

DEFAULT_BACKOFF = 0.25
DEFAULT_MAX_BACKOFF = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`retries` attempts after a first failure, waiting `backoff * 2**n` seconds (at most `max_backoff`)."""

    retries: int
    backoff: float = DEFAULT_BACKOFF
    max_backoff: float = DEFAULT_MAX_BACKOFF

    @classmethod
    def from_config(cls, config: AgentConfig) -> RetryPolicy:
        method = config.auto_auth.method if config.auto_auth is not None else None
        backoff = float(method.min_backoff) if method is not None and method.min_backoff else DEFAULT_BACKOFF
        ceiling = (
            float(method.max_backoff) if method is not None and method.max_backoff else DEFAULT_MAX_BACKOFF
        )
        return cls(config.vault.num_retries, backoff, max(ceiling, backoff))

    def delay(self, attempt: int) -> float:
        """The wait before retry number `attempt` (1 for the first)."""
        return min(self.backoff * float(2 ** (attempt - 1)), self.max_backoff)


class Failures:
    """Consecutive failures per template index, judged against a RetryPolicy."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self._counts: dict[int, int] = {}

    def failed(self, index: int) -> float | None:
        """Count a failure: the delay before retrying, or None when the retries are spent (the count then
        starts over, as Vault Agent's restarted template runner does)."""
        count = self._counts.get(index, 0) + 1
        if count > self.policy.retries:
            self._counts.pop(index, None)
            return None
        self._counts[index] = count
        return self.policy.delay(count)

    def succeeded(self, index: int) -> None:
        self._counts.pop(index, None)
