"""Token roles (auth/token/roles/<name>) and the glob matching of their policy and alias lists.

Layer: tokens (a service). Imports logical and the stdlib only.
Storage: "roles/<name>" in the token store's view, JSON with OpenBao's field names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from strongroom.logical import Storage, get_json, put_json

_ROLES = "roles/"

TOKEN_TYPES = ("service", "batch", "default-service", "default-batch")


@dataclass(frozen=True, slots=True)
class TokenRole:
    """A token role as OpenBao stores it. `period` and `explicit_max_ttl` are the deprecated spellings."""

    name: str
    allowed_policies: tuple[str, ...] = ()
    disallowed_policies: tuple[str, ...] = ()
    allowed_policies_glob: tuple[str, ...] = ()
    disallowed_policies_glob: tuple[str, ...] = ()
    orphan: bool = False
    renewable: bool = True
    path_suffix: str = ""
    period: int = 0
    explicit_max_ttl: int = 0
    token_period: int = 0
    token_explicit_max_ttl: int = 0
    token_type: str = "default-service"
    token_no_default_policy: bool = False
    token_num_uses: int = 0
    allowed_entity_aliases: tuple[str, ...] | None = None

    @property
    def restricts_policies(self) -> bool:
        """Whether the role's own allow/deny lists decide the token's policies."""
        return bool(
            self.allowed_policies
            or self.disallowed_policies
            or self.allowed_policies_glob
            or self.disallowed_policies_glob
        )

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        raw = asdict(self)
        for key, value in raw.items():
            if isinstance(value, tuple):
                raw[key] = list(value)
        return raw

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> TokenRole:
        """Read the stored form back."""
        aliases = raw.get("allowed_entity_aliases")
        return cls(
            name=raw["name"],
            allowed_policies=tuple(raw.get("allowed_policies", ())),
            disallowed_policies=tuple(raw.get("disallowed_policies", ())),
            allowed_policies_glob=tuple(raw.get("allowed_policies_glob", ())),
            disallowed_policies_glob=tuple(raw.get("disallowed_policies_glob", ())),
            orphan=bool(raw.get("orphan", False)),
            renewable=bool(raw.get("renewable", True)),
            path_suffix=raw.get("path_suffix", ""),
            period=int(raw.get("period", 0)),
            explicit_max_ttl=int(raw.get("explicit_max_ttl", 0)),
            token_period=int(raw.get("token_period", 0)),
            token_explicit_max_ttl=int(raw.get("token_explicit_max_ttl", 0)),
            token_type=raw.get("token_type", "default-service"),
            token_no_default_policy=bool(raw.get("token_no_default_policy", False)),
            token_num_uses=int(raw.get("token_num_uses", 0)),
            allowed_entity_aliases=None if aliases is None else tuple(aliases),
        )


class RoleStore:
    """Token roles kept under "roles/" of the token store's storage."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def get(self, name: str) -> TokenRole | None:
        """The role called `name`, or None."""
        raw = await get_json(self._storage, _ROLES + name)
        return None if raw is None else TokenRole.from_json(raw)

    async def put(self, role: TokenRole) -> None:
        """Create or replace a role."""
        await put_json(self._storage, _ROLES + role.name, role.to_json())

    async def delete(self, name: str) -> None:
        """Remove a role; a missing one is not an error."""
        await self._storage.delete(_ROLES + name)

    async def list(self) -> list[str]:
        """Role names, sorted."""
        return [key for key in await self._storage.list(_ROLES) if not key.endswith("/")]


def matches_glob(patterns: Iterable[str], value: str) -> bool:
    """Whether `value` matches any pattern, where "*" stands for any run of characters (go-glob)."""
    for pattern in patterns:
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        if re.fullmatch(regex, value, flags=re.DOTALL):
            return True
    return False
