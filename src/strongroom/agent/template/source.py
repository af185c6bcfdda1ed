"""The seam between templates and Vault: the `SecretSource` Protocol and the values it yields.

Layer: agent. Imports stdlib and the sibling `values` module only.

The agent plugs in a source built on `strongroom.client` (which maps KV v2 paths); tests plug in one
over dicts. A source returns Vault's response bodies; this module shapes them as consul-template does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from strongroom.agent.template.values import Struct


class SecretSource(Protocol):
    """Where `secret`, `secrets` and `pkiCert` get their data; responses are Vault's JSON bodies."""

    async def read(self, path: str) -> Mapping[str, Any] | None:
        """GET /v1/<path>: the response body, or None when nothing exists there."""
        ...

    async def write(self, path: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """PUT /v1/<path> with `data`: the response body, or None for an empty (204) answer."""
        ...

    async def list(self, path: str) -> list[str]:
        """LIST /v1/<path>: the keys, or an empty list when there are none."""
        ...


@dataclass(frozen=True, slots=True)
class Dependency:
    """One thing a render touched: `kind` is read, write, list or pki; `path` the Vault path."""

    kind: str
    path: str


def _optional_struct(type_name: str, body: object, fields: Mapping[str, str]) -> Struct | None:
    if not isinstance(body, Mapping):
        return None
    return Struct(type_name, {go: body.get(json) for go, json in fields.items()})


def secret_value(response: Mapping[str, Any]) -> Struct:
    """A Vault response as consul-template's `*dependency.Secret` (`.Data`, `.LeaseID`, ...)."""
    auth = _optional_struct(
        "*dependency.SecretAuth",
        response.get("auth"),
        {
            "ClientToken": "client_token",
            "Accessor": "accessor",
            "Policies": "policies",
            "Metadata": "metadata",
            "LeaseDuration": "lease_duration",
            "Renewable": "renewable",
        },
    )
    wrap = _optional_struct(
        "*dependency.SecretWrapInfo",
        response.get("wrap_info"),
        {
            "Token": "token",
            "TTL": "ttl",
            "CreationTime": "creation_time",
            "WrappedAccessor": "wrapped_accessor",
        },
    )
    return Struct(
        "*dependency.Secret",
        {
            "RequestID": response.get("request_id", ""),
            "LeaseID": response.get("lease_id", ""),
            "LeaseDuration": response.get("lease_duration", 0),
            "Renewable": response.get("renewable", False),
            "Data": response.get("data") or {},
            "Warnings": response.get("warnings") or [],
            "Auth": auth,
            "WrapInfo": wrap,
        },
    )


def pem_value(response: Mapping[str, Any]) -> Struct:
    """A PKI issue response as consul-template's `dependency.PemEncoded` (`.Cert`, `.Key`, `.CA`)."""
    data = response.get("data") or {}
    return Struct(
        "dependency.PemEncoded",
        {
            "Cert": data.get("certificate", ""),
            "Key": data.get("private_key", ""),
            "CA": data.get("issuing_ca", ""),
            "CAChain": list(data.get("ca_chain") or []),
        },
    )
