"""Request paths: validation and normalisation. Bottom layer: stdlib only."""

from __future__ import annotations


def is_safe_path(path: str) -> bool:
    """False for paths that try to climb (`..` segments) or carry control characters."""
    if any(segment in {"..", "."} for segment in path.split("/")):
        return False
    return not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in path)


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
