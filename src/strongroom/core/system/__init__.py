"""The sys/ backend: one module per area, assembled here. Layer: core (framework-declared paths)."""

from __future__ import annotations

from strongroom.core.services import Services
from strongroom.core.system import (
    audit,
    capabilities,
    internal,
    keys,
    leases,
    locked_users,
    metrics,
    mounts,
    password_policies,
    policies,
    quorum,
    quotas,
    wrapping,
)
from strongroom.framework import FrameworkBackend
from strongroom.logical import SpecialPaths


def system_backend(services: Services) -> FrameworkBackend:
    """The backend mounted at sys/."""
    return FrameworkBackend(
        [
            *mounts.paths(services),
            *policies.paths(services),
            *password_policies.paths(services),
            *capabilities.paths(services),
            *internal.paths(services),
            *keys.paths(services),
            *locked_users.paths(services),
            *audit.paths(services),
            *wrapping.paths(services),
            *metrics.paths(services),
            *leases.paths(services),
            *quorum.paths(services),
            *quotas.paths(services),
        ],
        help="The system backend is built in and mounted at sys/; it controls mounts, policies and more.",
        special_paths=SpecialPaths(
            unauthenticated=(
                "internal/ui/mounts",
                "internal/ui/mounts/*",
                "wrapping/lookup",
                *quorum.UNAUTHENTICATED,
            ),
            root=(
                "remount",
                "rotate",
                "rotate/keyring",
                "step-down",
                "auth/*",
                "audit",
                "audit/*",
                *leases.ROOT_PATHS,
            ),
        ),
    )
