"""What the ACME server stores. Layer: builtin (pure values; stdlib only).

Storage layout (inside the pki mount's view, OpenBao's keys):
    config/acme                                  AcmeConfig
    config/cluster                               ClusterConfig
    acme/accounts/<kid>                          Account
    acme/account-thumbprints/<thumbprint>        {"kid": ...}: the account a key owns
    acme/accounts/<kid>/orders/<id>              Order
    acme/accounts/<kid>/authorizations/<id>      Authorization
    acme/accounts/<kid>/certs/<serial>           {"order": ...}: what the account may revoke
    acme/eab/<id>                                Eab (until an account consumes it)
    acme/validations/<id>                        Validation (a challenge check under way)

Invariant: an EAB's HMAC key lives only in `Eab.key`, which no repr shows; only eab creation returns it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

CONFIG = "config/acme"
CLUSTER = "config/cluster"
ACCOUNTS = "acme/accounts/"
THUMBPRINTS = "acme/account-thumbprints/"
EABS = "acme/eab/"
VALIDATIONS = "acme/validations/"

POLICIES = ("not-required", "new-account-required", "always-required")


@dataclass(frozen=True, slots=True)
class AcmeConfig:
    """config/acme: OpenBao's defaults (ACME off; any issuer and role; sign-verbatim; no EAB)."""

    enabled: bool = False
    allowed_issuers: tuple[str, ...] = ("*",)
    allowed_roles: tuple[str, ...] = ("*",)
    allow_role_ext_key_usage: bool = False
    default_directory_policy: str = "sign-verbatim"
    dns_resolver: str = ""
    eab_policy: str = "not-required"

    def read_data(self) -> dict[str, Any]:
        return {
            "allow_role_ext_key_usage": self.allow_role_ext_key_usage,
            "allowed_issuers": list(self.allowed_issuers),
            "allowed_roles": list(self.allowed_roles),
            "default_directory_policy": self.default_directory_policy,
            "dns_resolver": self.dns_resolver,
            "eab_policy": self.eab_policy,
            "enabled": self.enabled,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AcmeConfig:
        values = dict(raw)
        values["allowed_issuers"] = tuple(values.get("allowed_issuers", ("*",)))
        values["allowed_roles"] = tuple(values.get("allowed_roles", ("*",)))
        return cls(**values)

    @property
    def eab_required_for_new(self) -> bool:
        return self.eab_policy in ("new-account-required", "always-required")


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """config/cluster: this mount's URL as clients reach it; ACME builds every URL from `path`."""

    path: str = ""
    aia_path: str = ""


@dataclass(frozen=True, slots=True)
class Account:
    """An ACME account, keyed by a random id (`kid`), owned by the key `jwk`, bound to one directory."""

    kid: str
    jwk: Mapping[str, Any]
    directory: str
    status: str = "valid"
    contact: tuple[str, ...] = ()
    terms_of_service_agreed: bool = False
    created: float = 0.0
    eab_id: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Account:
        return cls(**{**raw, "contact": tuple(raw["contact"])})


@dataclass(frozen=True, slots=True)
class Identifier:
    """An order's identifier: `value` is the name challenged (a wildcard's base domain), `original` the
    name asked for."""

    type: str
    value: str
    original: str
    wildcard: bool = False


@dataclass(frozen=True, slots=True)
class Challenge:
    type: str
    token: str
    status: str = "pending"
    validated: str = ""
    error: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Authorization:
    id: str
    account: str
    identifier: Identifier
    challenges: tuple[Challenge, ...]
    status: str = "pending"
    expires: str = ""

    def challenge(self, kind: str) -> Challenge | None:
        return next((c for c in self.challenges if c.type == kind), None)

    def with_challenge(self, updated: Challenge) -> Authorization:
        return replace(
            self, challenges=tuple(updated if c.type == updated.type else c for c in self.challenges)
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Authorization:
        return cls(
            **{
                **raw,
                "identifier": Identifier(**raw["identifier"]),
                "challenges": tuple(Challenge(**c) for c in raw["challenges"]),
            }
        )


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    account: str
    identifiers: tuple[Identifier, ...]
    authorizations: tuple[str, ...]
    expires: float
    status: str = "pending"
    serial: str = ""
    issuer_id: str = ""
    cert_expiry: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Order:
        return cls(
            **{
                **raw,
                "identifiers": tuple(Identifier(**i) for i in raw["identifiers"]),
                "authorizations": tuple(raw["authorizations"]),
            }
        )


@dataclass(frozen=True, slots=True)
class Eab:
    """An external account binding: an HMAC key an operator hands to one client, for one directory."""

    id: str
    key: bytes = field(repr=False)
    directory: str
    created: float
    key_type: str = "hs"


@dataclass(frozen=True, slots=True)
class Validation:
    """A challenge check under way, kept so that a restarted server carries on with it."""

    id: str
    account: str
    authz: str
    kind: str
    thumbprint: str
    resolver: str = ""
