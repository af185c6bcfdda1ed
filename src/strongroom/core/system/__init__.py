"""The sys/ backend: one module per area, assembled here. Layer: core (framework-declared paths)."""

from __future__ import annotations

from strongroom.core.services import Services
from strongroom.core.system import capabilities, internal, keys, mounts, policies
from strongroom.framework import FrameworkBackend
from strongroom.logical import SpecialPaths


def system_backend(services: Services) -> FrameworkBackend:
    """The backend mounted at sys/."""
    return FrameworkBackend(
        [
            *mounts.paths(services),
            *policies.paths(services),
            *capabilities.paths(services),
            *internal.paths(services),
            *keys.paths(services),
        ],
        help="The system backend is built in and mounted at sys/; it controls mounts, policies and more.",
        special_paths=SpecialPaths(
            unauthenticated=("internal/ui/mounts", "internal/ui/mounts/*"),
            root=("remount", "rotate", "step-down", "auth/*"),
        ),
    )
