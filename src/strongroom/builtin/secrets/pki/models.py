"""What the pki engine stores. Layer: builtin (pure values; stdlib only).

Storage layout (inside the mount's view):
    role/<name>          Role
    issuer/<id>          Issuer: a CA certificate this mount issues with, and its chain
    key/<id>             KeyEntry: an issuer's private key (or an intermediate's, before it is signed)
    config/issuers       {"default": issuer id}
    config/keys          {"default": key id}
    config/urls          Urls (certs.Urls as JSON)
    certs/<serial>       CertRecord (serial with hyphens), unless the role says no_store
    revoked/<serial>     the revocation time of a revoked certificate
    crl/<issuer id>      the issuer's current CRL (DER, base64) and its number
    crl-delta/<issuer id>  the issuer's delta CRL (DER, base64) and the last revocation it lists
    delta-wal/<serial>   a revocation not yet on a complete CRL (only with auto_rebuild and enable_delta)
    config/crl           CrlConfig

Invariant: private keys live only in `KeyEntry.private_key`, which no repr and no read shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

ROLE_PREFIX = "role/"
ISSUER_PREFIX = "issuer/"
KEY_PREFIX = "key/"
CERT_PREFIX = "certs/"
REVOKED_PREFIX = "revoked/"
CRL_PREFIX = "crl/"
ISSUERS_CONFIG = "config/issuers"
KEYS_CONFIG = "config/keys"
URLS_CONFIG = "config/urls"
CRL_CONFIG = "config/crl"
DELTA_CRL_PREFIX = "crl-delta/"
DELTA_WAL_PREFIX = "delta-wal/"


def storage_serial(serial: str) -> str:
    """A serial as a storage key segment (hyphens; colons are the user-facing form)."""
    return serial.replace(":", "-")


@dataclass(frozen=True, slots=True)
class Role:
    """A role (`role/<name>`): which names it may certify and how the certificates look. TTLs in seconds."""

    name: str
    ttl: int = 0
    max_ttl: int = 0
    allow_localhost: bool = True
    allowed_domains: tuple[str, ...] = ()
    allowed_domains_template: bool = False
    allow_bare_domains: bool = False
    allow_subdomains: bool = False
    allow_glob_domains: bool = False
    allow_wildcard_certificates: bool = True
    allow_any_name: bool = False
    enforce_hostnames: bool = True
    allow_ip_sans: bool = True
    allowed_uri_sans: tuple[str, ...] = ()
    allowed_uri_sans_template: bool = False
    allowed_other_sans: tuple[str, ...] = ()
    allowed_serial_numbers: tuple[str, ...] = ()
    allowed_user_ids: tuple[str, ...] = ()
    allowed_ip_sans_cidr: tuple[str, ...] = ()
    allow_token_displayname: bool = False
    allow_globs_in_identity_templates: bool = False
    server_flag: bool = True
    client_flag: bool = True
    code_signing_flag: bool = False
    email_protection_flag: bool = False
    key_type: str = "rsa"
    key_bits: int = 2048
    signature_bits: int = 0
    use_pss: bool = False
    key_usage: tuple[str, ...] = ("DigitalSignature", "KeyAgreement", "KeyEncipherment")
    ext_key_usage: tuple[str, ...] = ()
    ext_key_usage_oids: tuple[str, ...] = ()
    use_csr_common_name: bool = True
    use_csr_sans: bool = True
    ou: tuple[str, ...] = ()
    organization: tuple[str, ...] = ()
    country: tuple[str, ...] = ()
    locality: tuple[str, ...] = ()
    province: tuple[str, ...] = ()
    street_address: tuple[str, ...] = ()
    postal_code: tuple[str, ...] = ()
    generate_lease: bool = False
    no_store: bool = False
    require_cn: bool = True
    cn_validations: tuple[str, ...] = ("email", "hostname")
    policy_identifiers: tuple[str, ...] = ()
    basic_constraints_valid_for_non_ca: bool = False
    not_before_duration: int = 30
    not_after: str = ""
    not_after_bound: str = "permit"
    not_before: str = ""
    not_before_bound: str = "permit"
    issuer_ref: str = "default"

    def read_data(self) -> dict[str, Any]:
        """The role as a read shows it: every setting, lists as lists, sorted by name."""
        record = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        del record["name"]
        return dict(sorted(record.items()))

    def subject_extra(self) -> dict[str, tuple[str, ...]]:
        """The subject fields the role adds to every certificate."""
        names = ("country", "province", "locality", "street_address", "postal_code", "organization", "ou")
        return {name: getattr(self, name) for name in names if getattr(self, name)}

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Role:
        known = {f.name: f.default for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(known[k], tuple) else v for k, v in raw.items() if k in known
        }
        return cls(**values)


ROLE_SETTINGS: tuple[str, ...] = tuple(f.name for f in fields(Role) if f.name != "name")
"""The names of a role's settings, in declaration order."""


ISSUER_USAGES = ("crl-signing", "issuing-certificates", "ocsp-signing", "read-only")
"""Vault's issuer usages, in the order Vault names them (sorted)."""
LEAF_NOT_AFTER_BEHAVIORS = ("err", "truncate", "permit")


@dataclass(frozen=True, slots=True)
class Issuer:
    """A CA certificate of this mount (`issuer/<id>`); `ca_chain` starts with the certificate itself.

    `manual_chain` holds issuer ids (the first is the issuer itself) when the chain was set by hand; the
    three URL lists are the issuer's own AIA settings, used instead of config/urls when any is set."""

    id: str
    name: str
    key_id: str
    certificate: str
    ca_chain: tuple[str, ...]
    leaf_not_after_behavior: str = "err"
    usage: tuple[str, ...] = ISSUER_USAGES
    revocation_signature_algorithm: str = ""
    manual_chain: tuple[str, ...] = ()
    issuing_certificates: tuple[str, ...] = ()
    crl_distribution_points: tuple[str, ...] = ()
    ocsp_servers: tuple[str, ...] = ()
    revoked: bool = False
    revocation_time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Issuer:
        known = {f.name: f.default for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in raw.items() if k in known
        }
        return cls(**values)


@dataclass(frozen=True, slots=True)
class KeyEntry:
    """A private key of this mount (`key/<id>`), PKCS#8 PEM."""

    id: str
    name: str
    type: str
    private_key: str = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> KeyEntry:
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class CertRecord:
    """An issued certificate (`certs/<serial>`): PEM, its issuer, its expiry, its revocation (0: none)."""

    serial: str
    certificate: str
    issuer_id: str
    not_after: float
    revocation_time: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CertRecord:
        return cls(**raw)


@dataclass(frozen=True, slots=True)
class CrlConfig:
    """config/crl: how CRLs and OCSP answers are built. Durations are kept as written (Vault's strings)."""

    expiry: str = "72h"
    disable: bool = False
    ocsp_disable: bool = False
    ocsp_expiry: str = "12h"
    auto_rebuild: bool = False
    auto_rebuild_grace_period: str = "12h"
    enable_delta: bool = False
    delta_rebuild_interval: str = "15m"
    allow_expired_cert_revocation: bool = False

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> CrlConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in known})
