"""Reading a service-account JWT's claims, and the pure checks a role makes on them: names and namespaces
(go-glob patterns, "*" alone meaning any) and a namespace label selector given as YAML or JSON.

Layer: builtin, pure domain logic: PyYAML and the jwt package's glob matcher; no framework, no network.
Both claim layouts are read: the legacy secret-based token (flat "kubernetes.io/serviceaccount/..." claims)
and the projected token (a nested "kubernetes.io" object), the projected one winning when present.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from strongroom.builtin.auth.jwt.claims import glob_match

_LEGACY = "kubernetes.io/serviceaccount/"


class SelectorError(ValueError):
    """A namespace selector that is not a label selector with matchLabels only."""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class ServiceAccount:
    """Who a service-account JWT says it is."""

    name: str
    namespace: str
    uid: str
    secret_name: str
    audiences: tuple[str, ...]

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> ServiceAccount:
        name = _text(claims.get(_LEGACY + "service-account.name"))
        uid = _text(claims.get(_LEGACY + "service-account.uid"))
        namespace = _text(claims.get(_LEGACY + "namespace"))
        projected = claims.get("kubernetes.io")
        if isinstance(projected, Mapping):
            namespace = _text(projected.get("namespace"))
            account = projected.get("serviceaccount")
            if isinstance(account, Mapping):
                name, uid = _text(account.get("name")), _text(account.get("uid"))
        aud = claims.get("aud")
        audiences = (aud,) if isinstance(aud, str) else tuple(a for a in aud or () if isinstance(a, str))
        return cls(
            name=name,
            namespace=namespace,
            uid=uid,
            secret_name=_text(claims.get(_LEGACY + "secret.name")),
            audiences=audiences,
        )

    def metadata(self) -> dict[str, str]:
        """What a login's alias and token metadata say about the account (Vault's keys)."""
        return {
            "service_account_uid": self.uid,
            "service_account_name": self.name,
            "service_account_namespace": self.namespace,
            "service_account_secret_name": self.secret_name,
        }


def matches_any(patterns: tuple[str, ...], value: str) -> bool:
    """Vault's StrListContainsGlob, with a lone "*" matching anything."""
    return patterns == ("*",) or any(glob_match(pattern, value) for pattern in patterns)


def parse_selector(text: str) -> dict[str, str]:
    """The matchLabels of a namespace selector (YAML or JSON), or SelectorError.

    As Vault: unknown keys are ignored, and matchExpressions are refused.
    """
    if not text:
        raise SelectorError("namespace selector is empty")
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        raise SelectorError("not YAML or JSON") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise SelectorError("not an object")
    if "matchExpressions" in document:
        raise SelectorError("label selector match expressions are not supported")
    labels = document.get("matchLabels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise SelectorError("matchLabels must map strings to strings")
    return labels


def selector_matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """A label selector of matchLabels matches when every label it names has its value."""
    return all(labels.get(key) == value for key, value in selector.items())
