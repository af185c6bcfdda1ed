"""The snapshot endpoints: sys/storage/raft/snapshot (GET saves, POST restores),
sys/storage/raft/snapshot-force (restores a snapshot of another cluster), and the same under strongroom's
own sys/storage/snapshot and sys/storage/snapshot-force.

Layer: http. They bypass the request pipeline because their bodies are the snapshot's bytes, not JSON; the
core checks the token (update and sudo on the path, as Vault lists these paths as root paths). A restore
body may exceed the listener's max_request_size, as in OpenBao, so it is read only once the token passed.
Invariant: a restore body is checked in full (integrity, then cluster) before the storage is touched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from strongroom import errors
from strongroom.http.translate import token_from

SNAPSHOT_TYPE = "application/octet-stream"
# The largest restore body read (into memory): far above any max_request_size, still a bound.
MAX_SIZE = 4 * 1024 * 1024 * 1024
# path -> (the path the token is checked against, whether a restore there is forced)
_PATHS = {
    "/v1/sys/storage/raft/snapshot": ("sys/storage/raft/snapshot", False),
    "/v1/sys/storage/raft/snapshot-force": ("sys/storage/raft/snapshot-force", True),
    "/v1/sys/storage/snapshot": ("sys/storage/snapshot", False),
    "/v1/sys/storage/snapshot-force": ("sys/storage/snapshot-force", True),
}


class Snapshots(Protocol):
    """What these endpoints need of the core."""

    async def require_sudo(self, token: str, path: str) -> None:
        """PermissionDeniedError unless `token` may update `path` with sudo."""
        ...

    async def save_snapshot(self, token: str, path: str, remote: tuple[str, int] = ("", 0)) -> bytes:
        """The snapshot file; `remote` is the client's address, for the audit log."""
        ...

    async def restore_snapshot(
        self, token: str, path: str, data: bytes, *, force: bool, remote: tuple[str, int] = ("", 0)
    ) -> None:
        """Replace the storage with the snapshot in `data`."""
        ...


def handles(path: str) -> bool:
    """True for the snapshot endpoints."""
    return path.rstrip("/") in _PATHS


async def serve(
    core: Snapshots,
    method: str,
    path: str,
    read_body: Callable[[], Awaitable[bytes]],
    headers: Mapping[str, str],
    *,
    client: tuple[str, int] | None,
) -> tuple[int, bytes, str]:
    """Answer one request to a snapshot endpoint from `client`; `read_body` reads the request body."""
    checked, force = _PATHS[path.rstrip("/")]
    token = token_from(headers)
    remote = client or ("", 0)
    if method == "GET" and not force:
        return 200, await core.save_snapshot(token, checked, remote), SNAPSHOT_TYPE
    if method in ("POST", "PUT"):
        await core.require_sudo(token, checked)
        await core.restore_snapshot(token, checked, await read_body(), force=force, remote=remote)
        return 204, b"", SNAPSHOT_TYPE
    raise errors.UnsupportedOperationError()
