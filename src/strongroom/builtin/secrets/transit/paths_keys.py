"""Transit key management: keys/ (list), keys/<name> (create, read, delete), and its config, rotate, trim.

Layer: builtin. Imports framework, logical, util and the transit domain modules.
"""

from __future__ import annotations

from typing import Any

from strongroom.builtin.secrets.transit import keygen
from strongroom.builtin.secrets.transit.common import storage_of, user_errors
from strongroom.builtin.secrets.transit.models import KeyPolicy, KeyType, TransitError, parse_key_type
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.errors import InvalidRequestError
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response
from strongroom.util.clock import rfc3339

HOUR = 3600

CREATE_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the key"),
    "type": Field(FieldType.STRING, "The type of key to create", default="aes256-gcm96"),
    "derived": Field(FieldType.BOOL, "Enables key derivation; a context must then be given with each use"),
    "convergent_encryption": Field(
        FieldType.BOOL, "Equal plaintexts and contexts give equal ciphertexts (needs derived)"
    ),
    "exportable": Field(FieldType.BOOL, "Enables the key to be exported; cannot be disabled once set"),
    "allow_plaintext_backup": Field(FieldType.BOOL, "Enables taking a plaintext backup of the key"),
    "auto_rotate_period": Field(FieldType.DURATION, "Rotate the key this often; 0 disables, else >= 1h"),
    "key_size": Field(FieldType.INT, "The key size in bytes for HMAC keys"),
    "context": Field(FieldType.STRING, "Base64 context for key derivation (deprecated)"),
}

CONFIG_FIELDS = {
    "name": Field(FieldType.STRING, "Name of the key"),
    "min_decryption_version": Field(
        FieldType.INT, "The minimum version of ciphertext allowed to be decrypted"
    ),
    "min_encryption_version": Field(FieldType.INT, "The minimum version of the key allowed to encrypt"),
    "deletion_allowed": Field(FieldType.BOOL, "Whether to allow deletion of the key"),
    "exportable": Field(FieldType.BOOL, "Enables export of the key; cannot be disabled once set"),
    "allow_plaintext_backup": Field(FieldType.BOOL, "Enables plaintext backup; cannot be disabled once set"),
    "auto_rotate_period": Field(FieldType.DURATION, "Rotate the key this often; 0 disables, else >= 1h"),
}


def key_view(policy: KeyPolicy) -> dict[str, Any]:
    """The body of a key read (Vault's shape): settings, and each decryptable version's creation time or
    public entry. Never any private material."""
    keys: dict[str, Any] = {}
    for number in sorted(policy.versions):
        if number < policy.min_decryption_version:
            continue
        version = policy.versions[number]
        if policy.type.secret_bytes:
            keys[str(number)] = int(version.creation_time)
        else:
            keys[str(number)] = {
                "certificate_chain": "",
                "creation_time": rfc3339(version.creation_time),
                "name": policy.type.public_name,
                "public_key": version.public_key,
            }
    view: dict[str, Any] = {
        "allow_plaintext_backup": policy.allow_plaintext_backup,
        "auto_rotate_period": policy.auto_rotate_period,
        "deletion_allowed": policy.deletion_allowed,
        "derived": policy.derived,
        "exportable": policy.exportable,
        "imported_key": policy.imported,
        "keys": keys,
        "latest_version": policy.latest_version,
        "min_available_version": policy.min_available_version,
        "min_decryption_version": policy.min_decryption_version,
        "min_encryption_version": policy.min_encryption_version,
        "name": policy.name,
        "soft_deleted": False,
        "supports_decryption": policy.type.supports_encryption,
        "supports_derivation": policy.type.supports_derivation,
        "supports_encryption": policy.type.supports_encryption,
        "supports_signing": policy.type.supports_signing,
        "type": policy.type.value,
    }
    if policy.type is KeyType.HMAC:
        view["key_size"] = policy.key_size
    if policy.imported:
        view["imported_key_allow_rotation"] = policy.allow_imported_key_rotation
    for label, info in (("backup_info", policy.backup_info), ("restore_info", policy.restore_info)):
        if info is not None:
            view[label] = {"time": rfc3339(info[0]), "version": info[1]}
    if policy.derived:
        view["kdf"] = "hkdf_sha256"
        view["convergent_encryption"] = policy.convergent_encryption
        if policy.convergent_encryption:
            view["convergent_encryption_version"] = 3
    return view


def new_policy(
    store: KeyStore,
    name: str,
    key_type: KeyType,
    *,
    derived: bool = False,
    convergent: bool = False,
    exportable: bool = False,
    allow_plaintext_backup: bool = False,
    auto_rotate_period: int = 0,
    key_size: int = 0,
) -> KeyPolicy:
    """A new key of `key_type` with its first version, or Vault's refusal of the combination."""
    if derived and not key_type.supports_derivation:
        raise TransitError(
            f"key derivation and convergent encryption not supported for keys of type {key_type}"
        )
    if convergent and not key_type.symmetric:
        raise TransitError(f"convergent encryption not supported for keys of type {key_type}")
    first = keygen.generate(key_type, store.clock.now(), derived=derived, key_size=key_size)
    return KeyPolicy(
        name=name,
        type=key_type,
        versions={1: first},
        derived=derived,
        convergent_encryption=convergent,
        exportable=exportable,
        allow_plaintext_backup=allow_plaintext_backup,
        auto_rotate_period=auto_rotate_period,
        key_size=key_size,
    )


def _check_rotate_period(seconds: int) -> None:
    if seconds != 0 and seconds < HOUR:
        raise TransitError("auto rotate period must be 0 to disable or at least an hour")


def paths(store: KeyStore) -> list[Path]:
    """The key management declarations of a transit mount."""

    async def list_keys(request: Request, fields: FieldData) -> Response | None:
        names = await store.names(storage_of(request))
        return Response(data={"keys": names}) if names else None

    @user_errors
    async def create_key(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        period = fields.get("auto_rotate_period")
        _check_rotate_period(period)
        derived, convergent = fields.get("derived"), fields.get("convergent_encryption")
        if convergent and not derived:
            raise TransitError("convergent encryption requires derivation to be enabled")
        key_type = parse_key_type(fields.get("type"))
        key_size = fields.get("key_size")
        if key_size:
            if key_type is not KeyType.HMAC:
                raise TransitError(f"key_size is not valid for algorithm {key_type}")
            if not keygen.HMAC_MIN_KEY_SIZE <= key_size <= keygen.HMAC_MAX_KEY_SIZE:
                raise TransitError(f"invalid key_size {key_size}")
        storage = storage_of(request)
        async with store.locked(name):
            existing = await store.get(storage, name)
            if existing is not None:
                return Response(data=key_view(existing))
            policy = new_policy(
                store,
                name,
                key_type,
                derived=derived,
                convergent=convergent,
                exportable=fields.get("exportable"),
                allow_plaintext_backup=fields.get("allow_plaintext_backup"),
                auto_rotate_period=period,
                key_size=key_size,
            )
            await store.put(storage, policy)
        return Response(data=key_view(policy))

    async def read_key(request: Request, fields: FieldData) -> Response | None:
        policy = await store.get(storage_of(request), fields.get("name"))
        return None if policy is None else Response(data=key_view(policy))

    async def delete_key(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        storage = storage_of(request)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                raise InvalidRequestError(f"error deleting policy {name}: could not delete key; not found")
            if not policy.deletion_allowed:
                raise InvalidRequestError(
                    f"error deleting policy {name}: deletion is not allowed for this key"
                )
            await store.delete(storage, name)
        return None

    @user_errors
    async def write_config(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        storage = storage_of(request)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                raise TransitError(f"no existing key named {name} could be found")
            updated, warnings = _configured(policy, fields)
            if updated != policy:
                await store.put(storage, updated)
        return Response(data=key_view(updated), warnings=warnings)

    @user_errors
    async def rotate(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        storage = storage_of(request)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                raise TransitError("key not found")
            policy = store.rotated(policy)
            await store.put(storage, policy)
        return Response(data=key_view(policy))

    @user_errors
    async def trim(request: Request, fields: FieldData) -> Response | None:
        name = fields.get("name")
        storage = storage_of(request)
        async with store.locked(name):
            policy = await store.get(storage, name)
            if policy is None:
                raise TransitError("invalid key name")
            minimum, given = fields.get_ok("min_available_version")
            if not given:
                raise TransitError("missing min_available_version")
            policy = _trimmed(policy, minimum)
            await store.put(storage, policy)
        return Response(data=key_view(policy))

    return [
        Path(
            "keys/?",
            operations={Operation.LIST: list_keys},
            synopsis="Managed named encryption keys",
        ),
        Path(
            "keys/{name}/config",
            fields=CONFIG_FIELDS,
            operations={Operation.UPDATE: write_config},
            synopsis="Configure a named encryption key",
        ),
        Path(
            "keys/{name}/rotate",
            fields={"name": Field(FieldType.STRING, "Name of the key")},
            operations={Operation.UPDATE: rotate},
            synopsis="Rotate named encryption key",
        ),
        Path(
            "keys/{name}/trim",
            fields={
                "name": Field(FieldType.STRING, "Name of the key"),
                "min_available_version": Field(
                    FieldType.INT,
                    "The minimum available version for the key ring; older versions are deleted",
                ),
            },
            operations={Operation.UPDATE: trim},
            synopsis="Trim key versions of a named key",
        ),
        Path(
            "keys/{name}",
            fields=CREATE_FIELDS,
            operations={
                Operation.UPDATE: create_key,
                Operation.CREATE: create_key,
                Operation.READ: read_key,
                Operation.DELETE: delete_key,
            },
            synopsis="Managed named encryption keys",
        ),
    ]


def _configured(policy: KeyPolicy, fields: FieldData) -> tuple[KeyPolicy, tuple[str, ...]]:
    """`policy` with the config request applied (Vault's order of checks), and any warnings."""
    warnings: tuple[str, ...] = ()
    min_decryption, given = fields.get_ok("min_decryption_version")
    if given:
        if min_decryption < 0:
            raise TransitError("min decryption version cannot be negative")
        if min_decryption == 0:
            min_decryption = 1
            warnings = ("since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1",)
        if min_decryption != policy.min_decryption_version:
            if min_decryption > policy.latest_version:
                raise TransitError(
                    f"cannot set min decryption version of {min_decryption}, "
                    f"latest key version is {policy.latest_version}"
                )
            policy = policy.evolve(min_decryption_version=min_decryption)
    min_encryption, given = fields.get_ok("min_encryption_version")
    if given:
        if min_encryption < 0:
            raise TransitError("min encryption version cannot be negative")
        if min_encryption > policy.latest_version:
            raise TransitError(
                f"cannot set min encryption version of {min_encryption}, "
                f"latest key version is {policy.latest_version}"
            )
        policy = policy.evolve(min_encryption_version=min_encryption)
    if 0 < policy.min_encryption_version < policy.min_decryption_version:
        raise TransitError(
            "cannot set min encryption/decryption values; min encryption version of "
            f"{policy.min_encryption_version} must be greater than or equal to min decryption version of "
            f"{policy.min_decryption_version}"
        )
    deletion_allowed, given = fields.get_ok("deletion_allowed")
    if given:
        policy = policy.evolve(deletion_allowed=deletion_allowed)
    # Exportability and plaintext backup are one-way switches: false never unsets them.
    if fields.get("exportable"):
        policy = policy.evolve(exportable=True)
    if fields.get("allow_plaintext_backup"):
        policy = policy.evolve(allow_plaintext_backup=True)
    period, given = fields.get_ok("auto_rotate_period")
    if given:
        _check_rotate_period(period)
        policy = policy.evolve(auto_rotate_period=period)
    return policy, warnings


def _trimmed(policy: KeyPolicy, minimum: int) -> KeyPolicy:
    """`policy` without the versions below `minimum`, or Vault's refusal."""
    if minimum < policy.min_available_version:
        raise TransitError("minimum available version cannot be decremented")
    if policy.min_encryption_version == 0:
        raise TransitError(
            "minimum available version cannot be set when minimum encryption version is not set"
        )
    if minimum > policy.min_encryption_version:
        # Vault's spelling, kept so that clients matching on it still do.
        raise TransitError("minimum available version cannot be greater than minmum encryption version")
    if minimum > policy.min_decryption_version:
        raise TransitError("minimum available version cannot be greater than minimum decryption version")
    kept = {n: v for n, v in policy.versions.items() if n >= minimum}
    return policy.evolve(versions=kept, min_available_version=minimum)
