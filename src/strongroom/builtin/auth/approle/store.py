"""AppRole's storage: roles, the role ID index, secret IDs and their accessors. Layer: builtin.

Imports logical (Storage), crypto.hmac and the approle models. Every key that would otherwise carry a
credential (a role ID, a secret ID, an accessor) is its salted hash; the salt lives in the mount's storage.

Invariant: a secret ID reaches storage only as HMAC-SHA256(salt, secret ID).
Invariant: writes that read-modify-write (role saves, secret ID uses) run under `lock`, so two logins cannot
both spend a secret ID's last use.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

from strongroom.builtin.auth.approle.models import (
    ACCESSOR_PREFIX,
    ROLE_ID_PREFIX,
    ROLE_PREFIX,
    SALT_KEY,
    SECRET_ID_PREFIX,
    Role,
    SecretIDEntry,
)
from strongroom.crypto.hmac import SaltedHasher
from strongroom.errors import InvalidRequestError
from strongroom.logical import Storage, get_json, put_json

T = TypeVar("T")

_SALT_SIZE = 32
# Decoded records remembered, of each kind (roles, secret IDs); the oldest go first.
DECODED_RECORDS = 1024


class AppRoleStore:
    """One mount's AppRole records."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._hasher: SaltedHasher | None = None
        self.lock = asyncio.Lock()
        # Decoded roles by storage key: every login reads its role, and decoding one costs more than the
        # rest of the lookup. The stored bytes stay the truth; a role is reused only while they are unchanged.
        self._decoded: dict[str, tuple[bytes, Role]] = {}
        # The same for secret IDs: a secret ID is read at each of its logins.
        self._decoded_entries: dict[str, tuple[bytes, SecretIDEntry]] = {}
        # Hashes of the names every login hashes again (its role's name, its secret ID's accessor): values
        # the decoded records above hold in the clear anyway, unlike the credentials presented.
        self._known_hashes: dict[str, str] = {}

    async def hash(self, value: str) -> str:
        """The salted hash of `value` (a role name, role ID, secret ID or accessor)."""
        if self._hasher is None:
            salt = await self._storage.get(SALT_KEY)
            if salt is None:
                salt = secrets.token_bytes(_SALT_SIZE)
                await self._storage.put(SALT_KEY, salt)
            self._hasher = SaltedHasher(salt)
        return self._hasher.hex(value)

    async def _hash_known(self, value: str) -> str:
        """`hash(value)` for a role name or an accessor read from storage, remembered."""
        known = self._known_hashes.get(value)
        if known is None:
            known = await self.hash(value)
            if len(self._known_hashes) >= 2 * DECODED_RECORDS:
                del self._known_hashes[next(iter(self._known_hashes))]  # the oldest first
            self._known_hashes[value] = known
        return known

    # Roles.

    async def role(self, name: str) -> Role | None:
        """The role called `name` (case-insensitively), or None."""
        key = ROLE_PREFIX + name.lower()
        raw = await self._storage.get(key)
        if raw is None:
            return None
        return _decoded(self._decoded, key, raw, Role.from_json)

    async def role_names(self) -> list[str]:
        """Every role's name, sorted."""
        return [key for key in await self._storage.list(ROLE_PREFIX) if not key.endswith("/")]

    async def role_for_role_id(self, role_id: str) -> Role | None:
        """The role whose role ID is `role_id`, or None (compared in constant time after the index lookup)."""
        index = await get_json(self._storage, ROLE_ID_PREFIX + await self.hash(role_id))
        if index is None:
            return None
        role = await self.role(index["name"])
        if role is None or not hmac.compare_digest(role.role_id.encode(), role_id.encode()):
            return None
        return role

    async def save_role(self, role: Role, previous_role_id: str = "") -> None:
        """Store `role` and its role ID index; InvalidRequestError for a role without constraints or a role ID
        another role holds. Callers hold `lock`."""
        if not role.has_constraint():
            raise InvalidRequestError("at least one constraint should be enabled on the role")
        index_key = ROLE_ID_PREFIX + await self.hash(role.role_id)
        index = await get_json(self._storage, index_key)
        if index is not None and index["name"] != role.name:
            raise InvalidRequestError("role_id already in use")
        if previous_role_id and previous_role_id != role.role_id:
            await self._storage.delete(ROLE_ID_PREFIX + await self.hash(previous_role_id))
        await put_json(self._storage, ROLE_PREFIX + role.name, role.to_json())
        if index is None:
            await put_json(self._storage, index_key, {"name": role.name})

    async def delete_role(self, role: Role) -> None:
        """Remove `role`, every secret ID issued against it, and its role ID index. Callers hold `lock`."""
        role_hmac = await self.hash(role.name)
        for entry in await self._entries(role_hmac):
            await self._delete_entry(role_hmac, entry)
        await self._storage.delete(ROLE_ID_PREFIX + await self.hash(role.role_id))
        await self._storage.delete(ROLE_PREFIX + role.name)

    # Secret IDs.

    async def secret_id_entry(self, role: Role, secret_id: str) -> SecretIDEntry | None:
        """The entry of `secret_id` under `role`, or None."""
        return await self._entry(await self._hash_known(role.name), await self.hash(secret_id))

    async def entry_for_accessor(self, role: Role, accessor: str) -> tuple[bool, SecretIDEntry | None]:
        """(whether the accessor is known at all, the entry it leads to under `role` or None)."""
        index = await get_json(self._storage, ACCESSOR_PREFIX + await self.hash(accessor))
        if index is None:
            return False, None
        return True, await self._entry(await self.hash(role.name), index["secret_id_hmac"])

    async def has_accessor(self, entry: SecretIDEntry) -> bool:
        """Whether `entry`'s accessor index still exists (a secret ID without one is void)."""
        return await self._storage.get(ACCESSOR_PREFIX + await self._hash_known(entry.accessor)) is not None

    async def register(self, role: Role, entry: SecretIDEntry) -> None:
        """Store a new secret ID's entry and its accessor index. Callers hold `lock`."""
        role_hmac = await self.hash(role.name)
        if await self._entry(role_hmac, entry.secret_id_hmac) is not None:
            raise InvalidRequestError("failed to store secret_id: SecretID is already registered")
        await put_json(
            self._storage,
            ACCESSOR_PREFIX + await self.hash(entry.accessor),
            {"secret_id_hmac": entry.secret_id_hmac, "role_hmac": role_hmac},
        )
        await put_json(self._storage, self._entry_key(role_hmac, entry.secret_id_hmac), entry.to_json())

    async def update(self, role: Role, entry: SecretIDEntry) -> None:
        """Replace an existing entry (a use spent). Callers hold `lock`."""
        key = self._entry_key(await self.hash(role.name), entry.secret_id_hmac)
        await put_json(self._storage, key, entry.to_json())

    async def delete(self, role: Role, entry: SecretIDEntry) -> None:
        """Remove a secret ID and its accessor index. Callers hold `lock`."""
        await self._delete_entry(await self.hash(role.name), entry)

    async def entries(self, role: Role) -> list[SecretIDEntry]:
        """Every secret ID entry of `role`, in storage (hash) order."""
        return await self._entries(await self.hash(role.name))

    async def tidy(self, now: float) -> int:
        """Remove expired secret IDs, secret IDs without an accessor, and accessors without a secret ID;
        the number of records removed. Callers hold `lock`."""
        removed = 0
        live_accessors: set[str] = set()
        for folder in await self._storage.list(SECRET_ID_PREFIX):
            role_hmac = folder.rstrip("/")
            for entry in await self._entries(role_hmac):
                accessor_key = ACCESSOR_PREFIX + await self.hash(entry.accessor)
                if entry.expired(now) or await self._storage.get(accessor_key) is None:
                    await self._delete_entry(role_hmac, entry)
                    removed += 1
                else:
                    live_accessors.add(accessor_key)
        for name in await self._storage.list(ACCESSOR_PREFIX):
            if ACCESSOR_PREFIX + name not in live_accessors:
                await self._storage.delete(ACCESSOR_PREFIX + name)
                removed += 1
        return removed

    @staticmethod
    def _entry_key(role_hmac: str, secret_id_hmac: str) -> str:
        return f"{SECRET_ID_PREFIX}{role_hmac}/{secret_id_hmac}"

    async def _entry(self, role_hmac: str, secret_id_hmac: str) -> SecretIDEntry | None:
        key = self._entry_key(role_hmac, secret_id_hmac)
        raw = await self._storage.get(key)
        if raw is None:
            return None
        entry = _decoded(self._decoded_entries, key, raw, SecretIDEntry.from_json)
        # The key already is the hash; comparing the copy inside guards against a record moved under it.
        if not hmac.compare_digest(entry.secret_id_hmac.encode(), secret_id_hmac.encode()):
            return None
        return entry

    async def _entries(self, role_hmac: str) -> list[SecretIDEntry]:
        found: list[SecretIDEntry] = []
        for name in await self._storage.list(f"{SECRET_ID_PREFIX}{role_hmac}/"):
            entry = await self._entry(role_hmac, name)
            if entry is not None:
                found.append(entry)
        return found

    async def _delete_entry(self, role_hmac: str, entry: SecretIDEntry) -> None:
        await self._storage.delete(ACCESSOR_PREFIX + await self.hash(entry.accessor))
        await self._storage.delete(self._entry_key(role_hmac, entry.secret_id_hmac))


def _decoded(known: dict[str, tuple[bytes, T]], key: str, raw: bytes, decode: Callable[[Any], T]) -> T:
    """The record stored as `raw` at `key`, decoded once while those bytes stay unchanged."""
    kept = known.get(key)
    if kept is not None and kept[0] == raw:
        return kept[1]
    record = decode(orjson.loads(raw))
    if len(known) >= DECODED_RECORDS:
        del known[next(iter(known))]  # the oldest first
    known[key] = (raw, record)
    return record
