"""ExpiryQueue: earliest deadline first; rescheduled and cancelled leases leave no trace."""

from __future__ import annotations

from strongroom.leases import ExpiryQueue


def test_due_leases_come_out_earliest_first_and_only_once() -> None:
    queue = ExpiryQueue()
    queue.schedule("c", 30.0)
    queue.schedule("a", 10.0)
    queue.schedule("b", 20.0)
    assert queue.next_deadline() == 10.0
    assert queue.pop_due(25.0) == ["a", "b"]
    assert queue.pop_due(25.0) == []
    assert len(queue) == 1
    assert queue.pop_due(30.0) == ["c"]
    assert queue.next_deadline() is None


def test_rescheduling_and_cancelling_replace_the_old_deadline() -> None:
    queue = ExpiryQueue()
    queue.schedule("renewed", 10.0)
    queue.schedule("revoked", 5.0)
    queue.schedule("renewed", 50.0)
    queue.cancel("revoked")
    queue.cancel("never-scheduled")
    assert "revoked" not in queue
    assert queue.next_deadline() == 50.0
    assert queue.pop_due(49.0) == []
    assert queue.pop_due(50.0) == ["renewed"]
    assert len(queue) == 0
