"""The seal manager: initialization, and unsealing from Shamir shares of the unseal key.

Layer: seal (imports barrier, physical, crypto, util and errors).

Keys, as in Vault's Shamir seal: a random unseal key is split into the shares handed to operators; it
encrypts the random root key stored at "core/root-key"; the root key encrypts the barrier's keyring.
With one share, the share is the unseal key itself, as Vault returns it.

Invariant: the unseal key exists only while shares are being combined; it is never stored.
Invariant: shares, keys and combined secrets never appear in an error message or a repr.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import secrets
from dataclasses import dataclass, field

import orjson

from strongroom import __version__
from strongroom.barrier.aes_gcm import (
    ROOT_KEY_PATH,
    ROOT_TERM,
    SEAL_CONFIG_PATH,
    AESGCMBarrier,
    open_value,
    read_term,
    seal_value,
)
from strongroom.crypto import shamir
from strongroom.crypto.aead import KEY_SIZE, Cipher
from strongroom.errors import IntegrityError, InvalidRequestError, StorageError
from strongroom.physical.base import PhysicalBackend, Transactional
from strongroom.seal.config import SHAMIR, STATIC, SealConfig, load_seal_config, store_seal_config
from strongroom.seal.static import StaticKey, StaticKeys
from strongroom.util.ids import new_uuid

# Vault accepts unseal keys of the barrier's key lengths (16 to 32 bytes) plus the one-byte share tag.
_MIN_KEY = 16
_MAX_KEY = KEY_SIZE + 1
# Vault's words when the combined key does not open the stored root key.
_WRONG_KEY = (
    "unable to retrieve stored keys: failed to decrypt keys from storage: "
    "cipher: message authentication failed"
)


@dataclass(frozen=True, slots=True)
class SealStatus:
    """The fields of Vault's sys/seal-status."""

    type: str
    initialized: bool
    sealed: bool
    t: int
    n: int
    progress: int
    nonce: str
    version: str
    build_date: str
    migration: bool
    recovery_seal: bool
    storage_type: str


class SealManager:
    """Initializes the storage stack and unseals its barrier from key shares."""

    def __init__(
        self,
        physical: PhysicalBackend,
        barrier: AESGCMBarrier,
        *,
        storage_type: str = "",
        build_date: str = "",
        static: StaticKeys | None = None,
    ) -> None:
        self._static = static
        self._physical = physical
        self._barrier = barrier
        self._storage_type = storage_type
        self._build_date = build_date
        self._config: SealConfig | None = None
        self._parts: list[bytes] = []
        self._nonce = ""
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"SealManager(sealed={self._barrier.sealed}, progress={len(self._parts)})"

    async def initialized(self) -> bool:
        """True once a seal configuration is stored (written last by `initialize`)."""
        return await self._load_config() is not None

    @property
    def auto_unseal(self) -> bool:
        """True with a static seal: the server unseals itself and its shares are recovery shares."""
        return self._static is not None

    async def initialize(self, secret_shares: int, secret_threshold: int) -> list[bytes]:
        """Create the keys and return the unseal key shares (recovery shares with a static seal).

        With a Shamir seal the barrier is left sealed, as in Vault; with a static seal it is left unsealed.
        """
        kind = SHAMIR if self._static is None else STATIC
        config = SealConfig(type=kind, secret_shares=secret_shares, secret_threshold=secret_threshold)
        config.validate()
        async with self._lock:
            if await self.initialized():
                raise InvalidRequestError("Vault is already initialized")
            unseal_key = secrets.token_bytes(KEY_SIZE)
            root_key = secrets.token_bytes(KEY_SIZE)
            await self._barrier.initialize(root_key)
            if self._static is None:
                wrapped = seal_value(Cipher(unseal_key), ROOT_TERM, ROOT_KEY_PATH, root_key)
            else:
                wrapped = _wrap_static(self._static.current, root_key)
                await self._barrier.unseal(root_key)
                # The recovery key lives inside the barrier: only an unsealed server can check shares.
                await self._barrier.put(RECOVERY_KEY_PATH, unseal_key)
            await self._physical.put(ROOT_KEY_PATH, wrapped)
            # The configuration is the commit marker: until it exists the vault reads as uninitialized.
            await store_seal_config(self._physical, config)
            self._config = config
            if secret_shares == 1:
                return [unseal_key]
            return shamir.split(unseal_key, secret_shares, secret_threshold)

    async def unseal(self, share: bytes) -> SealStatus:
        """Record one share; once `secret_threshold` are in, combine them and unseal the barrier.

        A share already given is ignored, as Vault does. A combination that does not open the root key
        raises InvalidRequestError and starts the progress over.
        """
        async with self._lock:
            config = await self._load_config()
            if config is None:
                raise InvalidRequestError("Vault is not initialized")
            if self._static is not None:
                raise InvalidRequestError("this server is unsealed by its static seal, not by key shares")
            if len(share) < _MIN_KEY:
                raise InvalidRequestError(f"invalid key: key is shorter than minimum {_MIN_KEY} bytes")
            if len(share) > _MAX_KEY:
                raise InvalidRequestError(f"invalid key: key is longer than maximum {_MAX_KEY} bytes")
            if not self._barrier.sealed:
                return await self.status()
            if not any(hmac.compare_digest(part, share) for part in self._parts):
                if not self._parts:
                    self._nonce = new_uuid()
                self._parts.append(bytes(share))
            if len(self._parts) < config.secret_threshold:
                return await self.status()
            parts = self._parts
            self.reset_unseal()
            await self._barrier.unseal(await self._root_key(config, parts))
            return await self.status()

    async def unseal_static(self) -> None:
        """Unseal with the static key; a root key wrapped by the previous key is re-wrapped by the current."""
        static = self._static
        if static is None or not self._barrier.sealed:
            return
        async with self._lock:
            if await self._load_config() is None:
                return
            stored = await self._physical.get(ROOT_KEY_PATH)
            if stored is None:
                raise StorageError("the stored root key is missing")
            key_id, sealed_root = _read_static(stored)
            key = static.by_id(key_id)
            if key is None:
                raise InvalidRequestError(
                    f'the root key is wrapped by static key "{key_id}", which is not configured'
                )
            try:
                root_key = open_value(Cipher(key.key), ROOT_KEY_PATH, sealed_root)
            except IntegrityError:
                raise InvalidRequestError(f'static key "{key_id}" does not open the root key') from None
            if key is not static.current:
                await self._physical.put(ROOT_KEY_PATH, _wrap_static(static.current, root_key))
            await self._barrier.unseal(root_key)

    def reset_unseal(self) -> None:
        """Forget the shares given so far."""
        self._parts = []
        self._nonce = ""

    def seal(self) -> None:
        """Seal the barrier (dropping its keys) and forget any unseal progress."""
        self._barrier.seal()
        self.reset_unseal()

    async def status(self) -> SealStatus:
        """What sys/seal-status reports."""
        config = await self._load_config()
        return SealStatus(
            type=(STATIC if self._static else SHAMIR) if config is None else config.type,
            initialized=config is not None,
            sealed=self._barrier.sealed,
            t=0 if config is None else config.secret_threshold,
            n=0 if config is None else config.secret_shares,
            progress=len(self._parts),
            nonce=self._nonce,
            version=__version__,
            build_date=self._build_date,
            migration=False,
            recovery_seal=self._static is not None,
            storage_type=self._storage_type,
        )

    async def verify_shares(self, parts: list[bytes]) -> None:
        """Check that `parts` combine to the unseal key (a quorum for rekey or generate-root).

        Raises InvalidRequestError, with Vault's words, when they do not.
        """
        config = await self._load_config()
        if config is None:
            raise InvalidRequestError("Vault is not initialized")
        if self._static is None:
            await self._root_key(config, parts)
            return
        combined = parts[0] if config.secret_threshold == 1 else _combine(parts)
        stored = await self._barrier.get(RECOVERY_KEY_PATH)
        if stored is None or not hmac.compare_digest(stored, combined):
            raise InvalidRequestError("recovery key verification failed: the shares do not combine to it")

    async def prepare_rekey(
        self, parts: list[bytes], secret_shares: int, secret_threshold: int
    ) -> tuple[list[bytes], PendingRekey]:
        """New unseal key shares, not yet in force: `parts` must open the root key, which is sealed under a
        new unseal key that `commit_rekey` stores. The barrier and its keyring are untouched."""
        config = SealConfig(type=SHAMIR, secret_shares=secret_shares, secret_threshold=secret_threshold)
        config.validate()
        if self._static is not None:
            raise InvalidRequestError("rekey applies to Shamir unseal keys; this server uses a static seal")
        async with self._lock:
            current = await self._load_config()
            if current is None:
                raise InvalidRequestError("Vault is not initialized")
            root_key = await self._root_key(current, parts)
        unseal_key = secrets.token_bytes(KEY_SIZE)
        shares = (
            [unseal_key] if secret_shares == 1 else shamir.split(unseal_key, secret_shares, secret_threshold)
        )
        sealed_root = seal_value(Cipher(unseal_key), ROOT_TERM, ROOT_KEY_PATH, root_key)
        return shares, PendingRekey(config, sealed_root, hmac.new(sealed_root, unseal_key, "sha256").digest())

    @staticmethod
    def shares_match(pending: PendingRekey, parts: list[bytes]) -> bool:
        """True when `parts` (new shares, as many as the new threshold) combine to the pending unseal key."""
        combined = parts[0] if pending.config.secret_threshold == 1 else _combine(parts)
        mac = hmac.new(pending.sealed_root, combined, "sha256").digest()
        return hmac.compare_digest(mac, pending.check)

    async def commit_rekey(self, pending: PendingRekey, backup: bytes | None = None) -> None:
        """Put the new shares in force; with `backup` (PGP-encrypted shares), store it in the same
        transaction, else drop any older backup."""
        # Both records or neither: a crash between them would leave no shares that open the vault.
        if not isinstance(self._physical, Transactional):
            raise StorageError("rekey needs a storage backend with transactions")
        async with self._lock:
            writes = {ROOT_KEY_PATH: pending.sealed_root, SEAL_CONFIG_PATH: pending.config.to_json()}
            if backup is not None:
                writes[UNSEAL_KEYS_BACKUP_PATH] = backup
            await self._physical.transaction(writes, [] if backup is not None else [UNSEAL_KEYS_BACKUP_PATH])
            self._config = pending.config

    async def rekey_backup(self) -> bytes | None:
        """The PGP-encrypted shares the last rekey with `backup` kept, if any."""
        return await self._physical.get(UNSEAL_KEYS_BACKUP_PATH)

    async def delete_rekey_backup(self) -> None:
        await self._physical.delete(UNSEAL_KEYS_BACKUP_PATH)

    async def threshold(self) -> int:
        """How many shares open the vault now (0 before initialization)."""
        config = await self._load_config()
        return 0 if config is None else config.secret_threshold

    async def _load_config(self) -> SealConfig | None:
        if self._config is None:
            self._config = await load_seal_config(self._physical)
        return self._config

    async def _root_key(self, config: SealConfig, parts: list[bytes]) -> bytes:
        """The root key the combined `parts` decrypt; InvalidRequestError if they do not."""
        if config.secret_threshold == 1:
            unseal_key = parts[0]
        else:
            try:
                unseal_key = shamir.combine(parts)
            except ValueError as exc:
                raise InvalidRequestError(f"invalid key: failed to compute combined key: {exc}") from None
        stored = await self._physical.get(ROOT_KEY_PATH)
        if stored is None:
            raise StorageError("the stored root key is missing")
        if len(unseal_key) != KEY_SIZE or read_term(ROOT_KEY_PATH, stored) != ROOT_TERM:
            raise InvalidRequestError(_WRONG_KEY)
        try:
            return open_value(Cipher(unseal_key), ROOT_KEY_PATH, stored)
        except IntegrityError:
            raise InvalidRequestError(_WRONG_KEY) from None


RECOVERY_KEY_PATH = "core/recovery-key"
UNSEAL_KEYS_BACKUP_PATH = "core/unseal-keys-backup"
"""Vault's path for the PGP-encrypted shares a rekey kept (outside the barrier, as in Vault: only their
holders' private keys open them)."""


@dataclass(frozen=True, slots=True)
class PendingRekey:
    """New shares handed out but not yet in force (a rekey awaiting verification, or about to commit)."""

    config: SealConfig
    sealed_root: bytes = field(repr=False)
    check: bytes = field(repr=False)
    """HMAC of the new unseal key under `sealed_root`: tells whether shares combine to it, without keeping
    the key itself."""


def _combine(parts: list[bytes]) -> bytes:
    try:
        return shamir.combine(parts)
    except ValueError as exc:
        raise InvalidRequestError(f"invalid key: failed to compute combined key: {exc}") from None


def _wrap_static(key: StaticKey, root_key: bytes) -> bytes:
    """The stored form of a root key wrapped by a static key: which key, and the sealed value."""
    sealed = seal_value(Cipher(key.key), ROOT_TERM, ROOT_KEY_PATH, root_key)
    return orjson.dumps({"key_id": key.key_id, "sealed": base64.b64encode(sealed).decode()})


def _read_static(stored: bytes) -> tuple[str, bytes]:
    try:
        record = orjson.loads(stored)
        return str(record["key_id"]), base64.b64decode(record["sealed"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise StorageError("the stored root key was not wrapped by a static seal") from exc
