"""Atomic file writes for the agent: a temp file in the destination's directory, fsync, then rename.

Layer: agent. Imports stdlib only.

Invariant: the destination never holds a partial write, and the temp file has its final mode from
creation (before any byte is written), so a secret is never readable by more than the configured mode.
"""

from __future__ import annotations

import grp
import os
import pwd
import tempfile
from pathlib import Path


def _owner_ids(user: str, group: str) -> tuple[int, int]:
    uid = -1
    gid = -1
    if user:
        uid = int(user) if user.isdigit() else pwd.getpwnam(user).pw_uid
    if group:
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
    return uid, gid


def write_atomic(
    path: str, data: bytes, mode: int, *, user: str = "", group: str = "", create_dirs: bool = False
) -> None:
    """Replace `path` with `data` at `mode` (and owner user/group when given); raises OSError or KeyError
    (an unknown user or group)."""
    target = Path(path)
    if create_dirs:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if user or group:
            os.chown(temp, *_owner_ids(user, group))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
