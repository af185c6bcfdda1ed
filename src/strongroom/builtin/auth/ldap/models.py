"""What the LDAP auth method stores: its config, and the local groups and users that map names to policies.

Layer: builtin (imports framework.tokenutil, logical and the package's directory settings).

Invariant: a config's view (what a read returns) never holds `bindpass` nor the client TLS key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom.builtin.auth.ldap.directory import DirectorySettings
from strongroom.framework.tokenutil import TokenSettings
from strongroom.logical import Storage, get_json, put_json

CONFIG_KEY = "config"
GROUP_PREFIX = "group/"
USER_PREFIX = "user/"

# Left out of reads: the secrets, and (as Vault's PasswordlessMap does) the client certificate too.
_UNREAD_SETTINGS = ("bindpass", "client_tls_key", "client_tls_cert")
_DIRECTORY_NAMES = frozenset(f.name for f in fields(DirectorySettings))


@dataclass(frozen=True, slots=True)
class LdapConfig:
    """The mount's config: the directory, name matching, alias naming and the token_* fields."""

    directory: DirectorySettings = field(default_factory=DirectorySettings)
    case_sensitive_names: bool = False
    username_as_alias: bool = False
    token: TokenSettings = field(default_factory=TokenSettings)

    def fold(self, name: str) -> str:
        """A user or group name as this mount keys it (lower case unless case_sensitive_names)."""
        return name if self.case_sensitive_names else name.lower()

    def to_json(self) -> dict[str, Any]:
        return {
            "directory": asdict(self.directory),
            "case_sensitive_names": self.case_sensitive_names,
            "username_as_alias": self.username_as_alias,
            "token": self.token.to_json(),
        }

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> LdapConfig:
        directory = {k: v for k, v in (record.get("directory") or {}).items() if k in _DIRECTORY_NAMES}
        return cls(
            directory=DirectorySettings(**directory),
            case_sensitive_names=bool(record.get("case_sensitive_names")),
            username_as_alias=bool(record.get("username_as_alias")),
            token=TokenSettings.from_json(record.get("token") or {}),
        )

    def view(self) -> dict[str, Any]:
        """The config as a read shows it (Vault's PasswordlessMap plus the token fields)."""
        data = {k: v for k, v in asdict(self.directory).items() if k not in _UNREAD_SETTINGS}
        data["case_sensitive_names"] = self.case_sensitive_names
        data["username_as_alias"] = self.username_as_alias
        data["use_token_groups"] = False
        data.update(self.token.response_fields())
        return data


async def load_config(storage: Storage) -> LdapConfig:
    """The stored config, or Vault's defaults when none was written yet."""
    record = await get_json(storage, CONFIG_KEY)
    return LdapConfig() if record is None else LdapConfig.from_json(record)


async def save_config(storage: Storage, config: LdapConfig) -> None:
    await put_json(storage, CONFIG_KEY, config.to_json())


@dataclass(frozen=True, slots=True)
class LocalUser:
    """A user known locally: extra groups and policies added to what the directory says."""

    groups: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()


class NamedStore:
    """Local groups ("group/") or users ("user/") of one mount, each a JSON record under its folded name."""

    def __init__(self, storage: Storage, prefix: str) -> None:
        self._storage = storage
        self._prefix = prefix

    async def get(self, name: str) -> dict[str, Any] | None:
        record: dict[str, Any] | None = await get_json(self._storage, self._prefix + name)
        return record

    async def put(self, name: str, record: Mapping[str, Any]) -> None:
        await put_json(self._storage, self._prefix + name, dict(record))

    async def delete(self, name: str) -> None:
        await self._storage.delete(self._prefix + name)

    async def names(self) -> list[str]:
        return [key for key in await self._storage.list(self._prefix) if not key.endswith("/")]


async def local_user(storage: Storage, name: str) -> LocalUser | None:
    record = await NamedStore(storage, USER_PREFIX).get(name)
    if record is None:
        return None
    return LocalUser(groups=tuple(record.get("groups") or ()), policies=tuple(record.get("policies") or ()))


async def group_policies(storage: Storage, name: str) -> tuple[str, ...]:
    record = await NamedStore(storage, GROUP_PREFIX).get(name)
    return () if record is None else tuple(record.get("policies") or ())
