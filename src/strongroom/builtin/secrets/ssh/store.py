"""The SSH engine's records in the mount's storage view: the CA and the roles.

Layer: builtin. Imports logical (Storage) and the engine's models; not the framework.
"""

from __future__ import annotations

import orjson

from strongroom.builtin.secrets.ssh.models import CA_PATH, ROLE_PREFIX, CaIssuer, SshRole
from strongroom.logical import Storage


async def ca(storage: Storage) -> CaIssuer | None:
    raw = await storage.get(CA_PATH)
    return None if raw is None else CaIssuer.from_json(orjson.loads(raw))


async def save_ca(storage: Storage, issuer: CaIssuer) -> None:
    await storage.put(CA_PATH, orjson.dumps(issuer.to_json()))


async def delete_ca(storage: Storage) -> None:
    await storage.delete(CA_PATH)


async def role(storage: Storage, name: str) -> SshRole | None:
    raw = await storage.get(ROLE_PREFIX + name)
    return None if raw is None else SshRole.from_json(orjson.loads(raw))


async def save_role(storage: Storage, name: str, value: SshRole) -> None:
    await storage.put(ROLE_PREFIX + name, orjson.dumps(value.to_json()))


async def delete_role(storage: Storage, name: str) -> None:
    await storage.delete(ROLE_PREFIX + name)


async def role_names(storage: Storage) -> list[str]:
    return sorted(await storage.list(ROLE_PREFIX))
