"""What the cert auth method stores: its trusted certificates ("cert/<name>") and its config ("config"),
JSON in Vault's field names.

Layer: builtin. Imports framework's tokenutil (TokenSettings) and logical's storage helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from strongroom.framework.tokenutil import TokenSettings
from strongroom.logical import Storage, get_json, put_json

CERT_PREFIX = "cert/"
CONFIG_KEY = "config"

CONSTRAINTS = (
    "allowed_names",
    "allowed_common_names",
    "allowed_dns_sans",
    "allowed_email_sans",
    "allowed_uri_sans",
    "allowed_organizational_units",
    "required_extensions",
    "allowed_metadata_extensions",
)
LEGACY = ("ttl", "max_ttl", "period")
"""The deprecated duration fields Vault still accepts and shows beside their token_* names."""


@dataclass(frozen=True, slots=True)
class CertEntry:
    """One trusted certificate (a CA, or a client certificate trusted as itself) and what its logins get."""

    name: str
    certificate: str = ""
    display_name: str = ""
    allowed_names: tuple[str, ...] = ()
    allowed_common_names: tuple[str, ...] = ()
    allowed_dns_sans: tuple[str, ...] = ()
    allowed_email_sans: tuple[str, ...] = ()
    allowed_uri_sans: tuple[str, ...] = ()
    allowed_organizational_units: tuple[str, ...] = ()
    required_extensions: tuple[str, ...] = ()
    allowed_metadata_extensions: tuple[str, ...] = ()
    token: TokenSettings = field(default_factory=TokenSettings)
    policies: tuple[str, ...] = ()  # the legacy "policies", shown while set
    legacy: Mapping[str, int] = field(default_factory=dict)  # legacy durations, shown while set

    def view(self) -> dict[str, Any]:
        """The entry as a read shows it (Vault's pathCertRead)."""
        data: dict[str, Any] = {
            "certificate": self.certificate,
            "display_name": self.display_name,
            **{name: list(getattr(self, name)) for name in CONSTRAINTS},
            "ocsp_ca_certificates": "",
            "ocsp_enabled": False,
            "ocsp_servers_override": [],
            "ocsp_fail_open": False,
            "ocsp_query_all_servers": False,
            **self.token.response_fields(),
            "token_strictly_bind_ip": False,
        }
        data.update({name: value for name, value in self.legacy.items() if value})
        if self.policies:
            data["policies"] = list(self.token.policies)
        return data

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["legacy"] = dict(self.legacy)
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> CertEntry:
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in cls.__slots__
        }
        values["token"] = TokenSettings.from_json(record.get("token") or {})
        values["legacy"] = dict(record.get("legacy") or {})
        return cls(**values)


@dataclass(frozen=True, slots=True)
class CertConfig:
    """The mount's config: whether renewals must present the login's certificate again, and whether the
    entity alias carries the login's metadata."""

    disable_binding: bool = False
    enable_identity_alias_metadata: bool = False
    ocsp_cache_size: int = 0  # OpenBao shows 0 until one is written, though it uses 100

    def view(self) -> dict[str, Any]:
        return asdict(self)


async def load_cert(storage: Storage, name: str) -> CertEntry | None:
    record = await get_json(storage, CERT_PREFIX + name.lower())
    return None if record is None else CertEntry.from_json(record)


async def save_cert(storage: Storage, entry: CertEntry) -> None:
    await put_json(storage, CERT_PREFIX + entry.name, entry.to_json())


async def load_config(storage: Storage) -> CertConfig:
    record = await get_json(storage, CONFIG_KEY)
    return CertConfig() if record is None else CertConfig(**record)


async def save_config(storage: Storage, config: CertConfig) -> None:
    await put_json(storage, CONFIG_KEY, config.view())
