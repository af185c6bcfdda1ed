"""What the identity token paths share: the issuer, the roles, the default key, and one lock.

Layer: core; imports identity (keys, templates), logical and util.
Invariant: every read-modify-write of named keys and roles runs under `OIDCState.lock`, so a rotation and
a key update never interleave.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from strongroom.errors import InvalidRequestError
from strongroom.identity import oidc_keys
from strongroom.identity.oidc_keys import NamedKey
from strongroom.logical import Request, Response, Storage
from strongroom.logical.storage import get_json, put_json
from strongroom.util.clock import Clock

CONFIG = "oidc_tokens/config/"
ASSIGNMENTS = "oidc_provider/assignment/"
SCOPES = "oidc_provider/scope/"
CLIENTS = "oidc_provider/client/"
PROVIDERS = "oidc_provider/provider/"
DEFAULT_KEY = "default"
ISSUER_PATH = "/v1/identity/oidc"
DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class Role:
    """identity/oidc/role/<name>: which key signs its tokens, for which audience, with which claims."""

    key: str
    template: str
    ttl: int
    client_id: str

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "template": self.template, "ttl": self.ttl, "client_id": self.client_id}


class OIDCState:
    """The API address (the default issuer), the clock and the lock the token paths share."""

    def __init__(self, api_addr: str, clock: Clock) -> None:
        self.api_addr = api_addr
        self.clock = clock
        self.lock = asyncio.Lock()
        self._defaults_stored = False

    async def defaults(self, storage: Storage) -> None:
        """Vault's default resources: the provider "default" (every client, no scopes), the assignment
        "allow_all" (every entity and group) and the key "default", stored once."""
        if self._defaults_stored:
            return
        if await get_json(storage, PROVIDERS + "default") is None:
            await put_json(
                storage,
                PROVIDERS + "default",
                {"issuer": "", "allowed_client_ids": ["*"], "scopes_supported": []},
            )
        if await get_json(storage, ASSIGNMENTS + "allow_all") is None:
            await put_json(storage, ASSIGNMENTS + "allow_all", {"entity_ids": ["*"], "group_ids": ["*"]})
        await self.default_key(storage)
        self._defaults_stored = True

    def provider_issuer(self, name: str, record: dict[str, Any]) -> str:
        """A provider's `iss`: its issuer, else the API address, then its path."""
        return (record["issuer"] or self.api_addr) + ISSUER_PATH + "/provider/" + name

    async def configured_issuer(self, storage: Storage) -> str:
        raw = await get_json(storage, CONFIG)
        return "" if raw is None else str(raw.get("issuer", ""))

    async def issuer(self, storage: Storage) -> str:
        """The `iss` of every token: the configured issuer, else the API address, then Vault's path."""
        return ((await self.configured_issuer(storage)) or self.api_addr) + ISSUER_PATH

    async def set_issuer(self, storage: Storage, issuer: str) -> None:
        await put_json(storage, CONFIG, {"issuer": issuer})

    async def role(self, storage: Storage, name: str) -> Role | None:
        raw = await get_json(storage, oidc_keys.ROLES + name)
        return None if raw is None else Role(**raw)

    async def roles(self, storage: Storage) -> dict[str, Role]:
        found: dict[str, Role] = {}
        for name in await storage.list(oidc_keys.ROLES):
            role = await self.role(storage, name)
            if role is not None:
                found[name] = role
        return found

    async def default_key(self, storage: Storage, *, with_pairs: bool = False) -> NamedKey:
        """The key "default", which always exists (as in Vault, without key pairs until a role uses it)."""
        key = await oidc_keys.load_key(storage, DEFAULT_KEY)
        if key is None:
            key = NamedKey(
                name=DEFAULT_KEY,
                algorithm="RS256",
                rotation_period=DAY,
                verification_ttl=DAY,
                allowed_client_ids=("*",),
                next_rotation=self.clock.now() + DAY,
            )
            await oidc_keys.store_key(storage, key)
        if with_pairs and key.signing is None:
            key = await oidc_keys.with_new_pairs(storage, key)
            await oidc_keys.store_key(storage, key)
        return key


def valid_issuer(issuer: str) -> bool:
    """Vault's rule for an issuer: a scheme (http or https), a host, an optional port, and nothing more."""
    try:
        parts = urlsplit(issuer)
    except ValueError:
        return False
    bare = not (parts.path or parts.query or parts.fragment or parts.username or parts.password)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and bare and not issuer.endswith("?")


async def load(storage: Storage, prefix: str, name: str) -> dict[str, Any] | None:
    """One stored provider-side record (assignment, scope, client, provider) by name."""
    raw = await get_json(storage, prefix + name) if name else None
    return None if raw is None else dict(raw)


async def clients(storage: Storage) -> list[dict[str, Any]]:
    """Every OIDC client record, by name."""
    found = [await load(storage, CLIENTS, name) for name in await storage.list(CLIENTS)]
    return [record for record in found if record is not None]


def storage_of(request: Request) -> Storage:
    """The identity mount's storage view (behind the barrier), where keys and roles live."""
    if request.storage is None:
        raise InvalidRequestError("no storage for the identity mount")
    return request.storage


def raw_json(value: Any, *, status: int = 200) -> Response:
    """An answer sent as the JSON document itself, not in Vault's envelope (discovery, keys, introspect,
    and OAuth's answers)."""
    return Response(
        raw_body=json.dumps(value, separators=(",", ":")).encode(),
        content_type="application/json",
        status=status,
    )
