"""What the kubernetes auth method stores: its config (where the API server is, how to reach it) and its roles
(which service accounts may log in, what token they get). JSON under "config" and "role/<name>", in Vault's
field names.

Layer: builtin. Imports framework's tokenutil (TokenSettings) and logical's storage helpers.
Invariant: token_reviewer_jwt is stored (behind the barrier) but a read shows only whether it is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from strongroom.framework.tokenutil import TokenSettings
from strongroom.logical import Storage, get_json, put_json

CONFIG_KEY = "config"
ROLE_PREFIX = "role/"

ALIAS_SOURCE_UID = "serviceaccount_uid"
ALIAS_SOURCE_NAME = "serviceaccount_name"
ALIAS_SOURCES = (ALIAS_SOURCE_UID, ALIAS_SOURCE_NAME)

LEGACY_DURATIONS = ("ttl", "max_ttl", "period")
"""The deprecated role fields that Vault still accepts and shows next to their token_* replacements."""


@dataclass(frozen=True, slots=True)
class KubernetesConfig:
    """Where the Kubernetes API server is and how to talk to it, plus optional local JWT checks."""

    kubernetes_host: str
    kubernetes_ca_cert: str = ""
    token_reviewer_jwt: str = ""
    pem_keys: tuple[str, ...] = ()
    issuer: str = ""
    disable_iss_validation: bool = True
    disable_local_ca_jwt: bool = False

    def view(self) -> dict[str, Any]:
        """The config as a read shows it: the reviewer JWT only as whether it is set."""
        return {
            "disable_iss_validation": self.disable_iss_validation,
            "disable_local_ca_jwt": self.disable_local_ca_jwt,
            "issuer": self.issuer,
            "kubernetes_ca_cert": self.kubernetes_ca_cert,
            "kubernetes_host": self.kubernetes_host,
            "pem_keys": list(self.pem_keys),
            "token_reviewer_jwt_set": bool(self.token_reviewer_jwt),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.view(), "pem_keys": list(self.pem_keys), "token_reviewer_jwt": self.token_reviewer_jwt}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> KubernetesConfig:
        return cls(
            kubernetes_host=record["kubernetes_host"],
            kubernetes_ca_cert=record.get("kubernetes_ca_cert", ""),
            token_reviewer_jwt=record.get("token_reviewer_jwt", ""),
            pem_keys=tuple(record.get("pem_keys", ())),
            issuer=record.get("issuer", ""),
            disable_iss_validation=record.get("disable_iss_validation", True),
            disable_local_ca_jwt=record.get("disable_local_ca_jwt", False),
        )


@dataclass(frozen=True, slots=True)
class KubernetesRole:
    """Which service accounts (names and namespaces, globs allowed; or a namespace label selector) may log
    in, the audience their JWT must carry, and the token settings a login gets.

    bound_service_account_namespaces is None until set, which a read shows as null, as Vault does.
    """

    bound_service_account_names: tuple[str, ...] = ()
    bound_service_account_namespaces: tuple[str, ...] | None = None
    bound_service_account_namespace_selector: str = ""
    audience: str = ""
    alias_name_source: str = ALIAS_SOURCE_UID
    token: TokenSettings = field(default_factory=TokenSettings)
    # The deprecated fields, kept only while a client sets them (shown by a read beside token_*).
    policies: tuple[str, ...] = ()
    legacy: Mapping[str, int] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        """The role as a read shows it."""
        namespaces = self.bound_service_account_namespaces
        data: dict[str, Any] = {
            "alias_name_source": self.alias_name_source,
            "bound_service_account_names": list(self.bound_service_account_names),
            "bound_service_account_namespace_selector": self.bound_service_account_namespace_selector,
            "bound_service_account_namespaces": None if namespaces is None else list(namespaces),
            **self.token.response_fields(),
            "token_strictly_bind_ip": False,
        }
        if self.audience:
            data["audience"] = self.audience
        if self.policies:
            data["policies"] = data["token_policies"]
        data.update({name: value for name, value in self.legacy.items() if value > 0})
        return data

    def to_json(self) -> dict[str, Any]:
        namespaces = self.bound_service_account_namespaces
        return {
            "bound_service_account_names": list(self.bound_service_account_names),
            "bound_service_account_namespaces": None if namespaces is None else list(namespaces),
            "bound_service_account_namespace_selector": self.bound_service_account_namespace_selector,
            "audience": self.audience,
            "alias_name_source": self.alias_name_source,
            "token": self.token.to_json(),
            "policies": list(self.policies),
            "legacy": dict(self.legacy),
        }

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> KubernetesRole:
        namespaces = record.get("bound_service_account_namespaces")
        return cls(
            bound_service_account_names=tuple(record.get("bound_service_account_names", ())),
            bound_service_account_namespaces=None if namespaces is None else tuple(namespaces),
            bound_service_account_namespace_selector=record.get(
                "bound_service_account_namespace_selector", ""
            ),
            audience=record.get("audience", ""),
            alias_name_source=record.get("alias_name_source", ALIAS_SOURCE_UID),
            token=TokenSettings.from_json(record.get("token", {})),
            policies=tuple(record.get("policies", ())),
            legacy=dict(record.get("legacy", {})),
        )


async def load_config(storage: Storage) -> KubernetesConfig | None:
    record = await get_json(storage, CONFIG_KEY)
    return None if record is None else KubernetesConfig.from_json(record)


async def save_config(storage: Storage, config: KubernetesConfig) -> None:
    await put_json(storage, CONFIG_KEY, config.to_json())


async def load_role(storage: Storage, name: str) -> KubernetesRole | None:
    record = await get_json(storage, ROLE_PREFIX + name)
    return None if record is None else KubernetesRole.from_json(record)


async def save_role(storage: Storage, name: str, role: KubernetesRole) -> None:
    await put_json(storage, ROLE_PREFIX + name, role.to_json())
