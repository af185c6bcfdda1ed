"""The AES-256-GCM barrier over a physical backend: it encrypts on the way down, decrypts on the way up.

Layer: barrier (imports physical, crypto, barrier.keyring, util and errors).

A stored value is: 4-byte big-endian key term | 1 version byte (2) | 12-byte nonce | ciphertext and tag,
the layout of Vault's barrier. The associated data is the storage path, so a ciphertext copied to another
key fails to decrypt. The keyring itself lives at "core/keyring", encrypted the same way with the root
key under term 0.

Plaintexts of recent reads and writes are kept in memory while unsealed (most requests read the same
token, policy and secret again, or what was just written: a login's token, a secret's metadata), so a
repeated read costs no decryption; so are keys found absent (a KV mount that was never configured has its
config read by every write). Coherence is the physical cache's: while a server serves it is the
only writer, every write passes here and replaces the key's plaintext, and a read or write that overlaps
another write is not kept; an HA server keeps nothing while it stands by.

Invariant: every value that leaves this module for physical storage is encrypted.
Invariant: while sealed, no key and no plaintext is held in memory and every storage operation raises
SealedError.
Invariant: the records the layers below the seal keep themselves (keyring, root key, seal config) can
neither be read nor overwritten through the barrier.
"""

from __future__ import annotations

import asyncio
import builtins
import hmac
import struct
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import cast

from strongroom.barrier.keyring import KEY_SIZE, Keyring, RotationConfig
from strongroom.crypto.aead import NONCE_SIZE, TAG_SIZE, Cipher
from strongroom.errors import BarrierError, IntegrityError, NothingWrittenError, SealedError, StorageError
from strongroom.physical.base import PhysicalBackend, Transactional
from strongroom.util.clock import Clock, SystemClock

KEYRING_PATH = "core/keyring"
ROOT_KEY_PATH = "core/root-key"
SEAL_CONFIG_PATH = "core/seal-config"
RESERVED_PATHS = frozenset({KEYRING_PATH, ROOT_KEY_PATH, SEAL_CONFIG_PATH})

# Vault's AESGCMVersion2: the storage path is the associated data.
VERSION = 2
# The header term of records encrypted with the root key rather than a keyring term.
ROOT_TERM = 0
_HEADER = struct.Struct(">IB")
_MIN_SIZE = _HEADER.size + NONCE_SIZE + TAG_SIZE
# Plaintexts kept in memory: entries, and the largest value kept (a big value is rare and cheap to decrypt
# compared with what holding many of them would cost).
PLAINTEXT_CACHE_SIZE = 4096
PLAINTEXT_CACHE_MAX_VALUE = 64 * 1024


@dataclass(frozen=True, slots=True)
class KeyStatus:
    """What sys/key-status reports: the active term, when it was installed, encryptions since unseal."""

    term: int
    install_time: float
    encryptions: int


def seal_value(cipher: Cipher, term: int, path: str, plaintext: bytes) -> bytes:
    """`plaintext` in the barrier's stored format, bound to `path`."""
    return _HEADER.pack(term, VERSION) + cipher.encrypt(plaintext, path.encode())


def read_term(path: str, stored: bytes) -> int:
    """The key term in the header of `stored`; IntegrityError if the header is not the barrier's."""
    if len(stored) < _MIN_SIZE:
        raise IntegrityError(f"stored value at {path!r} is too short")
    term, version = _HEADER.unpack_from(stored)
    if version != VERSION:
        raise IntegrityError(f"stored value at {path!r} has unsupported version {version}")
    return int(term)


def open_value(cipher: Cipher, path: str, stored: bytes) -> bytes:
    """The plaintext of `stored` (header already checked by `read_term`); IntegrityError if forged."""
    try:
        return cipher.decrypt(stored[_HEADER.size :], path.encode())
    except IntegrityError:
        raise IntegrityError(f"failed to decrypt the value at {path!r}") from None


class AESGCMBarrier:
    """Storage (get/put/delete/list) over `physical`, encrypted with the keyring's terms."""

    def __init__(
        self, physical: PhysicalBackend, *, clock: Clock | None = None, caching: bool = True
    ) -> None:
        self._physical = physical
        self._transactional = isinstance(physical, Transactional)
        self._clock = clock or SystemClock()
        self._keyring: Keyring | None = None
        # One ready cipher per term, built at unseal and rotation so no request pays for key setup.
        self._ciphers: dict[int, Cipher] = {}
        self._encryptions = 0
        # Bumped by every seal(), so an unseal or rotation in flight cannot load keys after a seal.
        self._seals = 0
        self._lock = asyncio.Lock()
        self._caching = caching
        # None for a key known to be absent.
        self._plaintexts: OrderedDict[str, bytes | None] = OrderedDict()
        # Bumped before and after every write and by every seal: a read that saw it change is not kept.
        self._writes = 0

    def __repr__(self) -> str:
        return f"AESGCMBarrier(sealed={self.sealed})"

    @property
    def sealed(self) -> bool:
        """True while no keyring is loaded."""
        return self._keyring is None

    async def initialized(self) -> bool:
        """True once a keyring has been stored."""
        return await self._physical.get(KEYRING_PATH) is not None

    async def initialize(self, root_key: bytes) -> None:
        """Create term 1 and store the keyring encrypted with `root_key`. The barrier stays sealed."""
        async with self._lock:
            if await self.initialized():
                raise BarrierError("barrier is already initialized")
            await self._store_keyring(Keyring.create(root_key, self._clock.now()))

    async def unseal(self, root_key: bytes) -> None:
        """Load the keyring with `root_key`; IntegrityError (and still sealed) if it is the wrong key."""
        async with self._lock:
            if not self.sealed:
                return
            seals = self._seals
            stored = await self._physical.get(KEYRING_PATH)
            if stored is None:
                raise BarrierError("barrier is not initialized")
            if len(root_key) != KEY_SIZE:
                raise IntegrityError(f"the root key must be {KEY_SIZE} bytes")
            if read_term(KEYRING_PATH, stored) != ROOT_TERM:
                raise IntegrityError("stored keyring has an unexpected header")
            keyring = Keyring.from_json(open_value(Cipher(root_key), KEYRING_PATH, stored))
            if not hmac.compare_digest(keyring.root_key, root_key):
                raise IntegrityError("stored keyring does not belong to this root key")
            if seals != self._seals:
                raise SealedError()
            self._load(keyring)
            self._encryptions = 0

    async def reload_keyring(self) -> None:
        """Load the stored keyring again: another server sharing the storage (HA) may have rotated it."""
        async with self._lock:
            root_key = self._unsealed().root_key
            seals = self._seals
            stored = await self._physical.get(KEYRING_PATH)
            if stored is None:
                raise BarrierError("barrier is not initialized")
            keyring = Keyring.from_json(open_value(Cipher(root_key), KEYRING_PATH, stored))
            if seals != self._seals:
                raise SealedError()
            self._load(keyring)

    def opens_keyring(self, stored: bytes) -> bool:
        """True when `stored` (a keyring record, from a snapshot say) opens with this barrier's root key:
        it belongs to the same cluster. SealedError while sealed."""
        root_key = self._unsealed().root_key
        try:
            if read_term(KEYRING_PATH, stored) != ROOT_TERM:
                return False
            keyring = Keyring.from_json(open_value(Cipher(root_key), KEYRING_PATH, stored))
        except (IntegrityError, BarrierError, ValueError):
            return False
        return hmac.compare_digest(keyring.root_key, root_key)

    def seal(self) -> None:
        """Drop every key and every plaintext from memory."""
        self._keyring = None
        self._ciphers = {}
        self._plaintexts.clear()
        self._seals += 1
        self._writes += 1

    def start_caching(self) -> None:
        """Keep plaintexts from now on, starting empty (another server may have written meanwhile)."""
        self._plaintexts.clear()
        self._writes += 1
        self._caching = True

    def stop_caching(self) -> None:
        """Keep no plaintext from now on: another server may write."""
        self._caching = False
        self._plaintexts.clear()
        self._writes += 1

    async def rotate(self) -> int:
        """Add a term with a fresh key and make it active; older terms stay readable. Returns the term."""
        async with self._lock:
            return await self._install(self._unsealed().add_term(self._clock.now()))

    def rotation_config(self) -> RotationConfig:
        """When the barrier rotates its key on its own."""
        return self._unsealed().rotation

    async def set_rotation_config(self, config: RotationConfig) -> None:
        """Keep `config` in the keyring (so every server sharing the storage follows it)."""
        async with self._lock:
            await self._install(replace(self._unsealed(), rotation=config), new_term=False)

    async def _install(self, keyring: Keyring, *, new_term: bool = True) -> int:
        """Store `keyring` and load it; the caller holds the lock."""
        seals = self._seals
        await self._store_keyring(keyring)
        if seals != self._seals:
            raise SealedError()
        self._load(keyring)
        if new_term:
            self._encryptions = 0
        return keyring.active_term

    async def _rotate_if_due(self, term: int) -> None:
        """Rotate once the active `term` reached its rotation config's limit (writes call this; a server
        that writes nothing encrypts nothing, so checking on writes alone is enough)."""
        async with self._lock:
            keyring = self._keyring
            if keyring is None or keyring.active_term != term:
                return
            now = self._clock.now()
            if keyring.rotation.due(self._encryptions, keyring.active.install_time, now):
                await self._install(keyring.add_term(now))

    def key_status(self) -> KeyStatus:
        """The active term, its install time, and how many values it encrypted since unseal or rotation."""
        active = self._unsealed().active
        return KeyStatus(term=active.term, install_time=active.install_time, encryptions=self._encryptions)

    async def get(self, key: str) -> bytes | None:
        self._unsealed()
        plaintexts = self._plaintexts
        if key in plaintexts:
            plaintexts.move_to_end(key)
            return plaintexts[key]
        _check_not_reserved(key)
        writes = self._writes
        stored = await self._physical.get(key)
        if stored is None:
            if writes == self._writes:
                self._keep(key, None)
            return None
        term = read_term(key, stored)
        cipher = self._ciphers.get(term)
        if cipher is None:
            raise IntegrityError(f"stored value at {key!r} names unknown key term {term}")
        plaintext = open_value(cipher, key, stored)
        if writes == self._writes:
            self._keep(key, plaintext)
        return plaintext

    async def put(self, key: str, value: bytes) -> None:
        keyring = self._unsealed()
        _check_not_reserved(key)
        stored = seal_value(self._ciphers[keyring.active_term], keyring.active_term, key, value)
        self._encryptions += 1
        await self._write((key,), self._physical.put(key, stored), {key: _compact(value)})
        await self._rotate_if_used_up(keyring)

    async def delete(self, key: str) -> None:
        self._unsealed()
        _check_not_reserved(key)
        await self._write((key,), self._physical.delete(key))

    async def transaction(self, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
        """Encrypt `puts` and apply them with `deletes` in one atomic write below (one commit); a physical
        backend without transactions gets them one by one, puts first, in the order given."""
        keyring = self._unsealed()
        for key in (*puts, *deletes):
            _check_not_reserved(key)
        term = keyring.active_term
        cipher = self._ciphers[term]
        stored = {key: seal_value(cipher, term, key, value) for key, value in puts.items()}
        self._encryptions += len(stored)
        physical = self._physical
        if self._transactional:
            write = cast(Transactional, physical).transaction(stored, builtins.list(deletes))
        else:
            write = _one_by_one(physical, stored, deletes)
        await self._write((*puts, *deletes), write, {key: _compact(value) for key, value in puts.items()})
        await self._rotate_if_used_up(keyring)

    async def _rotate_if_used_up(self, keyring: Keyring) -> None:
        if keyring.rotation.due(self._encryptions, keyring.active.install_time, self._clock.now()):
            await self._rotate_if_due(keyring.active_term)

    async def _write(
        self, keys: tuple[str, ...], write: Awaitable[None], written: dict[str, bytes] | None = None
    ) -> None:
        """Run `write` with `keys` dropped from the plaintexts before and after it, whatever its outcome.
        The values `written` (the plaintexts put) are kept once stored, and the ones dropped are kept again
        when the write never reached storage (NothingWrittenError), if no other write began or ended
        meanwhile (whose order against this one in storage the barrier cannot know)."""
        self._writes += 1
        started = self._writes
        plaintexts = self._plaintexts
        before = {key: plaintexts.pop(key) for key in keys if key in plaintexts}
        kept: dict[str, bytes | None] | None = None
        try:
            await write
        except NothingWrittenError:
            kept = before
            raise
        else:
            kept = dict(written) if written else None
        finally:
            self._writes += 1
            for key in keys:
                plaintexts.pop(key, None)
            if kept and self._writes == started + 1:
                for key, plaintext in kept.items():
                    self._keep(key, plaintext)

    def _keep(self, key: str, plaintext: bytes | None) -> None:
        if self._caching and (plaintext is None or len(plaintext) <= PLAINTEXT_CACHE_MAX_VALUE):
            self._plaintexts[key] = plaintext
            if len(self._plaintexts) > PLAINTEXT_CACHE_SIZE:
                self._plaintexts.popitem(last=False)

    async def list(self, prefix: str) -> builtins.list[str]:
        self._unsealed()
        return await self._physical.list(prefix)

    def _unsealed(self) -> Keyring:
        if self._keyring is None:
            raise SealedError()
        return self._keyring

    def _load(self, keyring: Keyring) -> None:
        self._ciphers = {key.term: Cipher(key.value) for key in keyring.keys}
        self._keyring = keyring

    async def _store_keyring(self, keyring: Keyring) -> None:
        stored = seal_value(Cipher(keyring.root_key), ROOT_TERM, KEYRING_PATH, keyring.to_json())
        await self._physical.put(KEYRING_PATH, stored)


def _compact(value: bytes) -> bytes:
    """A copy of `value` to keep: bytes from orjson.dumps hold a 4 KiB allocation however short they are,
    so keeping thousands of written values as given would cost megabytes."""
    return bytes(memoryview(value))


async def _one_by_one(physical: PhysicalBackend, puts: dict[str, bytes], deletes: builtins.list[str]) -> None:
    for key, value in puts.items():
        await physical.put(key, value)
    for key in deletes:
        await physical.delete(key)


def _check_not_reserved(key: str) -> None:
    if key in RESERVED_PATHS:
        raise StorageError(f"{key!r} is reserved below the barrier")
