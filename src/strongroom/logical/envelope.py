"""Vault's response envelope: the JSON body of a Response, as the http layer sends it and as response
wrapping stores it for a later unwrap (so the unwrapped body is byte for byte what the client would have got).

Layer: logical. Imports logical.response only.
"""

from __future__ import annotations

from typing import Any

from strongroom.logical.response import Auth, Response


def render_auth(auth: Auth) -> dict[str, Any]:
    """The "auth" block of a login or token-create response."""
    rendered: dict[str, Any] = {
        "client_token": auth.client_token,
        "accessor": auth.accessor,
        "policies": list(auth.policies) or None,
        "token_policies": list(auth.token_policies) or None,
    }
    if auth.identity_policies:
        rendered["identity_policies"] = list(auth.identity_policies)
    return rendered | {
        "metadata": dict(auth.metadata) or None,
        "lease_duration": auth.lease.ttl,
        "renewable": auth.lease.renewable,
        "entity_id": auth.entity_id,
        "token_type": auth.token_type,
        "orphan": auth.orphan,
        "mfa_requirement": None,
        "num_uses": auth.num_uses,
    }


def envelope(response: Response, request_id: str) -> dict[str, Any]:
    """The body Vault sends for `response` (not for a raw_body response, which is sent as it is).

    A wrapped response carries an empty request_id, as Vault's does: the request's ID stays with the wrapped
    body, which is what an unwrap returns.
    """
    body: dict[str, Any] = dict(response.data or {}) if response.legacy_top_level else {}
    body |= {
        "request_id": "" if response.wrap_info is not None else request_id,
        "lease_id": response.lease_id,
        "renewable": response.renewable,
        "lease_duration": response.lease_duration,
        "data": None if response.data is None else dict(response.data),
        "wrap_info": None if response.wrap_info is None else dict(response.wrap_info),
        "warnings": list(response.warnings) or None,
        "auth": None if response.auth is None else render_auth(response.auth),
    }
    return body
