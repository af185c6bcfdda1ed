"""What userpass stores per user, and the store itself. Layer: builtin (imports framework.tokenutil, logical).

Invariant: a user record holds the password only as an argon2id hash; its repr never shows the hash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.framework.tokenutil import TokenSettings
from strongroom.logical import Storage, get_json, put_json

USER_PREFIX = "user/"

# Vault's framework.GenericNameRegex: a word character, optionally word characters, "-" and "." in between.
_NAME = re.compile(r"\w(?:[\w.-]*\w)?", re.ASCII)


def valid_username(name: str) -> bool:
    """Whether Vault's path pattern for a username would match `name`."""
    return _NAME.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class Legacy:
    """Values given under Vault's pre-token_* names, remembered so reads echo them as Vault does."""

    policies: tuple[str, ...] = ()
    ttl: int = 0
    max_ttl: int = 0
    bound_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class User:
    """One user: the password hash and what its logins' tokens get."""

    password_hash: str = field(repr=False)
    token: TokenSettings = field(default_factory=TokenSettings)
    legacy: Legacy = field(default_factory=Legacy)

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {
            "password_hash": self.password_hash,
            "token": self.token.to_json(),
            "legacy": {
                "policies": list(self.legacy.policies),
                "ttl": self.legacy.ttl,
                "max_ttl": self.legacy.max_ttl,
                "bound_cidrs": list(self.legacy.bound_cidrs),
            },
        }

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> User:
        """Read the stored form back."""
        legacy = record.get("legacy") or {}
        return cls(
            password_hash=record["password_hash"],
            token=TokenSettings.from_json(record.get("token") or {}),
            legacy=Legacy(
                policies=tuple(legacy.get("policies") or ()),
                ttl=int(legacy.get("ttl") or 0),
                max_ttl=int(legacy.get("max_ttl") or 0),
                bound_cidrs=tuple(legacy.get("bound_cidrs") or ()),
            ),
        )

    def read_data(self) -> dict[str, Any]:
        """The user as a read shows it: the token_* fields, the legacy names that were used, no password."""
        data = self.token.response_fields()
        data["token_strictly_bind_ip"] = False
        if self.legacy.policies:
            data["policies"] = list(self.token.policies)
        if self.legacy.ttl:
            data["ttl"] = self.legacy.ttl
        if self.legacy.max_ttl:
            data["max_ttl"] = self.legacy.max_ttl
        if self.legacy.bound_cidrs:
            data["bound_cidrs"] = list(self.legacy.bound_cidrs)
        return data


class UserStore:
    """The users of one mount, under "user/<lowercased name>"."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, name: str) -> User | None:
        record = await get_json(self._storage, USER_PREFIX + name)
        return None if record is None else User.from_json(record)

    async def put(self, name: str, user: User) -> None:
        await put_json(self._storage, USER_PREFIX + name, user.to_json())

    async def delete(self, name: str) -> None:
        await self._storage.delete(USER_PREFIX + name)

    async def names(self) -> list[str]:
        return [key for key in await self._storage.list(USER_PREFIX) if not key.endswith("/")]
