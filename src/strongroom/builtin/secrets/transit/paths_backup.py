"""Transit key backup and restore: backup/<name>, restore and restore/<name> (with force).

Layer: builtin. Imports framework, logical and the transit domain modules.
OpenBao answers a refused backup or restore with a 500 ("1 error occurred: ..."); the causes here are the
caller's (a key not exportable, a name taken), so strongroom answers 400 with Vault's words.

Invariant: taking a backup records backup_info on the key before the backup is made, as Vault does.
"""

from __future__ import annotations

from strongroom.builtin.secrets.transit import backup
from strongroom.builtin.secrets.transit.common import NAME, storage_of, user_errors
from strongroom.builtin.secrets.transit.models import TransitError
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

RESTORE_FIELDS = {
    "backup": Field(FieldType.STRING, "Backed up key data to be restored (the output of backup/)"),
    "name": Field(FieldType.STRING, "If set, the name of the restored key"),
    "force": Field(FieldType.BOOL, "Overwrite an existing key of the same name"),
}


def paths(store: KeyStore) -> list[Path]:
    """The backup and restore declarations of a transit mount."""

    @user_errors
    async def take_backup(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        storage = storage_of(request)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                raise TransitError(f'key "{name}" not found')
            marked = policy.evolve(backup_info=(store.clock.now(), policy.latest_version))
            encoded = backup.encode(marked)
            await store.put(storage, marked)
        return Response(data={"backup": encoded})

    @user_errors
    async def restore(request: Request, fields: FieldData) -> Response | None:
        encoded = fields.get("backup")
        if not encoded:
            raise TransitError("'backup' must be supplied")
        name = fields.get("name")
        if "/" in name:
            raise TransitError("key names cannot be paths")
        policy = backup.decode(encoded, name, store.clock.now())
        storage = storage_of(request)
        async with store.locked(policy.name):
            if not fields.get("force") and await store.get(storage, policy.name) is not None:
                raise TransitError(f'key "{policy.name}" already exists')
            await store.put(storage, policy)
        return None

    return [
        Path(
            "backup/{name}",
            fields={"name": NAME},
            operations={Operation.READ: take_backup},
            synopsis="Backup the named key",
        ),
        *(
            Path(
                pattern,
                fields=RESTORE_FIELDS,
                operations={Operation.UPDATE: restore},
                synopsis="Restore the named key",
            )
            for pattern in ("restore", "restore/{name*}")
        ),
    ]
