"""roles/<name> (create, update, read, delete) and roles/ (LIST). Layer: builtin.

Imports framework, logical, errors and the engine's models and keys. As in Vault, a write sets every
setting: what the request leaves out takes its default (it is not merged with the stored role).
"""

from __future__ import annotations

import re
from typing import Any

from strongroom.builtin.secrets.pki.issuing import parse_cidrs
from strongroom.builtin.secrets.pki.keys import validate_key_params
from strongroom.builtin.secrets.pki.models import ROLE_SETTINGS, Role
from strongroom.builtin.secrets.pki.store import PkiStore
from strongroom.errors import NotFoundError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.framework.backend import UNSUPPORTED_PATH
from strongroom.logical import Operation, Request, Response

NAME = re.compile(r"\w(([\w.-]+)?\w)?")
LEASE_WARNING = (
    "it is encouraged to disable generate_lease and rely on PKI's native capabilities when possible; this "
    "option can cause instance-wide issues with large numbers of issued certificates"
)
_DURATIONS = ("ttl", "max_ttl", "not_before_duration")
_DESCRIPTIONS = {
    "ttl": "The lease duration (validity period) if no specific lease duration is requested.",
    "max_ttl": "The maximum allowed lease duration.",
    "allowed_domains": "Specifies the domains this role is allowed to issue certificates for.",
    "allow_subdomains": "If set, clients can request certificates for subdomains of the allowed domains.",
    "allow_bare_domains": "If set, clients can request certificates for the allowed domains themselves.",
    "allow_glob_domains": 'If set, allowed_domains may contain glob patterns (e.g. "ftp*.example.com").',
    "allow_any_name": (
        "If set, clients can request certificates for any domain, regardless of allowed_domains."
    ),
    "allow_localhost": 'Whether to allow "localhost" and "localdomain" as a valid common name in a request.',
    "enforce_hostnames": "If set, only valid host names are allowed for CN and DNS SANs.",
    "allow_ip_sans": "If set, IP Subject Alternative Names are allowed.",
    "generate_lease": "If set, certificates issued/signed against this role will have OpenBao leases.",
    "no_store": "If set, certificates issued/signed against this role will not be stored.",
    "key_type": 'The type of key to use; defaults to RSA. "rsa", "ec", "ed25519" and "any" are allowed.',
    "key_bits": "The number of bits to use (0: the key type's default).",
}


def _field_for(name: str, default: Any) -> Field:
    description = _DESCRIPTIONS.get(name, f"The role's {name.replace('_', ' ')} setting.")
    if name in _DURATIONS:
        return Field(FieldType.DURATION, description, default)
    if isinstance(default, bool):
        return Field(FieldType.BOOL, description, default)
    if isinstance(default, int):
        return Field(FieldType.INT, description, default)
    if isinstance(default, tuple):
        return Field(FieldType.COMMA_STRING_LIST, description, list(default) or None)
    return Field(FieldType.STRING, description, default)


_DEFAULTS = Role(name="")
ROLE_FIELDS: dict[str, Field] = {
    "name": Field(FieldType.STRING, "Name of the role."),
    **{name: _field_for(name, getattr(_DEFAULTS, name)) for name in ROLE_SETTINGS},
}
ROLE_FIELDS["key_bits"] = Field(FieldType.INT, _DESCRIPTIONS["key_bits"], 0)


def checked_name(data: FieldData, field: str = "name") -> str:
    """The role name in `field`; one Vault's route pattern would not match is an unsupported path."""
    name: str = data.get(field)
    if not NAME.fullmatch(name):
        raise NotFoundError(UNSUPPORTED_PATH)
    return name


def role_from(name: str, data: FieldData) -> Role:
    """The role a write describes: each setting as given, else its default; key type and size checked."""
    values: dict[str, Any] = {}
    for setting in ROLE_SETTINGS:
        value = data.get(setting)
        values[setting] = tuple(value) if isinstance(value, list) else value
    parse_cidrs(values["allowed_ip_sans_cidr"])
    key_type, key_bits = validate_key_params(values["key_type"], values["key_bits"], allow_any=True)
    values.update(key_type=key_type, key_bits=key_bits)
    return Role(name=name, **values)


def paths(store: PkiStore) -> list[Path]:
    """The role and role list paths."""

    async def exists(request: Request, data: FieldData) -> bool:
        return await store.role(checked_name(data)) is not None

    async def write(request: Request, data: FieldData) -> Response | None:
        role = role_from(checked_name(data), data)
        await store.save_role(role)
        warnings = (LEASE_WARNING,) if role.generate_lease else ()
        return Response(data=role.read_data(), warnings=warnings)

    async def read(request: Request, data: FieldData) -> Response | None:
        role = await store.role(checked_name(data))
        return None if role is None else Response(data=role.read_data())

    async def delete(request: Request, data: FieldData) -> Response | None:
        await store.delete_role(checked_name(data))
        return None

    async def list_roles(request: Request, data: FieldData) -> Response | None:
        return Response(data={"keys": await store.role_names()})

    return [
        Path(
            "roles/{name}",
            fields=ROLE_FIELDS,
            operations={
                Operation.CREATE: write,
                Operation.UPDATE: write,
                Operation.READ: read,
                Operation.DELETE: delete,
            },
            existence_check=exists,
            synopsis="Manage the roles that can be created with this backend.",
            description=(
                "A role says which names certificates issued against it may carry, and how those "
                "certificates look: key type, usages, subject fields and TTLs."
            ),
        ),
        Path(
            "roles/?",
            operations={Operation.LIST: list_roles},
            synopsis="List the existing roles in this backend",
            description="Roles will be listed by the role name.",
        ),
    ]
