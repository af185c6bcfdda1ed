"""Transit key backups in Vault's format: base64 of the JSON of Vault's KeyData {policy, archived_keys}.

Layer: builtin (pure; stdlib, `cryptography` and the transit domain modules, never the framework).
Vault's field names and encodings are kept (Go's []byte as base64, big integers as JSON numbers, times as
RFC 3339, key types as Vault's enum numbers), so a backup taken from Vault or OpenBao restores here and one
taken here restores there. The archive lists versions from min_available_version up, as Vault's does.

Invariant: a backup is produced only for a key that is both exportable and allows plaintext backup.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from strongroom.builtin.secrets.transit import keygen
from strongroom.builtin.secrets.transit.models import KeyPolicy, KeyType, KeyVersion, TransitError
from strongroom.util.clock import ZERO_TIME, rfc3339

# Vault's KeyType enum (sdk/helper/keysutil): the number a backup carries for each type.
TYPE_NUMBERS = {
    KeyType.AES256_GCM96: 0,
    KeyType.ECDSA_P256: 1,
    KeyType.ED25519: 2,
    KeyType.RSA_2048: 3,
    KeyType.RSA_4096: 4,
    KeyType.CHACHA20_POLY1305: 5,
    KeyType.ECDSA_P384: 6,
    KeyType.AES128_GCM96: 8,
    KeyType.RSA_3072: 9,
    KeyType.HMAC: 10,
}
_TYPES_BY_NUMBER = {number: key_type for key_type, number in TYPE_NUMBERS.items()}
# Vault's KDF enum: strongroom derives with HKDF-SHA256 only (Vault's 1; 0 is its older counter mode).
KDF_HKDF_SHA256 = 1
CONVERGENT_VERSION = 3
_CURVES = {KeyType.ECDSA_P256: ec.SECP256R1(), KeyType.ECDSA_P384: ec.SECP384R1()}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _go_time(timestamp: float) -> str:
    return rfc3339(timestamp)


_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def _parse_time(text: Any) -> float:
    """Seconds since the epoch of a Go RFC 3339 time (nanosecond fractions allowed)."""
    found = _TIME.match(text) if isinstance(text, str) else None
    if found is None:
        raise TransitError("invalid backup: bad time value")
    whole, fraction, zone = found.groups()
    stamp = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone))
    return stamp.astimezone(UTC).timestamp() + (float("0." + fraction) if fraction else 0.0)


def _entry(key_type: KeyType, version: KeyVersion, convergent: bool = False) -> dict[str, Any]:
    """One version as Vault's KeyEntry (a convergent key's versions carry their convergent version)."""
    entry: dict[str, Any] = {
        "key": None,
        "hmac_key": _b64(version.hmac_key),
        "time": _go_time(version.creation_time),
        "ec_x": None,
        "ec_y": None,
        "ec_d": None,
        "rsa_key": None,
        "rsa_public_key": None,
        "public_key": version.public_key,
        "convergent_version": CONVERGENT_VERSION if convergent else 0,
        "creation_time": int(version.creation_time),
        "certificate_chain": None,
        "external_key_ref": "",
    }
    if key_type.secret_bytes:
        entry["key"] = _b64(version.key)
        return entry
    if not version.key:
        return _public_entry(entry, keygen.public_key(key_type, version))
    private = keygen.private_key(key_type, version.key)
    if isinstance(private, ed25519.Ed25519PrivateKey):
        public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        entry["key"] = _b64(version.key + public)  # Go's ed25519.PrivateKey: seed || public key
    elif isinstance(private, ec.EllipticCurvePrivateKey):
        ec_numbers = private.private_numbers()
        entry.update(
            ec_x=ec_numbers.public_numbers.x, ec_y=ec_numbers.public_numbers.y, ec_d=ec_numbers.private_value
        )
    else:
        entry["public_key"] = ""  # Vault keeps an RSA key's public form out of the entry
        numbers = private.private_numbers()
        entry["rsa_key"] = {
            "N": numbers.public_numbers.n,
            "E": numbers.public_numbers.e,
            "D": numbers.d,
            "Primes": [numbers.p, numbers.q],
            "Precomputed": {"Dp": numbers.dmp1, "Dq": numbers.dmq1, "Qinv": numbers.iqmp, "CRTValues": []},
        }
    return entry


def _public_entry(entry: dict[str, Any], public: keygen.PublicKey) -> dict[str, Any]:
    """A KeyEntry of a version imported as its public key alone (no private part, as Vault has it)."""
    if isinstance(public, ec.EllipticCurvePublicKey):
        numbers = public.public_numbers()
        entry.update(ec_x=numbers.x, ec_y=numbers.y)
    elif isinstance(public, rsa.RSAPublicKey):
        rsa_numbers = public.public_numbers()
        entry.update(public_key="", rsa_public_key={"N": rsa_numbers.n, "E": rsa_numbers.e})
    return entry


def _empty_entry() -> dict[str, Any]:
    return {
        "key": None,
        "hmac_key": None,
        "time": ZERO_TIME,
        "ec_x": None,
        "ec_y": None,
        "ec_d": None,
        "rsa_key": None,
        "rsa_public_key": None,
        "public_key": "",
        "convergent_version": 0,
        "creation_time": 0,
        "certificate_chain": None,
        "external_key_ref": "",
    }


def _info(info: tuple[float, int] | None) -> dict[str, Any] | None:
    return None if info is None else {"time": _go_time(info[0]), "version": info[1]}


def encode(policy: KeyPolicy) -> str:
    """The backup of `policy` (which already carries the backup_info of this backup)."""
    if not policy.exportable:
        raise TransitError("exporting is disallowed on the policy")
    if not policy.allow_plaintext_backup:
        raise TransitError("plaintext backup is disallowed on the policy")
    if policy.type not in TYPE_NUMBERS:
        # Vault Enterprise numbers its CMAC types privately: a backup here would restore nowhere else.
        raise TransitError(f"backup is not supported for keys of type {policy.type}")
    convergent = policy.convergent_encryption
    live = {
        str(n): _entry(policy.type, v, convergent)
        for n, v in policy.versions.items()
        if n >= policy.min_decryption_version
    }
    archived = [
        _entry(policy.type, policy.versions[n], convergent) if n in policy.versions else _empty_entry()
        for n in range(policy.min_available_version, policy.latest_version + 1)
    ]
    document = {
        "policy": {
            "name": policy.name,
            **({"key_size": policy.key_size} if policy.key_size else {}),
            "keys": live,
            "derived": policy.derived,
            "kdf": KDF_HKDF_SHA256 if policy.derived else 0,
            "convergent_encryption": policy.convergent_encryption,
            "exportable": policy.exportable,
            "min_decryption_version": policy.min_decryption_version,
            "min_encryption_version": policy.min_encryption_version,
            "latest_version": policy.latest_version,
            "archive_version": policy.latest_version,
            "archive_min_version": policy.min_available_version,
            "min_available_version": policy.min_available_version,
            "deletion_allowed": policy.deletion_allowed,
            # Vault marks a convergent key -1 and each of its versions with the convergent version.
            "convergent_version": -1 if convergent else 0,
            "type": TYPE_NUMBERS[policy.type],
            "backup_info": _info(policy.backup_info),
            "restore_info": _info(policy.restore_info),
            "allow_plaintext_backup": policy.allow_plaintext_backup,
            "version_template": "",
            "storage_prefix": "",
            "auto_rotate_period": policy.auto_rotate_period * 1_000_000_000,  # Go's Duration: nanoseconds
            "Imported": policy.imported,
            "AllowImportedKeyRotation": policy.allow_imported_key_rotation,
            "soft_deleted": False,
        },
        "archived_keys": {"keys": archived},
    }
    return base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode("ascii")


def decode(backup: str, name: str, now: float) -> KeyPolicy:
    """The key a backup holds (renamed to `name` when given), marked as restored at `now`."""
    try:
        document = json.loads(base64.b64decode(backup, validate=True))
    except (binascii.Error, ValueError):
        raise TransitError("invalid backup: not base64 of a JSON document") from None
    raw = document.get("policy") if isinstance(document, dict) else None
    if not isinstance(raw, dict):
        raise TransitError("invalid backup: no policy")
    try:
        return _policy(raw, document.get("archived_keys"), name, now)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, TransitError):
            raise
        raise TransitError("invalid backup: malformed policy") from None


def _policy(raw: dict[str, Any], archive: Any, name: str, now: float) -> KeyPolicy:
    key_type = _TYPES_BY_NUMBER.get(raw.get("type", 0))
    if key_type is None:
        raise TransitError(f"invalid backup: key type {raw.get('type')} is not supported here")
    derived = bool(raw.get("derived"))
    if derived and int(raw.get("kdf", 0)) != KDF_HKDF_SHA256:
        raise TransitError("invalid backup: only the hkdf_sha256 key derivation is supported here")
    convergent = bool(raw.get("convergent_encryption"))
    if convergent:
        policy_version = int(raw.get("convergent_version", 0)) or 1
        entries = [*(raw.get("keys") or {}).values(), *((archive or {}).get("keys") or [])]
        used = {int(e.get("convergent_version", 0)) or policy_version for e in entries if e.get("hmac_key")}
        if used != {CONVERGENT_VERSION}:
            raise TransitError("invalid backup: only convergent encryption version 3 is supported here")
    min_available = int(raw.get("min_available_version", 0))
    versions: dict[int, KeyVersion] = {}
    archived = archive.get("keys") if isinstance(archive, dict) else None
    for index, entry in enumerate(archived or []):
        number = index + min_available
        if number >= max(min_available, 1) and entry.get("hmac_key"):
            versions[number] = _version(key_type, entry, derived)
    for number_text, entry in (raw.get("keys") or {}).items():
        versions[int(number_text)] = _version(key_type, entry, derived)
    latest = int(raw["latest_version"])
    if latest not in versions:
        raise TransitError("invalid backup: the latest key version is missing")
    if not (name or raw.get("name")):
        raise TransitError("invalid backup: the key has no name")
    return KeyPolicy(
        name=name or str(raw["name"]),
        type=key_type,
        versions=versions,
        latest_version=latest,
        min_decryption_version=int(raw.get("min_decryption_version", 1)),
        min_encryption_version=int(raw.get("min_encryption_version", 0)),
        min_available_version=min_available,
        derived=derived,
        convergent_encryption=convergent,
        exportable=bool(raw.get("exportable")),
        allow_plaintext_backup=bool(raw.get("allow_plaintext_backup")),
        deletion_allowed=bool(raw.get("deletion_allowed")),
        auto_rotate_period=int(raw.get("auto_rotate_period", 0)) // 1_000_000_000,
        key_size=int(raw.get("key_size", 0)) if key_type is KeyType.HMAC else 0,
        backup_info=_read_info(raw.get("backup_info")),
        restore_info=(now, latest),
        imported=bool(raw.get("Imported")),
        allow_imported_key_rotation=bool(raw.get("AllowImportedKeyRotation")),
    )


def _read_info(raw: Any) -> tuple[float, int] | None:
    if not isinstance(raw, dict):
        return None
    return _parse_time(raw["time"]), int(raw["version"])


def _bytes(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TransitError("invalid backup: key material missing")
    return base64.b64decode(value, validate=True)


def _version(key_type: KeyType, entry: dict[str, Any], derived: bool) -> KeyVersion:
    """A Vault KeyEntry as a KeyVersion (material as keygen stores it)."""
    hmac_key = _bytes(entry["hmac_key"])
    created = _parse_time(entry["time"]) if entry.get("time") else float(entry.get("creation_time", 0))
    if key_type is KeyType.HMAC:
        key = _bytes(entry["key"])
        return KeyVersion(key, key, created)
    if key_type.symmetric:
        return KeyVersion(_bytes(entry["key"]), hmac_key, created)
    private: keygen.PrivateKey
    if entry.get("key") is None and entry.get("ec_d") is None and entry.get("rsa_key") is None:
        return _public_version(key_type, entry, hmac_key, created)
    if key_type is KeyType.ED25519:
        seed = _bytes(entry["key"])[:32]
        public = (
            ""
            if derived
            else keygen.public_form(key_type, ed25519.Ed25519PrivateKey.from_private_bytes(seed))
        )
        return KeyVersion(seed, hmac_key, created, public)
    if key_type.ecdsa:
        public_numbers = ec.EllipticCurvePublicNumbers(
            int(entry["ec_x"]), int(entry["ec_y"]), _CURVES[key_type]
        )
        private = ec.EllipticCurvePrivateNumbers(int(entry["ec_d"]), public_numbers).private_key()
    else:
        numbers = entry["rsa_key"]
        p, q = (int(prime) for prime in numbers["Primes"][:2])
        d = int(numbers["D"])
        private = rsa.RSAPrivateNumbers(
            p=p,
            q=q,
            d=d,
            dmp1=rsa.rsa_crt_dmp1(d, p),
            dmq1=rsa.rsa_crt_dmq1(d, q),
            iqmp=rsa.rsa_crt_iqmp(p, q),
            public_numbers=rsa.RSAPublicNumbers(int(numbers["E"]), int(numbers["N"])),
        ).private_key()
    der = private.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return KeyVersion(der, hmac_key, created, keygen.public_form(key_type, private))


def _public_version(key_type: KeyType, entry: dict[str, Any], hmac_key: bytes, created: float) -> KeyVersion:
    """A KeyEntry without a private part: a version imported as its public key alone."""
    public: keygen.PublicKey
    if key_type is KeyType.ED25519:
        public = ed25519.Ed25519PublicKey.from_public_bytes(_bytes(entry["public_key"]))
    elif key_type.ecdsa:
        curve = _CURVES[key_type]
        public = ec.EllipticCurvePublicNumbers(int(entry["ec_x"]), int(entry["ec_y"]), curve).public_key()
    else:
        numbers = entry["rsa_public_key"]
        public = rsa.RSAPublicNumbers(int(numbers["E"]), int(numbers["N"])).public_key()
    return KeyVersion(b"", hmac_key, created, keygen.public_form(key_type, public))
