"""The barrier's automatic key rotation (Vault's KeyRotationConfig): by encryption count and by the age of
the active term, kept in the keyring across seal and unseal."""

from __future__ import annotations

from strongroom.barrier import AESGCMBarrier, RotationConfig
from strongroom.barrier.keyring import MAX_OPERATIONS
from strongroom.physical.inmem import InmemBackend
from strongroom.util.clock import ManualClock

ROOT = bytes(range(32))
DAY = 24 * 3600


async def unsealed(physical: InmemBackend, clock: ManualClock) -> AESGCMBarrier:
    barrier = AESGCMBarrier(physical, clock=clock)
    if not await barrier.initialized():
        await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    return barrier


async def test_defaults_are_vaults_and_rotate_nothing_soon() -> None:
    barrier = await unsealed(InmemBackend(), ManualClock(1000.0))
    assert barrier.rotation_config() == RotationConfig(
        max_operations=MAX_OPERATIONS, interval=0, enabled=True
    )
    for index in range(50):
        await barrier.put(f"k{index}", b"v")
    assert barrier.key_status().term == 1


async def test_the_count_limit_rotates_once_and_restarts_the_count() -> None:
    barrier = await unsealed(InmemBackend(), ManualClock(1000.0))
    await barrier.set_rotation_config(RotationConfig(max_operations=3))
    for index in range(3):
        await barrier.put(f"k{index}", b"v")
    status = barrier.key_status()
    assert (status.term, status.encryptions) == (2, 0)
    await barrier.put("k3", b"v")
    assert (barrier.key_status().term, barrier.key_status().encryptions) == (2, 1)
    # Values written under either term stay readable.
    assert [await barrier.get(f"k{index}") for index in range(4)] == [b"v"] * 4


async def test_the_interval_rotates_on_the_first_write_after_it_passed() -> None:
    clock = ManualClock(1000.0)
    barrier = await unsealed(InmemBackend(), clock)
    await barrier.set_rotation_config(RotationConfig(interval=DAY))
    clock.advance(DAY - 1)
    await barrier.put("a", b"1")
    assert barrier.key_status().term == 1
    clock.advance(1)
    await barrier.put("b", b"2")
    assert (barrier.key_status().term, barrier.key_status().install_time) == (2, 1000.0 + DAY)


async def test_disabled_never_rotates_and_the_config_survives_a_seal() -> None:
    physical, clock = InmemBackend(), ManualClock(1000.0)
    barrier = await unsealed(physical, clock)
    disabled = RotationConfig(max_operations=2, interval=DAY, enabled=False)
    await barrier.set_rotation_config(disabled)
    clock.advance(2 * DAY)
    for index in range(3):
        await barrier.put(f"k{index}", b"v")
    assert barrier.key_status().term == 1
    barrier.seal()
    again = await unsealed(physical, clock)
    assert again.rotation_config() == disabled
    await again.rotate()
    assert again.rotation_config() == disabled
