"""The services an unsealed core runs, built once per unseal and dropped on seal.

Layer: core. Each service gets only the storage view it owns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from strongroom.audit import AuditBroker
from strongroom.barrier import KeyStatus, RotationConfig
from strongroom.core.keyholders import GenerateRoot, Rekey
from strongroom.core.mounts import MountManager
from strongroom.core.quotas import QuotaManager
from strongroom.core.wrapping import Wrapping
from strongroom.events import EventBus
from strongroom.identity import IdentityStore
from strongroom.leases import LeaseManager
from strongroom.policy import PolicyStore
from strongroom.telemetry import Telemetry
from strongroom.tokens import TokenStore


class Leadership(Protocol):
    """The HA role of this server, as sys/step-down sees it."""

    async def step_down(self) -> None:
        """Give up active status, so another server takes over (nothing without HA)."""
        ...


class Keyring(Protocol):
    """The barrier's key terms, as sys/key-status, sys/rotate and sys/rotate/keyring/config see them."""

    def key_status(self) -> KeyStatus:
        """The active term, when it was installed, and encryptions since unseal."""
        ...

    async def rotate(self) -> int:
        """Add a new term and make it active; older terms stay readable."""
        ...

    def rotation_config(self) -> RotationConfig:
        """When the barrier rotates its key on its own."""
        ...

    async def set_rotation_config(self, config: RotationConfig) -> None:
        """Keep a new automatic-rotation config."""
        ...


@dataclass(frozen=True, slots=True)
class Services:
    """What the pipeline and the system backend work with."""

    mounts: MountManager
    policies: PolicyStore
    tokens: TokenStore
    keyring: Keyring
    audit: AuditBroker
    wrapping: Wrapping
    leases: LeaseManager
    telemetry: Telemetry
    events: EventBus
    leadership: Leadership
    rekey: Rekey
    generate_root: GenerateRoot
    identity: IdentityStore
    quotas: QuotaManager
