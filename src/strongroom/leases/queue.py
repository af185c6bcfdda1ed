"""The expiry queue: lease deadlines in a heap, so the next one to come due is found without a scan.

Layer: leases. Pure data structure over the stdlib; no I/O and no clock of its own.
"""

from __future__ import annotations

import heapq


class ExpiryQueue:
    """Deadlines by lease ID. Rescheduling or cancelling leaves the old heap item behind; it is skipped
    when it surfaces (its deadline no longer matches), which keeps every operation O(log n)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._deadlines: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._deadlines)

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._deadlines

    def schedule(self, lease_id: str, deadline: float) -> None:
        """Expire `lease_id` at `deadline`, replacing any earlier schedule for it."""
        self._deadlines[lease_id] = deadline
        heapq.heappush(self._heap, (deadline, lease_id))

    def count_prefixed(self, prefix: str) -> int:
        """How many of the scheduled leases have an ID starting with `prefix`."""
        return sum(1 for lease_id in self._deadlines if lease_id.startswith(prefix))

    def cancel(self, lease_id: str) -> None:
        """Forget `lease_id` (unknown IDs are ignored)."""
        self._deadlines.pop(lease_id, None)

    def clear(self) -> None:
        """Forget everything."""
        self._heap.clear()
        self._deadlines.clear()

    def next_deadline(self) -> float | None:
        """The earliest live deadline, or None when nothing is scheduled."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float) -> list[str]:
        """The lease IDs whose deadline is at or before `now`, earliest first; they leave the queue."""
        due: list[str] = []
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, lease_id = heapq.heappop(self._heap)
            del self._deadlines[lease_id]
            due.append(lease_id)

    def _drop_stale(self) -> None:
        while self._heap:
            deadline, lease_id = self._heap[0]
            if self._deadlines.get(lease_id) == deadline:
                return
            heapq.heappop(self._heap)
