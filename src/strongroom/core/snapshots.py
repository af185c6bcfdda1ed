"""Storage snapshots for the core: take one while serving, and check one before it replaces the storage.

Layer: core (imports physical.snapshot, barrier, audit, logical, core.services, util and errors).

A snapshot is the physical entries as they are stored (ciphertext), so taking one needs no key; restoring
one is refused unless its keyring opens with this server's root key (it comes from this cluster), as Vault
refuses a snapshot sealed with other keys unless it is forced. Everything is checked before the storage is
touched; what happens to the running server afterwards is the core's (see Core.restore_snapshot).
Invariant: no plaintext enters or leaves through a snapshot; a forced snapshot is unsealed only with the
keys of the cluster it came from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from strongroom.audit import AuditAuth, AuditInput
from strongroom.barrier import AESGCMBarrier
from strongroom.barrier.aes_gcm import KEYRING_PATH
from strongroom.core.services import Services
from strongroom.errors import InvalidRequestError
from strongroom.logical import Connection, Operation, Request
from strongroom.physical.base import PhysicalBackend
from strongroom.physical.snapshot import Snapshot, Snapshottable, read_snapshot, write_snapshot
from strongroom.util.clock import Clock, rfc3339

# OpenBao's words when a snapshot's keys are not this server's.
FOREIGN = (
    "could not verify hash file, possibly the snapshot is using a different set of unseal keys; "
    "use the snapshot-force API to bypass this check"
)


def snapshottable(physical: PhysicalBackend, storage_type: str) -> Snapshottable:
    """`physical` as a backend that takes snapshots; InvalidRequestError when it cannot."""
    if not isinstance(physical, Snapshottable):
        raise InvalidRequestError(f"storage type {storage_type!r} does not support snapshots")
    return physical


async def take_snapshot(
    physical: PhysicalBackend, storage_type: str, cluster: Mapping[str, str], clock: Clock
) -> bytes:
    """A snapshot file of the whole storage as of one instant."""
    entries = await snapshottable(physical, storage_type).snapshot_entries()
    header = {
        "cluster_id": cluster.get("id", ""),
        "cluster_name": cluster.get("name", ""),
        "storage_type": storage_type,
        "created": rfc3339(clock.now()),
    }
    keyring = next((value for key, value in entries if key == KEYRING_PATH), b"")
    # Seconds for a large storage: off the event loop, so the server keeps serving meanwhile.
    return await asyncio.to_thread(write_snapshot, sorted(entries), header, keyring)


def snapshot_audit(
    services: Services,
    path: str,
    operation: Operation,
    *,
    token: str,
    auth: AuditAuth,
    remote: tuple[str, int],
) -> AuditInput:
    """What the audit log records of a snapshot request: it does not pass the pipeline (its body is not
    JSON), so the core audits it here, as OpenBao audits it."""
    route = services.mounts.router.route(path)
    request = Request(
        operation=operation,
        path=path,
        client_token=token,
        connection=Connection(*remote),
    )
    if route is None:
        return AuditInput(request, auth=auth)
    entry = route.entry
    return AuditInput(
        request, auth=auth, mount_point=entry.api_path, mount_type=entry.type, mount_accessor=entry.accessor
    )


async def check_snapshot(data: bytes, barrier: AESGCMBarrier, *, force: bool) -> tuple[Snapshot, bool]:
    """The snapshot in `data`, and whether it comes from this cluster; InvalidRequestError when it is
    damaged, holds no initialized storage, or (unless `force`) comes from another cluster."""
    snapshot = await asyncio.to_thread(read_snapshot, data)
    keyring = snapshot.value(KEYRING_PATH)
    if keyring is None:
        raise InvalidRequestError("the snapshot holds no keyring: it is not of an initialized server")
    same = barrier.opens_keyring(keyring)
    if not same and not force:
        raise InvalidRequestError(FOREIGN)
    return snapshot, same
