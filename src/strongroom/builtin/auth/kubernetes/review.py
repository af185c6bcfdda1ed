"""The Kubernetes API calls a login makes: a TokenReview (POST /apis/authentication.k8s.io/v1/tokenreviews)
that asks the API server whether a JWT is still valid and whose it is, and a namespace read for roles bound
by a namespace label selector.

Layer: builtin. Imports httpx and the package's accounts module; no framework.
Invariant: TLS to the API server trusts only the configured (or pod-local) CA: with none, nothing verifies,
as in Vault, rather than falling back to the system roots.
Invariant: error messages name the host and the API's answer, never the JWT under review or the bearer.
"""

from __future__ import annotations

import contextlib
import ssl
from dataclasses import dataclass
from typing import Any

import httpx

from strongroom.builtin.auth.kubernetes.accounts import ServiceAccount

TIMEOUT = 10.0
REVIEW_PATH = "/apis/authentication.k8s.io/v1/tokenreviews"


class ReviewError(Exception):
    """The API server did not vouch for the token (or could not be asked); the message is safe to log."""


@dataclass(frozen=True, slots=True)
class Reviewed:
    """Who the API server says a token belongs to."""

    name: str
    namespace: str
    uid: str


def tls_context(ca_pem: str) -> ssl.SSLContext:
    """Verification against `ca_pem` only; an unreadable or empty CA trusts nothing."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_pem:
        # As Vault: a CA that does not parse is logged there and fails every handshake here.
        with contextlib.suppress(ssl.SSLError, ValueError, TypeError):  # TypeError: cadata not ASCII
            context.load_verify_locations(cadata=ca_pem)
    return context


class KubernetesAPI:
    """One API server, reached over TLS with `ca_pem`, as `bearer` (the reviewer JWT, or the login's JWT)."""

    def __init__(self, host: str, ca_pem: str) -> None:
        self._base = host.rstrip("/")
        self._verify = tls_context(ca_pem)

    async def _send(self, method: str, path: str, bearer: str, body: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
        try:
            async with httpx.AsyncClient(verify=self._verify, timeout=TIMEOUT) as client:
                return await client.request(method, self._base + path, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ReviewError(f"{method} {self._base}{path}: {type(exc).__name__}") from None

    async def review(self, token: str, audiences: tuple[str, ...], bearer: str) -> Reviewed:
        """The account the API server says `token` is, with Vault's checks and error texts."""
        request = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token, **({"audiences": list(audiences)} if audiences else {})},
        }
        response = await self._send("POST", REVIEW_PATH, bearer, request)
        if response.status_code == 401:
            raise ReviewError(
                "lookup failed: service account unauthorized; this could mean it has been deleted or "
                "recreated with a new token"
            )
        if not 200 <= response.status_code <= 206:
            raise ReviewError(f"lookup failed: the API server answered {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise ReviewError("lookup failed: the answer is not JSON") from None
        status = document.get("status") if isinstance(document, dict) else None
        if not isinstance(status, dict):
            # A metav1.Status failure object carries its status as a string.
            raise ReviewError("lookup failed: the API server refused the review")
        if status.get("error"):
            raise ReviewError(f"lookup failed: {status['error']}")
        if status.get("authenticated") is not True:
            raise ReviewError("lookup failed: service account jwt not valid")
        granted = status.get("audiences") or []
        if audiences and not any(aud in granted for aud in audiences):
            raise ReviewError(
                f"lookup failed: service account jwt valid for audience(s) {granted}, but wanted "
                f"{list(audiences)}"
            )
        user = status.get("user") or {}
        parts = str(user.get("username", "")).split(":")
        if len(parts) != 4:
            raise ReviewError("lookup failed: unexpected username format")
        if parts[:2] != ["system", "serviceaccount"]:
            raise ReviewError("lookup failed: username returned is not a service account")
        return Reviewed(name=parts[3], namespace=parts[2], uid=str(user.get("uid", "")))

    async def namespace_labels(self, namespace: str, bearer: str) -> dict[str, str]:
        """The labels of `namespace` (GET /api/v1/namespaces/<namespace>)."""
        if not bearer:
            raise ReviewError(
                "namespace lookup failed: TokenReviewer JWT needs to be configured to use namespace selectors"
            )
        response = await self._send("GET", f"/api/v1/namespaces/{namespace}", bearer)
        if response.status_code != 200:
            try:
                message = str(response.json().get("message", ""))
            except (ValueError, AttributeError):
                raise ReviewError("failed to parse error status on namespace retrieval failure") from None
            raise ReviewError(f"failed to get namespace (code {response.status_code} status {message})")
        try:
            labels = response.json().get("metadata", {}).get("labels") or {}
        except (ValueError, AttributeError):
            raise ReviewError("failed to read namespace") from None
        return {str(k): str(v) for k, v in labels.items()}


def check_review(account: ServiceAccount, reviewed: Reviewed) -> None:
    """ReviewError unless the API server's answer names the account the JWT claims."""
    if account.name != reviewed.name:
        raise ReviewError("JWT names did not match")
    if account.uid != reviewed.uid:
        raise ReviewError("JWT UIDs did not match")
    if account.namespace != reviewed.namespace:
        raise ReviewError("JWT namepaces did not match")
