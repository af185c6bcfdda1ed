"""Typed access to the ACME records of one pki mount. Layer: builtin.

Imports logical (Storage) and the ACME models. Every record goes through the mount's storage view, so the
barrier encrypts EAB keys and account records like every other value.

Invariant: read-modify-write of an authorization (the validator and a client's deactivation race), the
consumption of an EAB and an account's key change run under `lock`.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import asdict

from strongroom.builtin.secrets.pki.acme.models import (
    ACCOUNTS,
    CLUSTER,
    CONFIG,
    EABS,
    THUMBPRINTS,
    VALIDATIONS,
    Account,
    AcmeConfig,
    Authorization,
    ClusterConfig,
    Eab,
    Order,
    Validation,
)
from strongroom.logical import Storage, get_json, put_json


class AcmeStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self.lock = asyncio.Lock()

    async def config(self) -> AcmeConfig:
        raw = await get_json(self._storage, CONFIG)
        return AcmeConfig() if raw is None else AcmeConfig.from_json(raw)

    async def save_config(self, config: AcmeConfig) -> None:
        await put_json(self._storage, CONFIG, config.read_data())

    async def cluster(self) -> ClusterConfig:
        raw = await get_json(self._storage, CLUSTER)
        return ClusterConfig() if raw is None else ClusterConfig(**raw)

    async def save_cluster(self, cluster: ClusterConfig) -> None:
        await put_json(self._storage, CLUSTER, {"path": cluster.path, "aia_path": cluster.aia_path})

    # Accounts.
    async def account(self, kid: str) -> Account | None:
        raw = await get_json(self._storage, ACCOUNTS + kid)
        return None if raw is None else Account.from_json(raw)

    async def account_by_thumbprint(self, thumbprint: str) -> Account | None:
        raw = await get_json(self._storage, THUMBPRINTS + thumbprint)
        return None if raw is None else await self.account(str(raw["kid"]))

    async def save_account(self, account: Account, thumbprint: str = "") -> None:
        if thumbprint:
            await put_json(self._storage, THUMBPRINTS + thumbprint, {"kid": account.kid})
        await put_json(self._storage, ACCOUNTS + account.kid, account.to_json())

    async def rekey_account(self, account: Account, old_thumbprint: str, new_thumbprint: str) -> None:
        """Move `account` (holding its new key) from its old key's thumbprint to its new key's."""
        await put_json(self._storage, THUMBPRINTS + new_thumbprint, {"kid": account.kid})
        await put_json(self._storage, ACCOUNTS + account.kid, account.to_json())
        await self._storage.delete(THUMBPRINTS + old_thumbprint)

    # Orders, authorizations, issued certificates: each under its account.
    async def order(self, account: str, order_id: str) -> Order | None:
        raw = await get_json(self._storage, f"{ACCOUNTS}{account}/orders/{order_id}")
        return None if raw is None else Order.from_json(raw)

    async def order_ids(self, account: str) -> list[str]:
        found = await self._storage.list(f"{ACCOUNTS}{account}/orders/")
        return [name for name in found if not name.endswith("/")]

    async def save_order(self, order: Order) -> None:
        await put_json(self._storage, f"{ACCOUNTS}{order.account}/orders/{order.id}", order.to_json())

    async def authorization(self, account: str, authz_id: str) -> Authorization | None:
        raw = await get_json(self._storage, f"{ACCOUNTS}{account}/authorizations/{authz_id}")
        return None if raw is None else Authorization.from_json(raw)

    async def save_authorization(self, authz: Authorization) -> None:
        key = f"{ACCOUNTS}{authz.account}/authorizations/{authz.id}"
        await put_json(self._storage, key, authz.to_json())

    async def track_cert(self, account: str, serial: str, order_id: str) -> None:
        await put_json(self._storage, f"{ACCOUNTS}{account}/certs/{serial}", {"order": order_id})

    async def issued_to(self, account: str, serial: str) -> bool:
        return await self._storage.get(f"{ACCOUNTS}{account}/certs/{serial}") is not None

    # External account bindings.
    async def eab(self, eab_id: str) -> Eab | None:
        raw = await get_json(self._storage, EABS + eab_id)
        if raw is None:
            return None
        return Eab(**{**raw, "key": base64.b64decode(raw["key"])})

    async def save_eab(self, eab: Eab) -> None:
        await put_json(
            self._storage,
            EABS + eab.id,
            {
                "id": eab.id,
                "key": base64.b64encode(eab.key).decode(),
                "directory": eab.directory,
                "created": eab.created,
                "key_type": eab.key_type,
            },
        )

    async def delete_eab(self, eab_id: str) -> bool:
        """Delete an EAB; whether it was there (so one EAB binds one account only)."""
        async with self.lock:
            if await self._storage.get(EABS + eab_id) is None:
                return False
            await self._storage.delete(EABS + eab_id)
            return True

    async def eab_ids(self) -> list[str]:
        return [name for name in await self._storage.list(EABS) if not name.endswith("/")]

    # Challenge checks under way.
    async def save_validation(self, validation: Validation) -> None:
        await put_json(self._storage, VALIDATIONS + validation.id, asdict(validation))

    async def delete_validation(self, validation_id: str) -> None:
        await self._storage.delete(VALIDATIONS + validation_id)

    async def validations(self) -> list[Validation]:
        found = []
        for name in await self._storage.list(VALIDATIONS):
            raw = await get_json(self._storage, VALIDATIONS + name)
            if raw is not None:
                found.append(Validation(**raw))
        return found
