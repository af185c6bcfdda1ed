"""creds/<name> (READ): a new database user per request, leased; and the "creds" secret type that renews
(moves the user's expiry) and revokes (drops the user) it. Layer: builtin.

Imports framework, logical, util and the engine's modules. The lease manager clamps the lease itself; the
expiry written into PostgreSQL is computed the same way (from the role's TTLs and the mount's), plus Vault's
5 s of slack, so the user never expires before its lease.

Invariant: the user's password is in the response only; the lease's internal data holds the username.
"""

from __future__ import annotations

from collections.abc import Sequence

from strongroom.builtin.secrets.database.common import NAME_FIELD, checked_name
from strongroom.builtin.secrets.database.models import Role
from strongroom.builtin.secrets.database.store import DatabaseStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import FieldData, Path, SecretType
from strongroom.logical import LeaseOptions, Operation, Request, Response, Secret, SystemView
from strongroom.util.clock import Clock

CREDS_TYPE = "creds"
# Vault adds this to the user's expiry, so the database never drops a user whose lease is still live.
EXPIRY_SLACK = 5


def lease_ttl(system: SystemView, role: Role, increment: int, issue_time: float, now: float) -> int:
    """Vault's framework.CalculateTTL for a credential: the increment, else the role's default TTL, else the
    mount's; never past issue time + the role's maximum (capped by the mount's)."""
    ttl = increment or role.default_ttl or system.default_lease_ttl()
    max_ttl = role.max_ttl if 0 < role.max_ttl < system.max_lease_ttl() else system.max_lease_ttl()
    return max(0, min(ttl, int(issue_time + max_ttl - now)))


def paths(store: DatabaseStore, system: SystemView, clock: Clock) -> tuple[list[Path], SecretType]:
    """The creds path, and the secret type its leases are."""

    async def create(request: Request, data: FieldData) -> Response | None:
        name = checked_name(data)
        role = await store.role(name)
        if role is None:
            raise InvalidRequestError(f"unknown role: {name}")
        config = await store.required_config(role.db_name)
        if not config.allows(name):
            raise InvalidRequestError(f'"{name}" is not an allowed role')
        now = clock.now()
        ttl = lease_ttl(system, role, 0, now, now)
        display_name = request.caller.display_name if request.caller is not None else ""
        connection = store.connection(config)
        username = connection.username(display_name, name, now)
        password = await store.new_password(config, role.password_policy)
        await connection.new_user(role.creation_statements, username, password, now + ttl + EXPIRY_SLACK)
        internal = {
            "username": username,
            "role": name,
            "db_name": role.db_name,
            "revocation_statements": list(role.revocation_statements),
            "issue_time": now,
        }
        return creds.response(
            {"password": password, "username": username}, internal, ttl=role.default_ttl, max_ttl=role.max_ttl
        )

    async def renew(request: Request, secret: Secret) -> Response | None:
        role_name = str(secret.internal.get("role", ""))
        role = await store.role(role_name)
        if role is None:
            raise InvalidRequestError(f'error during renew: could not find role with name "{role_name}"')
        config = await store.required_config(role.db_name)
        now = clock.now()
        issued = float(secret.internal.get("issue_time", now))
        ttl = lease_ttl(system, role, secret.lease.increment, issued, now)
        if ttl > 0:
            await store.connection(config).renew_user(
                role.renew_statements, str(secret.internal["username"]), now + ttl + EXPIRY_SLACK
            )
        lease = LeaseOptions(ttl=role.default_ttl, max_ttl=role.max_ttl, renewable=True)
        return Response(secret=Secret(lease=lease, internal=secret.internal, lease_id=secret.lease_id))

    async def revoke(request: Request, secret: Secret) -> Response | None:
        role = await store.role(str(secret.internal.get("role", "")))
        statements: Sequence[str]
        if role is not None:
            db_name, statements = role.db_name, role.revocation_statements
        else:
            db_name = str(secret.internal.get("db_name", ""))
            statements = [str(s) for s in secret.internal.get("revocation_statements", ())]
        config = await store.required_config(db_name)
        await store.connection(config).revoke_user(statements, str(secret.internal["username"]))
        return None

    creds = SecretType(type=CREDS_TYPE, revoke=revoke, renew=renew)
    path = Path(
        "creds/{name}",
        fields={"name": NAME_FIELD},
        operations={Operation.READ: create},
        synopsis="Request database credentials for a certain role.",
        description=(
            "This path reads database credentials for a certain role. The database credentials will be "
            "generated on demand and will be automatically revoked when the lease is up."
        ),
    )
    return [path], creds
