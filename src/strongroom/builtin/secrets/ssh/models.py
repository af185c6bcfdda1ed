"""What the SSH engine stores: the CA (Vault's default issuer) and the roles.

Layer: builtin (pure values; stdlib only). Durations are whole seconds.
Storage layout (inside the mount's view, so the barrier encrypts every byte of it):
    config/ca      CaIssuer as JSON (the CA's private key inside, never outside this record)
    roles/<name>   SshRole as JSON

Invariant: the CA private key appears in no repr (repr=False) and in no answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

CA_PATH = "config/ca"
ROLE_PREFIX = "roles/"


@dataclass(frozen=True, slots=True)
class CaIssuer:
    """The signing key pair: its id (Vault's issuer_id), public authorized_keys line and private PEM."""

    issuer_id: str
    public_key: str
    private_key: str = field(repr=False)
    generated: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "issuer_id": self.issuer_id,
            "public_key": self.public_key,
            "private_key": self.private_key,
            "generated": self.generated,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CaIssuer:
        return cls(
            issuer_id=str(raw["issuer_id"]),
            public_key=str(raw["public_key"]),
            private_key=str(raw["private_key"]),
            generated=bool(raw.get("generated", False)),
        )


@dataclass(frozen=True, slots=True)
class SshRole:
    """A CA role: which certificates `sign/<role>` and `issue/<role>` may make. Field names are Vault's."""

    allowed_users: str = ""
    allowed_users_template: bool = False
    allowed_domains: str = ""
    allowed_domains_template: bool = False
    default_user: str = ""
    default_user_template: bool = False
    ttl: int = 0
    max_ttl: int = 0
    allowed_critical_options: str = ""
    allowed_extensions: str = ""
    allow_user_certificates: bool = False
    allow_host_certificates: bool = False
    allow_bare_domains: bool = False
    allow_subdomains: bool = False
    allow_user_key_ids: bool = False
    allow_commas_in_identity_templates: bool = False
    allow_wildcards_in_identity_templates: bool = False
    allow_empty_principals: bool = False
    key_id_format: str = ""
    key_type: str = "ca"
    default_critical_options: Mapping[str, str] = field(default_factory=dict)
    default_extensions: Mapping[str, str] = field(default_factory=dict)
    default_extensions_template: bool = False
    allowed_user_key_lengths: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    algorithm_signer: str = "default"
    not_before_duration: int = 30
    issuer_ref: str = "default"

    def to_json(self) -> dict[str, Any]:
        """The stored form, which is also the body of a role read (Vault's field names and order)."""
        view = {f.name: getattr(self, f.name) for f in fields(self)}
        view["default_critical_options"] = dict(self.default_critical_options)
        view["default_extensions"] = dict(self.default_extensions)
        view["allowed_user_key_lengths"] = {k: list(v) for k, v in self.allowed_user_key_lengths.items()}
        return view

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> SshRole:
        values = {f.name: raw[f.name] for f in fields(cls) if f.name in raw}
        values["allowed_user_key_lengths"] = {
            k: tuple(v) for k, v in dict(raw.get("allowed_user_key_lengths", {})).items()
        }
        return cls(**values)


ROLE_SETTINGS = tuple(f.name for f in fields(SshRole))
