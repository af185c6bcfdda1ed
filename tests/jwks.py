"""A JWKS and OIDC-discovery server on loopback, and signing keys that mint JWTs, for the jwt auth tests.

`SigningKey` holds an RSA or EC private key (made with cryptography) and signs claims with PyJWT; its public
half is available as PEM (for `jwt_validation_pubkeys`) and as a JWK (for the served key set).
`JWKSServer` serves `/jwks` and `/.well-known/openid-configuration` (issuer = its base URL) from a thread;
tests change `keys` while it runs and read `jwks_fetches` to see how often a server fetched the key set.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

K8S_ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class SigningKey:
    """A private key with its key ID and JWS algorithm."""

    kid: str
    alg: str
    private: PrivateKeyTypes

    def public_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK with kid, alg and use."""
        algorithm = jwt.get_algorithm_by_name(self.alg)
        public: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return public | {"kid": self.kid, "alg": self.alg, "use": "sig"}

    def sign(self, claims: Mapping[str, Any], *, headers: Mapping[str, Any] | None = None) -> str:
        """A compact JWS of `claims`, with this key's kid in the header."""
        return jwt.encode(
            dict(claims), self.private, algorithm=self.alg, headers={"kid": self.kid, **(headers or {})}
        )


def rsa_key(kid: str = "rsa-1", alg: str = "RS256") -> SigningKey:
    return SigningKey(kid, alg, rsa.generate_private_key(public_exponent=65537, key_size=2048))


def ec_key(kid: str = "ec-1", alg: str = "ES256") -> SigningKey:
    return SigningKey(kid, alg, ec.generate_private_key(ec.SECP256R1()))


def claims(
    *,
    issuer: str = "https://issuer.example",
    subject: str = "alice",
    lifetime: int = 600,
    now: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid claim set: iss, sub, iat and nbf at `now` (the wall clock by default), exp `lifetime`
    seconds later, plus `extra`."""
    at = int(time.time() if now is None else now)
    return {"iss": issuer, "sub": subject, "iat": at, "nbf": at, "exp": at + lifetime, **extra}


def kubernetes_claims(
    namespace: str = "apps", account: str = "billing", audience: str = "strongroom", now: float | None = None
) -> dict[str, Any]:
    """The claims of a projected Kubernetes service-account token."""
    return claims(
        issuer=K8S_ISSUER,
        now=now,
        subject=f"system:serviceaccount:{namespace}:{account}",
        aud=[audience],
        **{
            "kubernetes.io": {
                "namespace": namespace,
                "pod": {"name": f"{account}-7d9f8", "uid": "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"},
                "serviceaccount": {"name": account, "uid": "9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0"},
            }
        },
    )


class JWKSServer:
    """The HTTP endpoints an identity provider publishes: a key set and an OIDC discovery document."""

    def __init__(self, keys: list[SigningKey]) -> None:
        self.keys = list(keys)
        self.jwks_fetches = 0
        self.fail = False
        # What a code exchange at /token and a GET of /userinfo answer (set by a test; empty: 400 / 401).
        self.token_response: dict[str, Any] = {}
        self.userinfo: dict[str, Any] = {}
        self.token_requests: list[dict[str, list[str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if outer.fail:
                    self._send(500, {"error": "unavailable"})
                elif self.path == "/jwks":
                    outer.jwks_fetches += 1
                    self._send(200, {"keys": [key.jwk() for key in outer.keys]})
                elif self.path == "/.well-known/openid-configuration":
                    self._send(200, outer.discovery_document())
                elif self.path == "/userinfo" and outer.userinfo:
                    self._send(200, outer.userinfo)
                elif self.path == "/userinfo":
                    self._send(401, {"error": "invalid_token"})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if self.path != "/token":
                    self._send(404, {"error": "not found"})
                    return
                outer.token_requests.append(
                    {**form, "authorization": [self.headers.get("Authorization", "")]}
                )
                if outer.token_response:
                    self._send(200, outer.token_response)
                else:
                    self._send(400, {"error": "invalid_grant", "error_description": "unknown code"})

            def _send(self, status: int, body: Any) -> None:
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.jwks_url = f"{self.url}/jwks"

    def discovery_document(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": self.jwks_url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }

    @contextmanager
    def running(self) -> Iterator[JWKSServer]:
        thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._httpd.shutdown()
            self._httpd.server_close()
            thread.join()


@contextmanager
def jwks_server(*keys: SigningKey) -> Iterator[JWKSServer]:
    """A running JWKSServer serving `keys`."""
    with JWKSServer(list(keys)).running() as served:
        yield served
