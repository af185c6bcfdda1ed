"""Key rules shared by every physical backend: which keys are legal, and Vault's list semantics.

Layer: physical (imports util and errors only).

Invariant: no backend stores or reads a key with a ".." or "." segment or a control character, so no
prefix handed to a view can be escaped at the bottom of the stack either.
"""

from __future__ import annotations

from strongroom.errors import StorageError
from strongroom.util.paths import is_safe_path


def _is_storable(path: str) -> bool:
    # Backends order keys by their UTF-8 bytes, so a key must encode (a lone surrogate does not).
    try:
        path.encode()
    except UnicodeEncodeError:
        return False
    return is_safe_path(path)


def check_key(key: str) -> str:
    """`key` itself if a backend may store it; StorageError otherwise (empty, climbing, control chars)."""
    if key == "" or not _is_storable(key):
        raise StorageError(f"invalid storage key {key!r}")
    return key


def check_prefix(prefix: str) -> str:
    """`prefix` itself if it may be listed (the empty prefix is the root); StorageError otherwise."""
    if prefix != "" and not _is_storable(prefix):
        raise StorageError(f"invalid storage prefix {prefix!r}")
    return prefix


def child_of(key: str, prefix: str) -> str | None:
    """The immediate child of `prefix` that `key` lies in ("name" or "folder/"), or None if outside it."""
    if not key.startswith(prefix) or len(key) == len(prefix):
        return None
    head, sep, _ = key[len(prefix) :].partition("/")
    return head + sep


def folder_end(prefix: str, folder: str) -> str:
    """The smallest key sorting after every key inside `prefix + folder` (a child ending in "/")."""
    # "0" is the character right after "/", so this bound skips exactly the folder's subtree.
    return prefix + folder[:-1] + "0"
