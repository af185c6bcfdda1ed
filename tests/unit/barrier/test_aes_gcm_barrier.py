"""The AES-256-GCM barrier: format, sealing, tamper and move detection, rotation."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

import pytest

from strongroom.barrier.aes_gcm import KEYRING_PATH, AESGCMBarrier, KeyStatus
from strongroom.crypto.aead import NONCE_SIZE, TAG_SIZE
from strongroom.errors import BarrierError, IntegrityError, NothingWrittenError, SealedError, StorageError
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.sqlite import SQLiteBackend
from strongroom.util.clock import ManualClock

ROOT = bytes(range(32))
SECRET = b"the-password-is-swordfish"


@pytest.fixture
def physical() -> InmemBackend:
    return InmemBackend()


@pytest.fixture
async def barrier(physical: InmemBackend) -> AESGCMBarrier:
    barrier = AESGCMBarrier(physical, clock=ManualClock(1000.0))
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    return barrier


async def test_initialize_stores_an_encrypted_keyring_and_stays_sealed(physical: InmemBackend) -> None:
    barrier = AESGCMBarrier(physical)
    assert not await barrier.initialized()
    await barrier.initialize(ROOT)
    assert await barrier.initialized()
    assert barrier.sealed
    stored = await physical.get(KEYRING_PATH)
    assert stored is not None
    assert stored[:5] == b"\x00\x00\x00\x00\x02"
    assert b"root_key" not in stored


async def test_initialize_twice_is_refused(barrier: AESGCMBarrier) -> None:
    with pytest.raises(BarrierError, match="barrier is already initialized"):
        await barrier.initialize(ROOT)


async def test_unseal_before_initialize(physical: InmemBackend) -> None:
    with pytest.raises(BarrierError, match="barrier is not initialized"):
        await AESGCMBarrier(physical).unseal(ROOT)


async def test_round_trip_and_list(barrier: AESGCMBarrier) -> None:
    await barrier.put("logical/abc/secret", SECRET)
    await barrier.put("logical/abc/other/x", b"")
    assert await barrier.get("logical/abc/secret") == SECRET
    assert await barrier.get("logical/abc/other/x") == b""
    assert await barrier.get("logical/abc/missing") is None
    assert await barrier.list("logical/abc/") == ["other/", "secret"]
    await barrier.delete("logical/abc/secret")
    assert await barrier.get("logical/abc/secret") is None


async def test_stored_format(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("k", SECRET)
    stored = await physical.get("k")
    assert stored is not None
    assert struct.unpack(">IB", stored[:5]) == (1, 2)
    assert len(stored) == 5 + NONCE_SIZE + len(SECRET) + TAG_SIZE
    assert SECRET not in stored


async def test_same_value_twice_gives_different_ciphertexts(
    barrier: AESGCMBarrier, physical: InmemBackend
) -> None:
    await barrier.put("a", SECRET)
    first = await physical.get("a")
    await barrier.put("a", SECRET)
    assert await physical.get("a") != first


async def test_raw_physical_never_holds_plaintext(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    for index in range(20):
        await barrier.put(f"logical/kv/{index}", SECRET + str(index).encode())
    await barrier.rotate()
    await barrier.put("sys/token/x", SECRET)
    raw = b"".join(physical._data.values())
    assert SECRET not in raw
    assert ROOT not in raw


async def test_sqlite_files_never_hold_plaintext(tmp_path: Path) -> None:
    physical = SQLiteBackend(str(tmp_path / "s.db"))
    barrier = AESGCMBarrier(physical)
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    await barrier.put("logical/kv/password", SECRET)
    on_disk = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    await physical.close()
    assert b"logical/kv/password" in on_disk  # the files were read while holding the data
    assert SECRET not in on_disk
    assert ROOT not in on_disk


async def test_wrong_root_key_stays_sealed(physical: InmemBackend) -> None:
    barrier = AESGCMBarrier(physical)
    await barrier.initialize(ROOT)
    with pytest.raises(IntegrityError, match="failed to decrypt the value at 'core/keyring'"):
        await barrier.unseal(bytes(32))
    assert barrier.sealed
    with pytest.raises(SealedError):
        await barrier.get("k")


async def test_root_key_of_wrong_size(physical: InmemBackend) -> None:
    barrier = AESGCMBarrier(physical)
    await barrier.initialize(ROOT)
    with pytest.raises(IntegrityError, match="the root key must be 32 bytes"):
        await barrier.unseal(b"short")


async def test_flipped_byte_is_an_integrity_error(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("k", SECRET)
    barrier.seal()  # forget the plaintext kept from the write: every read below reaches storage
    await barrier.unseal(ROOT)
    stored = bytearray(await physical.get("k") or b"")
    for position in (5, 5 + NONCE_SIZE, len(stored) - 1):
        tampered = bytearray(stored)
        tampered[position] ^= 0x80
        await physical.put("k", bytes(tampered))
        with pytest.raises(IntegrityError, match="failed to decrypt the value at 'k'"):
            await barrier.get("k")


async def test_moved_ciphertext_is_an_integrity_error(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("logical/a/secret", SECRET)
    await physical.put("logical/b/secret", await physical.get("logical/a/secret") or b"")
    with pytest.raises(IntegrityError, match="failed to decrypt the value at 'logical/b/secret'"):
        await barrier.get("logical/b/secret")


@pytest.mark.parametrize(
    ("stored", "message"),
    [
        (b"\x00\x00\x00\x01\x02" + bytes(27), "too short"),
        (b"\x00\x00\x00\x01\x01" + bytes(40), "unsupported version 1"),
        (b"\x00\x00\x00\x09\x02" + bytes(40), "unknown key term 9"),
        (b'{"plaintext": "json"}' + bytes(20), "unsupported version"),
    ],
)
async def test_malformed_headers(
    barrier: AESGCMBarrier, physical: InmemBackend, stored: bytes, message: str
) -> None:
    await physical.put("k", stored)
    with pytest.raises(IntegrityError, match=message):
        await barrier.get("k")


async def test_seal_drops_keys_and_refuses_everything(barrier: AESGCMBarrier) -> None:
    await barrier.put("k", SECRET)
    barrier.seal()
    assert barrier.sealed
    assert barrier._ciphers == {}
    assert barrier._keyring is None
    for call in (barrier.get("k"), barrier.put("k", b"v"), barrier.delete("k"), barrier.list("")):
        with pytest.raises(SealedError, match="Vault is sealed"):
            await call
    with pytest.raises(SealedError):
        await barrier.rotate()
    with pytest.raises(SealedError):
        barrier.key_status()


async def test_unseal_again_after_seal(barrier: AESGCMBarrier) -> None:
    await barrier.put("k", SECRET)
    barrier.seal()
    await barrier.unseal(ROOT)
    assert await barrier.get("k") == SECRET


async def test_rotate_keeps_old_terms_readable(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("old", b"written in term 1")
    assert await barrier.rotate() == 2
    await barrier.put("new", b"written in term 2")
    assert (await physical.get("old") or b"")[:4] == b"\x00\x00\x00\x01"
    assert (await physical.get("new") or b"")[:4] == b"\x00\x00\x00\x02"
    assert await barrier.get("old") == b"written in term 1"
    assert await barrier.get("new") == b"written in term 2"


async def test_rotation_survives_seal_and_unseal(physical: InmemBackend) -> None:
    barrier = AESGCMBarrier(physical)
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    await barrier.put("one", b"1")
    await barrier.rotate()
    await barrier.rotate()
    await barrier.put("three", b"3")
    barrier.seal()
    reopened = AESGCMBarrier(physical)
    await reopened.unseal(ROOT)
    assert reopened.key_status().term == 3
    assert await reopened.get("one") == b"1"
    assert await reopened.get("three") == b"3"


async def test_key_status(physical: InmemBackend) -> None:
    clock = ManualClock(1000.0)
    barrier = AESGCMBarrier(physical, clock=clock)
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    await barrier.put("a", b"1")
    await barrier.put("b", b"2")
    assert barrier.key_status() == KeyStatus(term=1, install_time=1000.0, encryptions=2)
    clock.advance(60)
    await barrier.rotate()
    # As in Vault, the count is the active term's: a new term starts from zero.
    assert barrier.key_status() == KeyStatus(term=2, install_time=1060.0, encryptions=0)


@pytest.mark.parametrize("key", ["core/keyring", "core/root-key", "core/seal-config"])
async def test_records_below_the_barrier_are_out_of_reach(barrier: AESGCMBarrier, key: str) -> None:
    with pytest.raises(StorageError, match="is reserved below the barrier"):
        await barrier.put(key, b"x")
    with pytest.raises(StorageError, match="is reserved below the barrier"):
        await barrier.get(key)
    with pytest.raises(StorageError, match="is reserved below the barrier"):
        await barrier.delete(key)


async def test_keyring_swapped_from_another_barrier_is_refused(physical: InmemBackend) -> None:
    other = InmemBackend()
    await AESGCMBarrier(other).initialize(ROOT)
    await AESGCMBarrier(physical).initialize(ROOT)
    barrier = AESGCMBarrier(physical)
    await barrier.unseal(ROOT)
    await barrier.put("k", SECRET)
    barrier.seal()
    # Same root key, different keyring: unseals, but the data keys differ, so old values fail.
    await physical.put(KEYRING_PATH, await other.get(KEYRING_PATH) or b"")
    await barrier.unseal(ROOT)
    with pytest.raises(IntegrityError):
        await barrier.get("k")


class _SlowPuts(InmemBackend):
    """Physical storage whose writes yield to the event loop, so a seal can land mid-operation."""

    async def put(self, key: str, value: bytes) -> None:
        await asyncio.sleep(0)
        await super().put(key, value)


async def test_seal_during_rotation_leaves_the_barrier_sealed() -> None:
    barrier = AESGCMBarrier(_SlowPuts())
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    rotation = asyncio.ensure_future(barrier.rotate())
    await asyncio.sleep(0)
    barrier.seal()
    with pytest.raises(SealedError):
        await rotation
    assert barrier.sealed
    await barrier.unseal(ROOT)
    assert barrier.key_status().term == 2


async def _tamper(physical: InmemBackend, key: str) -> None:
    stored = bytearray(await physical.get(key) or b"")
    stored[-1] ^= 0x80
    await physical.put(key, bytes(stored))


async def test_repeated_reads_come_from_memory(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("k", SECRET)
    assert await barrier.get("k") == SECRET
    await _tamper(physical, "k")  # only a read that reaches storage can notice
    assert await barrier.get("k") == SECRET


async def test_seal_drops_the_plaintexts(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("k", SECRET)
    assert await barrier.get("k") == SECRET
    barrier.seal()
    await _tamper(physical, "k")
    await barrier.unseal(ROOT)
    with pytest.raises(IntegrityError, match="failed to decrypt the value at 'k'"):
        await barrier.get("k")


async def test_writes_and_deletes_replace_what_is_kept(barrier: AESGCMBarrier) -> None:
    await barrier.put("k", SECRET)
    assert await barrier.get("k") == SECRET
    await barrier.put("k", b"rotated")
    assert await barrier.get("k") == b"rotated"
    await barrier.delete("k")
    assert await barrier.get("k") is None


async def test_standing_by_keeps_nothing(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    active = AESGCMBarrier(physical)  # another server sharing the storage
    await active.unseal(ROOT)
    await barrier.put("k", SECRET)
    assert await barrier.get("k") == SECRET
    barrier.stop_caching()
    await active.put("k", b"written by the active server")
    assert await barrier.get("k") == b"written by the active server"
    await active.put("k", b"and again")
    assert await barrier.get("k") == b"and again"
    barrier.start_caching()
    assert await barrier.get("k") == b"and again"


class _SlowReads(InmemBackend):
    """Storage whose reads wait for `release`, so a write can overtake them."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def get(self, key: str) -> bytes | None:
        value = await super().get(key)
        if key != KEYRING_PATH:
            await self.release.wait()
        return value


async def test_a_read_overtaken_by_a_write_is_not_kept() -> None:
    physical = _SlowReads()
    barrier = AESGCMBarrier(physical, clock=ManualClock(1000.0))
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    physical.release.set()
    await barrier.put("k", b"old")
    physical.release.clear()
    slow = asyncio.create_task(barrier.get("k"))
    await asyncio.sleep(0)
    await barrier.put("k", b"new")
    physical.release.set()
    assert await slow == b"old"
    assert await barrier.get("k") == b"new"


async def test_an_absent_key_is_remembered_until_written(
    barrier: AESGCMBarrier, physical: InmemBackend
) -> None:
    assert await barrier.get("missing") is None
    # Storage changed behind the barrier's back (never while a server serves): the absence is remembered.
    await physical.put("missing", b"not through the barrier")
    assert await barrier.get("missing") is None
    await barrier.put("missing", SECRET)
    assert await barrier.get("missing") == SECRET
    await barrier.delete("missing")
    assert await barrier.get("missing") is None
    await barrier.transaction({"missing": b"again"}, [])
    assert await barrier.get("missing") == b"again"


async def test_an_absence_overtaken_by_a_write_is_not_kept() -> None:
    physical = _SlowReads()
    barrier = AESGCMBarrier(physical, clock=ManualClock(1000.0))
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    slow = asyncio.create_task(barrier.get("k"))
    await asyncio.sleep(0)
    physical.release.set()
    await barrier.put("k", b"new")
    assert await slow is None
    assert await barrier.get("k") == b"new"


async def test_sealing_forgets_absent_keys(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    assert await barrier.get("missing") is None
    barrier.seal()
    other = AESGCMBarrier(physical)
    await other.unseal(ROOT)
    await other.put("missing", SECRET)
    await barrier.unseal(ROOT)
    assert await barrier.get("missing") == SECRET


async def test_a_written_value_is_read_from_memory(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("k", SECRET)
    await _tamper(physical, "k")  # only a read that reaches storage can notice
    assert await barrier.get("k") == SECRET


class _SlowWrites(InmemBackend):
    """Storage whose puts of "k" wait for `release`, so two writes of it overlap."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def put(self, key: str, value: bytes) -> None:
        if key == "k":
            await self.release.wait()
        await super().put(key, value)


async def test_overlapping_writes_keep_nothing() -> None:
    physical = _SlowWrites()
    barrier = AESGCMBarrier(physical, clock=ManualClock(1000.0))
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    first = asyncio.create_task(barrier.put("k", b"first"))
    second = asyncio.create_task(barrier.put("k", b"second"))
    await asyncio.sleep(0)
    physical.release.set()
    await asyncio.gather(first, second)
    await _tamper(physical, "k")  # whichever landed last, the barrier must read it from storage
    with pytest.raises(IntegrityError):
        await barrier.get("k")


async def test_a_failed_write_keeps_nothing(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.put("k", b"stored")
    await barrier.get("k")

    async def refuse(key: str, value: bytes) -> None:
        raise OSError("disk full")

    physical.put = refuse  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        await barrier.put("k", b"never stored")
    del physical.put
    await _tamper(physical, "k")
    with pytest.raises(IntegrityError):
        await barrier.get("k")


async def test_a_write_that_never_reached_storage_keeps_what_was_known(
    barrier: AESGCMBarrier, physical: InmemBackend
) -> None:
    await barrier.transaction({"kept": b"stored"}, [])
    assert await barrier.get("absent") is None

    async def unreachable(puts: dict[str, bytes], deletes: list[str]) -> None:
        raise NothingWrittenError("postgresql: connection refused")

    physical.transaction = unreachable  # type: ignore[method-assign]
    with pytest.raises(NothingWrittenError):
        await barrier.transaction({"kept": b"never stored", "absent": b"never stored"}, [])
    del physical.transaction
    # Storage still holds what it held, and the barrier answers from what it knew without asking it.
    await _tamper(physical, "kept")
    await physical.put("absent", b"planted")
    assert (await barrier.get("kept"), await barrier.get("absent")) == (b"stored", None)


class _CountingTransactions(InmemBackend):
    """Storage that counts its atomic writes and single puts."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions = 0
        self.puts = 0

    async def transaction(self, puts: dict[str, bytes], deletes: list[str]) -> None:
        self.transactions += 1
        await super().transaction(puts, deletes)

    async def put(self, key: str, value: bytes) -> None:
        self.puts += 1
        await super().put(key, value)


async def test_a_transaction_is_one_atomic_write_of_encrypted_values() -> None:
    physical = _CountingTransactions()
    barrier = AESGCMBarrier(physical, clock=ManualClock(1000.0))
    await barrier.initialize(ROOT)
    await barrier.unseal(ROOT)
    await barrier.put("old", b"to be deleted")
    before = physical.puts
    await barrier.transaction({"a": SECRET, "b": b"second"}, ["old"])
    assert (physical.transactions, physical.puts - before) == (1, 0)
    for key in ("a", "b"):
        stored = await physical.get(key) or b""
        assert SECRET not in stored
        assert b"second" not in stored
    assert await physical.get("old") is None
    # Read back through a fresh barrier: the values decrypt under their own keys.
    fresh = AESGCMBarrier(physical, clock=ManualClock(1000.0))
    await fresh.unseal(ROOT)
    assert (await fresh.get("a"), await fresh.get("b"), await fresh.get("old")) == (SECRET, b"second", None)
    assert barrier.key_status().encryptions == 3


async def test_a_refused_transaction_writes_nothing(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    with pytest.raises(StorageError):
        await barrier.transaction({"a": SECRET, KEYRING_PATH: b"planted"}, [])
    assert await physical.get("a") is None
    with pytest.raises(StorageError):
        await barrier.transaction({"a": SECRET, "bad\x00key": b"x"}, [])
    assert await physical.get("a") is None


async def test_a_transaction_keeps_what_it_wrote(barrier: AESGCMBarrier, physical: InmemBackend) -> None:
    await barrier.transaction({"a": SECRET}, [])
    await _tamper(physical, "a")
    assert await barrier.get("a") == SECRET
