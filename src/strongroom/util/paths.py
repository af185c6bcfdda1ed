"""Request paths: validation and normalisation. Bottom layer: stdlib only."""

from __future__ import annotations

import re

# Every request path and storage key passes these checks, several times per request: a table lookup per
# character (a regex search only for non-ASCII text) and a split only when a dot is present keep them off
# the profile.
_CONTROL = re.compile("[\x00-\x1f\x7f]")


def climbs(path: str) -> bool:
    """Whether `path` has a ".." or "." segment."""
    return "." in path and any(segment in {"..", "."} for segment in path.split("/"))


def has_control_characters(path: str) -> bool:
    """Whether `path` carries an ASCII control character (below 0x20, or DEL)."""
    if path.isascii():
        # Among ASCII characters exactly these are not printable, and isprintable's table lookup per
        # character costs half the regex's search over a storage key.
        return not path.isprintable()
    return _CONTROL.search(path) is not None


def is_safe_path(path: str) -> bool:
    """False for paths that try to climb (`..` segments) or carry control characters."""
    return not climbs(path) and not has_control_characters(path)


def ensure_trailing_slash(path: str) -> str:
    """`path` ending in exactly one "/" (the empty path stays empty)."""
    if path == "":
        return ""
    return path.rstrip("/") + "/"


def join(*parts: str) -> str:
    """Join path parts with single slashes, keeping a trailing slash on the last part."""
    joined = "/".join(p.strip("/") for p in parts if p.strip("/"))
    if parts and parts[-1].endswith("/") and joined:
        joined += "/"
    return joined
