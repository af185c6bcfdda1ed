"""What the jwt auth method stores: its config (where the keys come from, what the issuer must be) and its
roles (what a token must assert, what the login's token gets). Stored as JSON under "config" and
"role/<name>", in Vault's field names.

Layer: builtin. Imports framework's tokenutil (TokenSettings) and logical's storage helpers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from strongroom.framework.tokenutil import TokenSettings
from strongroom.logical import Storage, get_json, put_json

CONFIG_KEY = "config"
ROLE_PREFIX = "role/"


@dataclass(frozen=True, slots=True)
class JWTConfig:
    """The mount's configuration: exactly one key source, plus issuer, default role and algorithms."""

    oidc_discovery_url: str = ""
    oidc_discovery_ca_pem: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = field(default="", repr=False)
    jwks_url: str = ""
    jwks_ca_pem: str = ""
    jwt_validation_pubkeys: tuple[str, ...] = ()
    jwt_supported_algs: tuple[str, ...] = ()
    bound_issuer: str = ""
    default_role: str = ""
    oidc_response_mode: str = ""
    oidc_response_types: tuple[str, ...] = ()
    namespace_in_state: bool = True
    provider_config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def oidc_flow(self) -> bool:
        """Vault's OIDCFlow auth type: a discovery URL and a client ID (browser logins are possible)."""
        return bool(self.oidc_discovery_url and self.oidc_client_id)

    def view(self) -> dict[str, Any]:
        """The config as a read shows it (without the "status" the path adds)."""
        return {
            "bound_issuer": self.bound_issuer,
            "default_role": self.default_role,
            "jwks_ca_pem": self.jwks_ca_pem,
            "jwks_url": self.jwks_url,
            "jwt_supported_algs": list(self.jwt_supported_algs),
            "jwt_validation_pubkeys": list(self.jwt_validation_pubkeys),
            "namespace_in_state": self.namespace_in_state,
            "oidc_client_id": self.oidc_client_id,
            "oidc_discovery_ca_pem": self.oidc_discovery_ca_pem,
            "oidc_discovery_url": self.oidc_discovery_url,
            "oidc_response_mode": self.oidc_response_mode,
            "oidc_response_types": list(self.oidc_response_types),
            "override_allowed_server_names": [],
            "provider_config": dict(self.provider_config),
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> JWTConfig:
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in names
        }
        return cls(**values)


@dataclass(frozen=True, slots=True)
class JWTRole:
    """A role: the bindings a token must satisfy and the token settings its logins get.

    Lists and maps that were never set are None, which a read shows as null (Go's nil slice), as Vault does.
    """

    user_claim: str
    role_type: str = "jwt"
    token: TokenSettings = field(default_factory=TokenSettings)
    expiration_leeway: int = 0
    not_before_leeway: int = 0
    clock_skew_leeway: int = 0
    bound_audiences: tuple[str, ...] | None = None
    bound_subject: str = ""
    bound_claims_type: str = "string"
    bound_claims: Mapping[str, Any] | None = None
    claim_mappings: Mapping[str, str] | None = None
    user_claim_json_pointer: bool = False
    groups_claim: str = ""
    oauth2_metadata: tuple[str, ...] | None = None
    oidc_scopes: tuple[str, ...] | None = None
    allowed_redirect_uris: tuple[str, ...] | None = None
    callback_mode: str = "client"
    poll_interval: int = 0
    verbose_oidc_logging: bool = False
    oidc_disable_confirmation: bool = False
    max_age: int = 0
    # The legacy "policies" field, kept only while a client sets it (framework.tokenutil.upgrade_policies).
    policies: tuple[str, ...] = ()

    def view(self) -> dict[str, Any]:
        """The role as a read shows it."""

        def listed(value: tuple[str, ...] | None) -> list[str] | None:
            return None if value is None else list(value)

        data: dict[str, Any] = {
            "allowed_redirect_uris": listed(self.allowed_redirect_uris),
            "bound_audiences": listed(self.bound_audiences),
            "bound_claims": None if self.bound_claims is None else dict(self.bound_claims),
            "bound_claims_type": self.bound_claims_type,
            "bound_subject": self.bound_subject,
            "callback_mode": self.callback_mode,
            "claim_mappings": None if self.claim_mappings is None else dict(self.claim_mappings),
            "clock_skew_leeway": self.clock_skew_leeway,
            "expiration_leeway": self.expiration_leeway,
            "groups_claim": self.groups_claim,
            "max_age": self.max_age,
            "not_before_leeway": self.not_before_leeway,
            "oauth2_metadata": listed(self.oauth2_metadata),
            "oidc_disable_confirmation": self.oidc_disable_confirmation,
            "oidc_scopes": listed(self.oidc_scopes),
            "role_type": self.role_type,
            "token_policies_template_claims": False,
            "user_claim": self.user_claim,
            "user_claim_json_pointer": self.user_claim_json_pointer,
            "verbose_oidc_logging": self.verbose_oidc_logging,
            **self.token.response_fields(),
        }
        if self.poll_interval > 0:
            data["poll_interval"] = self.poll_interval
        if self.policies:
            data["policies"] = data["token_policies"]
        return data

    def to_json(self) -> dict[str, Any]:
        record = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "token"}
        record = {k: list(v) if isinstance(v, tuple) else v for k, v in record.items()}
        record["token"] = self.token.to_json()
        return record

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> JWTRole:
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in record.items()
            if k in names and k != "token"
        }
        return cls(token=TokenSettings.from_json(record.get("token", {})), **values)


async def load_config(storage: Storage) -> JWTConfig | None:
    record = await get_json(storage, CONFIG_KEY)
    return None if record is None else JWTConfig.from_json(record)


async def save_config(storage: Storage, config: JWTConfig) -> None:
    await put_json(storage, CONFIG_KEY, config.to_json())


async def load_role(storage: Storage, name: str) -> JWTRole | None:
    record = await get_json(storage, ROLE_PREFIX + name)
    return None if record is None else JWTRole.from_json(record)


async def save_role(storage: Storage, name: str, role: JWTRole) -> None:
    await put_json(storage, ROLE_PREFIX + name, role.to_json())
