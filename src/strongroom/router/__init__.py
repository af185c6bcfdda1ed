"""The mount table and longest-prefix routing. Layer: core's sibling; imports logical, util, errors."""

from strongroom.router.mounts import MountConfig, MountEntry, MountTable
from strongroom.router.router import Route, Router, allowed_headers, passthrough_headers

__all__ = [
    "MountConfig",
    "MountEntry",
    "MountTable",
    "Route",
    "Router",
    "allowed_headers",
    "passthrough_headers",
]
