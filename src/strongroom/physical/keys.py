"""Key rules shared by every physical backend: which keys are legal, and Vault's list semantics.

Layer: physical (imports util and errors only).

Invariant: no backend stores or reads a key with a ".." or "." segment or a control character, so no
prefix handed to a view can be escaped at the bottom of the stack either.
"""

from __future__ import annotations

from strongroom.errors import InvalidKeyError
from strongroom.util.paths import climbs, has_control_characters

# Vault's logical.ErrRelativePath, which it answers with 400.
RELATIVE_PATH = "relative paths not supported"


def _refusal(path: str, kind: str) -> str | None:
    """Why `path` may not be stored, or None. The text never quotes the path: it may come from a secret."""
    if climbs(path):
        return RELATIVE_PATH
    # Backends order keys by their UTF-8 bytes, so a key must encode (a lone surrogate does not).
    if not path.isascii():
        try:
            path.encode()
        except UnicodeEncodeError:
            return f"invalid storage {kind}: not valid UTF-8"
    if has_control_characters(path):
        return f"invalid storage {kind}: control characters are not supported"
    return None


def readable_key(key: str) -> str | None:
    """`key` itself if it may be read; None when its characters alone refuse it (control characters,
    bad UTF-8): nothing can be stored under it, so reading it finds nothing, as Vault finds nothing there.
    InvalidKeyError for an empty or climbing key."""
    refusal = "invalid storage key: empty" if key == "" else _refusal(key, "key")
    if refusal is None:
        return key
    if refusal == RELATIVE_PATH or key == "":
        raise InvalidKeyError(refusal)
    return None


def check_key(key: str) -> str:
    """`key` itself if a backend may store it; InvalidKeyError otherwise (empty, climbing, control chars)."""
    refusal = "invalid storage key: empty" if key == "" else _refusal(key, "key")
    if refusal is not None:
        raise InvalidKeyError(refusal)
    return key


def check_prefix(prefix: str) -> str:
    """`prefix` itself if it may be listed (the empty prefix is the root); InvalidKeyError otherwise."""
    refusal = None if prefix == "" else _refusal(prefix, "prefix")
    if refusal is not None:
        raise InvalidKeyError(refusal)
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
