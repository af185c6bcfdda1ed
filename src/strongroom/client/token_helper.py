"""Where the CLI keeps the token of `strongroom login`: the file ~/.strongroom-token.

Layer: client. Stdlib only.

Invariant: the token file is created with mode 0600 and replaced atomically (temporary file + rename), so no
reader ever sees a partial token and no other user can read it.
Invariant: the token is never logged or put into an exception message.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

TOKEN_FILE_NAME = ".strongroom-token"


def token_file_path() -> Path:
    """The token file in the current user's home directory ($HOME first, as the Vault CLI does)."""
    return Path.home() / TOKEN_FILE_NAME


def read_token_file(path: Path | None = None) -> str | None:
    """The stored token, or None when there is no token file or it is empty."""
    target = path or token_file_path()
    try:
        text = target.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def store_token(token: str, path: Path | None = None) -> Path:
    """Write `token` to the token file with mode 0600, atomically; returns the file's path."""
    target = path or token_file_path()
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(token)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        raise
    return target
