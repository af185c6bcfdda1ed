"""The services an unsealed core runs, built once per unseal and dropped on seal.

Layer: core. Each service gets only the storage view it owns.
"""

from __future__ import annotations

from dataclasses import dataclass

from strongroom.core.mounts import MountManager
from strongroom.policy import PolicyStore
from strongroom.tokens import TokenStore


@dataclass(frozen=True, slots=True)
class Services:
    """What the pipeline and the system backend work with."""

    mounts: MountManager
    policies: PolicyStore
    tokens: TokenStore
