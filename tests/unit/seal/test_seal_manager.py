"""The seal manager: init, unseal from shares, wrong and foreign shares, seal, status, at-rest checks."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from strongroom import __version__
from strongroom.barrier.aes_gcm import AESGCMBarrier
from strongroom.errors import IntegrityError, InvalidRequestError, SealedError
from strongroom.physical.inmem import InmemBackend
from strongroom.physical.sqlite import SQLiteBackend
from strongroom.seal.manager import SealManager, SealStatus

SECRET = b"correct horse battery staple"


def _stack(physical: InmemBackend | SQLiteBackend | None = None) -> tuple[SealManager, AESGCMBarrier]:
    physical = physical or InmemBackend()
    barrier = AESGCMBarrier(physical)
    return SealManager(physical, barrier, storage_type="inmem"), barrier


async def test_status_before_initialization() -> None:
    manager, _ = _stack()
    assert not await manager.initialized()
    assert await manager.status() == SealStatus(
        type="shamir",
        initialized=False,
        sealed=True,
        t=0,
        n=0,
        progress=0,
        nonce="",
        version=__version__,
        build_date="",
        migration=False,
        recovery_seal=False,
        storage_type="inmem",
    )


async def test_initialize_returns_shares_and_stays_sealed() -> None:
    manager, barrier = _stack()
    shares = await manager.initialize(5, 3)
    assert len(shares) == 5
    assert all(len(share) == 33 for share in shares)
    assert len({share[-1] for share in shares}) == 5
    assert await manager.initialized()
    assert barrier.sealed
    status = await manager.status()
    assert (status.initialized, status.sealed, status.t, status.n, status.progress) == (True, True, 3, 5, 0)


async def test_single_share_is_the_raw_unseal_key() -> None:
    manager, barrier = _stack()
    [key] = await manager.initialize(1, 1)
    assert len(key) == 32
    status = await manager.unseal(key)
    assert not status.sealed
    assert not barrier.sealed


async def test_unseal_progress_then_unsealed() -> None:
    manager, barrier = _stack()
    shares = await manager.initialize(5, 3)
    first = await manager.unseal(shares[4])
    assert (first.sealed, first.progress, first.t) == (True, 1, 3)
    assert len(first.nonce) == 36
    second = await manager.unseal(shares[1])
    assert (second.progress, second.nonce) == (2, first.nonce)
    done = await manager.unseal(shares[2])
    assert (done.sealed, done.progress, done.nonce) == (False, 0, "")
    await barrier.put("logical/kv/k", SECRET)
    assert await barrier.get("logical/kv/k") == SECRET


async def test_any_threshold_subset_unseals() -> None:
    manager, _ = _stack()
    shares = await manager.initialize(4, 2)
    for pair in itertools.permutations(shares, 2):
        manager.seal()
        for share in pair:
            status = await manager.unseal(share)
        assert not status.sealed


async def test_duplicate_share_is_ignored_like_vault() -> None:
    manager, _ = _stack()
    shares = await manager.initialize(3, 2)
    await manager.unseal(shares[0])
    again = await manager.unseal(shares[0])
    assert (again.sealed, again.progress) == (True, 1)
    assert not (await manager.unseal(shares[1])).sealed


async def test_too_few_shares_stay_sealed() -> None:
    manager, barrier = _stack()
    shares = await manager.initialize(5, 3)
    await manager.unseal(shares[0])
    await manager.unseal(shares[1])
    assert barrier.sealed
    with pytest.raises(SealedError):
        await barrier.get("anything")


async def test_wrong_share_fails_and_resets_progress() -> None:
    manager, barrier = _stack()
    shares = await manager.initialize(3, 2)
    forged = bytes(b ^ 0x5A for b in shares[1][:-1]) + shares[1][-1:]
    await manager.unseal(shares[0])
    with pytest.raises(InvalidRequestError) as caught:
        await manager.unseal(forged)
    assert caught.value.errors == (
        "unable to retrieve stored keys: failed to decrypt keys from storage: "
        "cipher: message authentication failed",
    )
    assert barrier.sealed
    assert (await manager.status()).progress == 0
    await manager.unseal(shares[2])
    assert not (await manager.unseal(shares[0])).sealed


async def test_share_from_another_initialization_fails() -> None:
    manager, barrier = _stack()
    other, _ = _stack()
    shares = await manager.initialize(3, 2)
    foreign = await other.initialize(3, 2)
    await manager.unseal(shares[0])
    # Pick a foreign share whose x-coordinate differs, so the failure is the key, not a duplicate x.
    stranger = next(share for share in foreign if share[-1] != shares[0][-1])
    with pytest.raises(InvalidRequestError, match="message authentication failed"):
        await manager.unseal(stranger)
    assert barrier.sealed


async def test_wrong_single_key_fails() -> None:
    manager, barrier = _stack()
    await manager.initialize(1, 1)
    with pytest.raises(InvalidRequestError, match="message authentication failed"):
        await manager.unseal(bytes(32))
    assert barrier.sealed


async def test_same_x_from_two_shares_is_a_combine_error() -> None:
    manager, _ = _stack()
    shares = await manager.initialize(3, 2)
    twin = bytes(32) + shares[0][-1:]
    await manager.unseal(shares[0])
    with pytest.raises(InvalidRequestError) as caught:
        await manager.unseal(twin)
    assert caught.value.errors == ("invalid key: failed to compute combined key: duplicate share detected",)
    assert (await manager.status()).progress == 0


@pytest.mark.parametrize(
    ("share", "message"),
    [
        (bytes(15), "invalid key: key is shorter than minimum 16 bytes"),
        (bytes(34), "invalid key: key is longer than maximum 33 bytes"),
    ],
)
async def test_share_length_is_checked(share: bytes, message: str) -> None:
    manager, _ = _stack()
    await manager.initialize(3, 2)
    with pytest.raises(InvalidRequestError) as caught:
        await manager.unseal(share)
    assert caught.value.errors == (message,)
    assert (await manager.status()).progress == 0


async def test_unseal_before_initialize() -> None:
    manager, _ = _stack()
    with pytest.raises(InvalidRequestError, match="Vault is not initialized"):
        await manager.unseal(bytes(33))


async def test_initialize_twice() -> None:
    manager, _ = _stack()
    await manager.initialize(1, 1)
    with pytest.raises(InvalidRequestError, match="Vault is already initialized"):
        await manager.initialize(1, 1)


async def test_invalid_configuration_writes_nothing() -> None:
    physical = InmemBackend()
    manager, _ = _stack(physical)
    with pytest.raises(InvalidRequestError, match="threshold cannot be larger than shares"):
        await manager.initialize(2, 3)
    assert await physical.list("") == []


async def test_reset_unseal() -> None:
    manager, _ = _stack()
    shares = await manager.initialize(3, 2)
    await manager.unseal(shares[0])
    manager.reset_unseal()
    status = await manager.status()
    assert (status.progress, status.nonce) == (0, "")


async def test_unseal_when_unsealed_is_a_no_op() -> None:
    manager, _ = _stack()
    shares = await manager.initialize(3, 2)
    await manager.unseal(shares[0])
    await manager.unseal(shares[1])
    status = await manager.unseal(shares[2])
    assert (status.sealed, status.progress) == (False, 0)


async def test_seal_makes_nothing_readable_and_cycle_repeats() -> None:
    manager, barrier = _stack()
    shares = await manager.initialize(3, 2)
    for _ in range(3):
        await manager.unseal(shares[0])
        await manager.unseal(shares[2])
        await barrier.put("logical/kv/k", SECRET)
        manager.seal()
        assert (await manager.status()).sealed
        with pytest.raises(SealedError):
            await barrier.get("logical/kv/k")
        with pytest.raises(SealedError):
            await barrier.list("")


async def test_restart_from_sqlite(tmp_path: Path) -> None:
    physical = SQLiteBackend(str(tmp_path / "s.db"))
    manager, barrier = _stack(physical)
    shares = await manager.initialize(3, 2)
    await manager.unseal(shares[0])
    await manager.unseal(shares[1])
    await barrier.rotate()
    await barrier.put("logical/kv/k", SECRET)
    await physical.close()

    reopened = SQLiteBackend(str(tmp_path / "s.db"))
    manager, barrier = _stack(reopened)
    status = await manager.status()
    assert (status.initialized, status.sealed, status.t, status.n) == (True, True, 2, 3)
    await manager.unseal(shares[2])
    await manager.unseal(shares[0])
    assert await barrier.get("logical/kv/k") == SECRET
    assert barrier.key_status().term == 2
    raw = b"".join(path.read_bytes() for path in tmp_path.iterdir())
    await reopened.close()
    assert SECRET not in raw
    assert all(share[:-1] not in raw for share in shares)


async def test_tampered_root_key_record() -> None:
    physical = InmemBackend()
    manager, barrier = _stack(physical)
    shares = await manager.initialize(3, 2)
    stored = bytearray(await physical.get("core/root-key") or b"")
    stored[-1] ^= 1
    await physical.put("core/root-key", bytes(stored))
    await manager.unseal(shares[0])
    with pytest.raises(InvalidRequestError, match="message authentication failed"):
        await manager.unseal(shares[1])
    assert barrier.sealed


async def test_tampered_keyring() -> None:
    physical = InmemBackend()
    manager, barrier = _stack(physical)
    shares = await manager.initialize(3, 2)
    stored = bytearray(await physical.get("core/keyring") or b"")
    stored[20] ^= 1
    await physical.put("core/keyring", bytes(stored))
    await manager.unseal(shares[0])
    with pytest.raises(IntegrityError, match="failed to decrypt the value at 'core/keyring'"):
        await manager.unseal(shares[1])
    assert barrier.sealed
    assert (await manager.status()).progress == 0


async def test_only_the_seal_config_is_plaintext() -> None:
    physical = InmemBackend()
    manager, _ = _stack(physical)
    await manager.initialize(3, 2)
    assert await physical.list("core/") == ["keyring", "root-key", "seal-config"]
    assert (await physical.get("core/seal-config") or b"").startswith(b'{"type":"shamir"')
    for key in ("core/keyring", "core/root-key"):
        assert (await physical.get(key) or b"")[:5] == b"\x00\x00\x00\x00\x02"


def test_repr_shows_no_secrets() -> None:
    manager, _ = _stack()
    assert repr(manager) == "SealManager(sealed=True, progress=0)"
