"""What transit stores: one record per named key (its settings and every live version's material).

Layer: builtin (pure values; stdlib only). Times are float seconds since the epoch.
Storage layout (inside the mount's view, so the barrier encrypts every byte of it):
    policy/<name>    KeyPolicy as JSON; key material base64 inside, never outside this record

Invariant: key material appears in no repr (fields are repr=False) and leaves only through export.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

POLICY_PREFIX = "policy/"


class TransitError(ValueError):
    """A user error, carried to the client as Vault words it (400, or a batch item's "error")."""


class KeyType(StrEnum):
    """The key types transit creates, by Vault's names."""

    AES128_GCM96 = "aes128-gcm96"
    AES256_GCM96 = "aes256-gcm96"
    CHACHA20_POLY1305 = "chacha20-poly1305"
    ED25519 = "ed25519"
    ECDSA_P256 = "ecdsa-p256"
    ECDSA_P384 = "ecdsa-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    HMAC = "hmac"
    # Vault Enterprise's CMAC key types (OpenBao has none): AES keys used for CMAC only.
    AES128_CMAC = "aes128-cmac"
    AES192_CMAC = "aes192-cmac"
    AES256_CMAC = "aes256-cmac"

    @property
    def symmetric(self) -> bool:
        return self in SYMMETRIC

    @property
    def secret_bytes(self) -> bool:
        """Whether the material is raw secret bytes (symmetric ciphers and HMAC keys)."""
        return self.symmetric or self.cmac or self is KeyType.HMAC

    @property
    def cmac(self) -> bool:
        return self in (KeyType.AES128_CMAC, KeyType.AES192_CMAC, KeyType.AES256_CMAC)

    @property
    def rsa(self) -> bool:
        return self in (KeyType.RSA_2048, KeyType.RSA_3072, KeyType.RSA_4096)

    @property
    def ecdsa(self) -> bool:
        return self in (KeyType.ECDSA_P256, KeyType.ECDSA_P384)

    @property
    def supports_encryption(self) -> bool:
        return self.symmetric or self.rsa

    @property
    def supports_signing(self) -> bool:
        return self is KeyType.ED25519 or self.ecdsa or self.rsa

    @property
    def supports_derivation(self) -> bool:
        return self.symmetric or self is KeyType.ED25519

    @property
    def public_name(self) -> str:
        """How Vault names the key in a version's public entry ("P-256", "rsa-2048", "ed25519")."""
        return {KeyType.ECDSA_P256: "P-256", KeyType.ECDSA_P384: "P-384"}.get(self, self.value)


SYMMETRIC = frozenset({KeyType.AES128_GCM96, KeyType.AES256_GCM96, KeyType.CHACHA20_POLY1305})


def parse_key_type(name: str) -> KeyType:
    """The KeyType called `name`, or Vault's refusal."""
    try:
        return KeyType(name)
    except ValueError:
        raise TransitError(f"unknown key type {name}") from None


@dataclass(frozen=True, slots=True)
class KeyVersion:
    """One version of a key: its secret material (raw bytes or DER), its HMAC key, its creation time."""

    key: bytes = field(repr=False)
    hmac_key: bytes = field(repr=False)
    creation_time: float
    # The public key as Vault shows it (base64 for ed25519, PEM otherwise); "" for symmetric and derived.
    # For an HMAC key, `hmac_key` is `key` itself, as Vault keeps it. An asymmetric version imported as
    # its public key alone has an empty `key`.
    public_key: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key.hex(),
            "hmac_key": self.hmac_key.hex(),
            "creation_time": self.creation_time,
            "public_key": self.public_key,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KeyVersion:
        return cls(
            key=bytes.fromhex(raw["key"]),
            hmac_key=bytes.fromhex(raw["hmac_key"]),
            creation_time=float(raw["creation_time"]),
            public_key=str(raw.get("public_key", "")),
        )


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """A named key (Vault calls it a policy): settings and versions from min_available_version up."""

    name: str
    type: KeyType
    versions: Mapping[int, KeyVersion] = field(repr=False)
    latest_version: int = 1
    min_decryption_version: int = 1
    min_encryption_version: int = 0
    min_available_version: int = 0
    derived: bool = False
    convergent_encryption: bool = False
    exportable: bool = False
    allow_plaintext_backup: bool = False
    deletion_allowed: bool = False
    auto_rotate_period: int = 0
    # Bytes of an HMAC key's material (Vault's key_size); 0 for every other type.
    key_size: int = 0
    # (time, latest version) of the last backup taken and of the restore that made this key, as Vault records.
    backup_info: tuple[float, int] | None = None
    restore_info: tuple[float, int] | None = None
    # Brought in through keys/<name>/import; Vault rotates such a key only when allowed, and a rotation
    # makes it a key of its own again.
    imported: bool = False
    allow_imported_key_rotation: bool = False

    def evolve(self, **changes: Any) -> KeyPolicy:
        """A copy with `changes` applied."""
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type.value,
            "versions": {str(n): v.to_json() for n, v in self.versions.items()},
            "latest_version": self.latest_version,
            "min_decryption_version": self.min_decryption_version,
            "min_encryption_version": self.min_encryption_version,
            "min_available_version": self.min_available_version,
            "derived": self.derived,
            "convergent_encryption": self.convergent_encryption,
            "exportable": self.exportable,
            "allow_plaintext_backup": self.allow_plaintext_backup,
            "deletion_allowed": self.deletion_allowed,
            "auto_rotate_period": self.auto_rotate_period,
            "key_size": self.key_size,
            "backup_info": self.backup_info,
            "restore_info": self.restore_info,
            "imported": self.imported,
            "allow_imported_key_rotation": self.allow_imported_key_rotation,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KeyPolicy:
        return cls(
            name=raw["name"],
            type=KeyType(raw["type"]),
            versions={int(n): KeyVersion.from_json(v) for n, v in raw["versions"].items()},
            latest_version=int(raw["latest_version"]),
            min_decryption_version=int(raw["min_decryption_version"]),
            min_encryption_version=int(raw["min_encryption_version"]),
            min_available_version=int(raw["min_available_version"]),
            derived=bool(raw["derived"]),
            convergent_encryption=bool(raw["convergent_encryption"]),
            exportable=bool(raw["exportable"]),
            allow_plaintext_backup=bool(raw["allow_plaintext_backup"]),
            deletion_allowed=bool(raw["deletion_allowed"]),
            auto_rotate_period=int(raw["auto_rotate_period"]),
            key_size=int(raw.get("key_size", 0)),
            backup_info=_info(raw.get("backup_info")),
            restore_info=_info(raw.get("restore_info")),
            imported=bool(raw.get("imported")),
            allow_imported_key_rotation=bool(raw.get("allow_imported_key_rotation")),
        )


def _info(raw: Any) -> tuple[float, int] | None:
    return None if raw is None else (float(raw[0]), int(raw[1]))
