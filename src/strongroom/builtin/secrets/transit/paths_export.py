"""Transit key export: export/<type>/<name>[/<version>] for keys created exportable (public keys always).

Layer: builtin. Imports framework, logical and the transit domain modules.

Invariant: private material leaves the engine only here, and only for a key whose `exportable` is set.
"""

from __future__ import annotations

from strongroom.builtin.secrets.transit import keygen
from strongroom.builtin.secrets.transit.common import storage_of, user_errors
from strongroom.builtin.secrets.transit.models import KeyPolicy, TransitError
from strongroom.builtin.secrets.transit.store import KeyStore
from strongroom.framework import Field, FieldData, FieldType, Path
from strongroom.logical import Operation, Request, Response

EXPORT_TYPES = ("encryption-key", "signing-key", "hmac-key", "public-key")
FIELDS = {
    "type": Field(
        FieldType.STRING, "Type of key to export: encryption-key, signing-key, hmac-key, public-key"
    ),
    "name": Field(FieldType.STRING, "Name of the key"),
    "version": Field(FieldType.STRING, "Version of the key ('latest' or a number); all when absent"),
}


def _check_kind(policy: KeyPolicy, kind: str) -> None:
    if kind != "public-key" and not policy.exportable:
        raise TransitError("private key material is not exportable")
    if kind == "encryption-key" and not policy.type.supports_encryption:
        raise TransitError("encryption not supported for the key")
    if kind == "signing-key" and not policy.type.supports_signing:
        raise TransitError("signing not supported for the key")
    if kind == "public-key" and policy.type.secret_bytes:
        raise TransitError(f"unknown key type {policy.type} for export type public-key")


def _versions(policy: KeyPolicy, asked: str) -> list[int]:
    live = [n for n in sorted(policy.versions) if n >= policy.min_decryption_version]
    if not asked:
        return live
    if asked == "latest":
        return [policy.latest_version]
    try:
        number = int(asked.removeprefix("v"), 10)
    except ValueError:
        raise TransitError("invalid key version") from None
    if number not in live:
        raise TransitError("version does not exist or cannot be found")
    return [number]


def paths(store: KeyStore) -> list[Path]:
    """The export declarations of a transit mount."""

    @user_errors
    async def export(request: Request, fields: FieldData) -> Response | None:
        kind = fields.get("type")
        if kind not in EXPORT_TYPES:
            raise TransitError(f"invalid export type: {kind}")
        policy = await store.get(storage_of(request), fields.get("name"))
        if policy is None:
            return None
        _check_kind(policy, kind)
        keys = {
            str(n): keygen.export_form(policy.type, policy.versions[n], kind)
            for n in _versions(policy, fields.get("version"))
        }
        return Response(data={"keys": keys, "name": policy.name, "type": policy.type.value})

    return [
        Path(
            pattern,
            fields=FIELDS,
            operations={Operation.READ: export},
            synopsis="Export named encryption keys",
        )
        for pattern in ("export/{type}/{name}/{version}", "export/{type}/{name}")
    ]
