"""What the entity and group stores share: the seam to the auth mounts, and the rule for policies.

Layer: identity; imports errors only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from strongroom.errors import InvalidRequestError


class AuthMounts(Protocol):
    """The auth mounts an alias may name, by accessor."""

    def auth_mount(self, accessor: str) -> tuple[str, str] | None:
        """(mount type, mount path such as "auth/userpass/") of the auth mount with `accessor`, or None."""
        ...


def clean_policies(policies: Iterable[str]) -> tuple[str, ...]:
    """An entity's or group's policies as Vault keeps them (trimmed, lowercased, de-duplicated, sorted);
    "root" refused in any case or spacing (HCSEC-2025-13 / CVE-2025-5999 and GHSA-7ff4-jw48-3436)."""
    cleaned = sorted({p.strip().lower() for p in policies if p.strip()})
    if "root" in cleaned:
        raise InvalidRequestError("policies cannot contain root")
    return tuple(cleaned)
