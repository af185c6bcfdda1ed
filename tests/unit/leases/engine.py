"""A small secrets engine that issues leased credentials, for the lease tests: real framework code, mounted
through the real core (in process, or behind the ASGI app).

creds/<name> (READ) issues a credential; `ttl`, `max_ttl`, `renewable` and `fail_revoke` shape its secret.
live/ and revoked/ (LIST) show which credentials the engine still honours and which it revoked.
"""

from __future__ import annotations

import secrets

from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, FrameworkBackend, Path, SecretType
from strongroom.logical import (
    Backend,
    BackendConfig,
    LeaseOptions,
    Operation,
    Request,
    Response,
    Secret,
)

MOUNT_TYPE = "leasing"


async def leasing_factory(config: BackendConfig) -> Backend:
    storage = config.storage

    async def issue(request: Request, data: FieldData) -> Response:
        username = f"{data.get('name')}-{secrets.token_hex(4)}"
        await storage.put(f"live/{username}", b"1")
        kind = creds if data.get("renewable") else static
        ttl, max_ttl = data.get("ttl"), data.get("max_ttl")
        fail = data.get("fail_revoke")
        internal = {"username": username, "ttl": ttl, "max_ttl": max_ttl, "fail_revoke": fail}
        password = secrets.token_hex(8)
        return kind.response({"username": username, "password": password}, internal, ttl=ttl, max_ttl=max_ttl)

    async def revoke(request: Request, secret: Secret) -> None:
        if secret.internal.get("fail_revoke"):
            raise InvalidRequestError("the database refused to drop the user")
        username = secret.internal["username"]
        await storage.delete(f"live/{username}")
        await storage.put(f"revoked/{username}", request.path.encode())

    async def renew(request: Request, secret: Secret) -> Response:
        """Vault's usual renewal: the same secret, with the TTLs it was issued with."""
        lease = LeaseOptions(
            ttl=int(secret.internal["ttl"]), max_ttl=int(secret.internal["max_ttl"]), renewable=True
        )
        return Response(data={"renewed": secret.internal["username"]}, secret=Secret(lease=lease))

    creds = SecretType("creds", revoke=revoke, renew=renew)
    static = SecretType("static", revoke=revoke)

    async def list_live(request: Request, data: FieldData) -> Response:
        return Response(data={"keys": await storage.list("live/")})

    async def list_revoked(request: Request, data: FieldData) -> Response:
        return Response(data={"keys": await storage.list("revoked/")})

    return FrameworkBackend(
        [
            Path(
                "creds/{name}",
                fields={
                    "ttl": Field(FieldType.DURATION, "TTL of the credential"),
                    "max_ttl": Field(FieldType.DURATION, "Maximum TTL of the credential"),
                    "renewable": Field(FieldType.BOOL, "Whether it can be renewed", default=True),
                    "fail_revoke": Field(FieldType.BOOL, "Make its revocation fail"),
                },
                operations={Operation.READ: issue},
            ),
            Path("live/?", operations={Operation.LIST: list_live}),
            Path("revoked/?", operations={Operation.LIST: list_revoked}),
        ],
        help="Issues leased credentials, for tests.",
        secrets=[creds, static],
    )
