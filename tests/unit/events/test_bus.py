"""The event bus: fan-out by pattern, bounded queues that drop slow subscribers, unsubscribe, close."""

from __future__ import annotations

import asyncio

import pytest

from strongroom.events import EventBus, PluginInfo, SubscriptionClosed, compile_glob
from strongroom.util.clock import ManualClock

INFO = PluginInfo(mount_class="secret", mount_accessor="kv_1234", mount_path="secret/", plugin="kv")


def emit(bus: EventBus, event_type: str, path: str = "secret/data/a") -> str:
    return bus.emit(event_type, {"path": path}, INFO, path).id


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("kv-v2/data-write", "kv-v2/data-write", True),
        ("kv-v2/data-write", "kv-v2/data-write2", False),
        ("kv*", "kv-v2/data-write", True),
        ("kv*", "kv-v1/write", True),
        ("*", "kv-v1/write", True),
        ("kv-v2/*", "kv-v1/write", False),
        ("kv-v2/data-*", "kv-v2/data-delete", True),
        ("*/write", "kv-v1/write", True),
        ("kv-v?/write", "kv-v1/write", False),
        ("kv.v1/write", "kv-v1/write", False),
    ],
)
def test_pattern_is_a_glob_where_only_star_is_special(pattern: str, event_type: str, expected: bool) -> None:
    assert (compile_glob(pattern).match(event_type) is not None) is expected


async def test_publish_fans_out_to_every_matching_subscriber_in_order() -> None:
    bus = EventBus(clock=ManualClock(1_700_000_000.5))
    writes, everything, v1 = bus.subscribe("kv-v2/data-write"), bus.subscribe("*"), bus.subscribe("kv-v1/*")
    first = emit(bus, "kv-v2/data-write")
    second = emit(bus, "kv-v2/data-delete")
    assert (await writes.next()).id == first
    assert [(await everything.next()).id, (await everything.next()).id] == [first, second]
    assert v1.closed is False
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(v1.next(), 0.05)


async def test_event_is_stamped_and_rendered_as_vault_cloudevent() -> None:
    bus = EventBus(clock=ManualClock(1_700_000_000.5))
    event = bus.emit(
        "kv-v2/data-write", {"path": "secret/data/a", "current_version": "3"}, INFO, "secret/data/a"
    )
    body = event.cloudevent("kv*")
    assert body == {
        "id": event.id,
        "source": "https://vaultproject.io/",
        "specversion": "1.0",
        "type": "kv*",
        "data": {
            "event": {"id": event.id, "metadata": {"path": "secret/data/a", "current_version": "3"}},
            "event_type": "kv-v2/data-write",
            "plugin_info": {
                "mount_class": "secret",
                "mount_accessor": "kv_1234",
                "mount_path": "secret/",
                "plugin": "kv",
            },
        },
        "datacontentype": "application/cloudevents",
        "time": "2023-11-14T22:13:20.5Z",
    }


async def test_slow_subscriber_is_dropped_without_blocking_the_publisher() -> None:
    bus = EventBus(queue_size=2)
    slow, fast = bus.subscribe("*"), bus.subscribe("*")
    ids = [emit(bus, "kv-v1/write") for _ in range(2)]
    assert [(await fast.next()).id for _ in range(2)] == ids
    emit(bus, "kv-v1/write")  # slow has 2 waiting: the third overflows it
    assert slow.closed is True
    assert slow.reason == "subscriber too slow: events dropped"
    with pytest.raises(SubscriptionClosed):
        await slow.next()
    assert fast.closed is False
    assert bus.subscriber_count == 1


async def test_unsubscribe_wakes_a_waiting_reader_and_stops_delivery() -> None:
    bus = EventBus()
    subscription = bus.subscribe("*")
    waiting = asyncio.create_task(subscription.next())
    await asyncio.sleep(0)
    subscription.close()
    with pytest.raises(SubscriptionClosed):
        await waiting
    emit(bus, "kv-v1/write")
    assert bus.subscriber_count == 0
    with pytest.raises(SubscriptionClosed):
        await subscription.next()


async def test_close_ends_every_subscription_with_its_reason() -> None:
    bus = EventBus()
    subscriptions = [bus.subscribe("*"), bus.subscribe("kv*")]
    bus.close()
    assert [s.reason for s in subscriptions] == ["server sealed", "server sealed"]
    assert bus.subscriber_count == 0
    assert [e async for e in subscriptions[0]] == []


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        EventBus(queue_size=0)
