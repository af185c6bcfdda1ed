"""Whether the server answers: one shared view of it for the proxy and its caches, logged on change only.

Layer: agent. Imports stdlib only.

    outage = Outage()
    outage.failed("ConnectError")      # logs "the server is unreachable" once, on the first failure
    outage.answered()                  # logs "the server answers again" once, on the first success after

A server is away when a request to it cannot connect, times out, or is answered 5xx (sealed, standby
without a leader, or down behind a load balancer). During an outage many requests fail at once; logging
each would bury the one line that matters, so only the transitions are logged.

Invariant: log lines name the failure's kind (an exception's class, a status), never a request or a value.
"""

from __future__ import annotations

import logging

log = logging.getLogger("strongroom.agent.outage")


def server_failed(status: int) -> bool:
    """Whether a response's status says the server is away rather than answering."""
    return status >= 500


class Outage:
    """The server's state as the agent last saw it; each change of state is logged once."""

    def __init__(self, *, serving: bool) -> None:
        # What the agent does meanwhile, for the log line: serve cached answers, or fail requests.
        self._serving = serving
        self.down = False

    def failed(self, reason: str) -> None:
        """A request to the server could not be answered (connection, timeout, 5xx)."""
        if self.down:
            return
        self.down = True
        meanwhile = "serving cached answers until it is back" if self._serving else "requests fail"
        log.warning("the server is unreachable (%s): %s", reason, meanwhile)

    def answered(self) -> None:
        """A request to the server was answered (below 500)."""
        if not self.down:
            return
        self.down = False
        log.warning("the server answers again")
