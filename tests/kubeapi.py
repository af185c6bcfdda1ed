"""A stand-in for the Kubernetes API server, for the kubernetes auth and injector tests: there is no cluster
on this machine, so this real HTTPS server (TLS from tests/tls.py) speaks the two API calls Vault's
kubernetes auth makes, over service-account JWTs it signs itself (RS256):

- POST /apis/authentication.k8s.io/v1/tokenreviews: a TokenReview of spec.token (signature, expiry, not
  revoked, audiences), allowed when the bearer is a live token of an account granted system:auth-delegator
  (`reviewers`) or, as in a cluster where every account may review, the reviewed token itself when
  `self_review` is on. Unauthorized bearers get a 401 Status; a refused token gets authenticated false.
- GET /api/v1/namespaces/<name>: the namespace's labels, for a reviewer bearer.

`issue()` mints projected tokens (the nested "kubernetes.io" claims kubelet mounts) or legacy secret-based
ones; `revoke()` makes the API server stop vouching for a token, as deleting its service account does.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt

from tests.jwks import SigningKey, rsa_key
from tests.tls import ScratchCA

ISSUER = "https://kubernetes.default.svc.cluster.local"


@dataclass(frozen=True)
class Account:
    namespace: str
    name: str
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))


class KubeAPI:
    """The stand-in's state: its signing key, accounts, revoked tokens, namespace labels, requests seen."""

    def __init__(self, address: str, ca_pem: str) -> None:
        self.address = address
        self.ca_pem = ca_pem
        self.key: SigningKey = rsa_key("kube-sa")
        self.reviewers: set[str] = set()
        self.self_review = True
        self.revoked: set[str] = set()
        self.namespaces: dict[str, dict[str, str]] = {}
        self.reviews: list[dict[str, Any]] = []
        self.bearers: list[str] = []

    def issue(
        self, account: Account, *, audience: str | list[str] = "https://kubernetes.default.svc",
        lifetime: int = 3600, legacy: bool = False,
    ) -> str:  # fmt: skip
        """A service-account JWT for `account`, signed by this API server."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "sub": f"system:serviceaccount:{account.namespace}:{account.name}",
        }
        if legacy:
            claims["iss"] = "kubernetes/serviceaccount"
            claims |= {
                "kubernetes.io/serviceaccount/namespace": account.namespace,
                "kubernetes.io/serviceaccount/secret.name": f"{account.name}-token-x7k2p",
                "kubernetes.io/serviceaccount/service-account.name": account.name,
                "kubernetes.io/serviceaccount/service-account.uid": account.uid,
            }
        else:
            claims |= {
                "aud": [audience] if isinstance(audience, str) else audience,
                "iat": now, "nbf": now, "exp": now + lifetime,
                "kubernetes.io": {
                    "namespace": account.namespace,
                    "pod": {"name": f"{account.name}-5d8f9", "uid": str(uuid.uuid4())},
                    "serviceaccount": {"name": account.name, "uid": account.uid},
                },
            }  # fmt: skip
        return self.key.sign(claims)

    def revoke(self, token: str) -> None:
        self.revoked.add(token)

    def _verify(self, token: str) -> dict[str, Any] | None:
        if token in self.revoked:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.key.private.public_key(), algorithms=["RS256"], options={"verify_aud": False}
            )
        except jwt.PyJWTError:
            return None
        return claims

    def _username(self, claims: dict[str, Any]) -> tuple[str, str]:
        nested = claims.get("kubernetes.io")
        if nested:
            account = nested["serviceaccount"]
            return f"system:serviceaccount:{nested['namespace']}:{account['name']}", account["uid"]
        prefix = "kubernetes.io/serviceaccount/"
        return (
            f"system:serviceaccount:{claims[prefix + 'namespace']}:{claims[prefix + 'service-account.name']}",
            claims[prefix + "service-account.uid"],
        )

    def authorized(self, bearer: str, reviewed: str | None = None) -> bool:
        """Whether `bearer` may call the API: a reviewer's live token, or the reviewed token itself."""
        if self._verify(bearer) is None:
            return False
        return bearer in self.reviewers or (self.self_review and bearer == reviewed)

    def review(self, spec: dict[str, Any]) -> dict[str, Any]:
        """The status of a TokenReview of `spec`."""
        claims = self._verify(spec.get("token", ""))
        if claims is None:
            return {"authenticated": False, "error": "invalid bearer token, token lookup failed"}
        token_aud = claims.get("aud") or ["https://kubernetes.default.svc"]
        token_aud = [token_aud] if isinstance(token_aud, str) else token_aud
        wanted = spec.get("audiences") or token_aud
        granted = [aud for aud in wanted if aud in token_aud]
        if not granted:
            return {"authenticated": False, "error": "token audiences do not match"}
        username, uid = self._username(claims)
        return {"authenticated": True, "audiences": granted, "user": {"username": username, "uid": uid}}


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip


@contextmanager
def kube_api_server(directory: Path) -> Iterator[KubeAPI]:
    """The stand-in on an HTTPS port of 127.0.0.1, its certificate signed by a scratch CA (`ca_pem`)."""
    ca = ScratchCA(directory, "kube test CA")
    issued = ca.issue("kube-apiserver")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(issued.cert, issued.key)
    holder: list[KubeAPI] = []

    class Handler(BaseHTTPRequestHandler):
        def _bearer(self) -> str:
            return self.headers.get("Authorization", "").removeprefix("Bearer ")

        def do_POST(self) -> None:
            api = holder[0]
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path != "/apis/authentication.k8s.io/v1/tokenreviews":
                self._send(404, _status(404, "NotFound", "the server could not find the requested resource"))
                return
            spec = body.get("spec", {})
            api.reviews.append(spec)
            api.bearers.append(self._bearer())
            if not api.authorized(self._bearer(), spec.get("token")):
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
                return
            self._send(201, {**body, "status": api.review(spec)})

        def do_GET(self) -> None:
            api = holder[0]
            name = self.path.removeprefix("/api/v1/namespaces/")
            if not api.authorized(self._bearer()):
                self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            elif name in api.namespaces:
                meta = {"name": name, "labels": api.namespaces[name]}
                self._send(200, {"kind": "Namespace", "apiVersion": "v1", "metadata": meta})
            else:
                self._send(404, _status(404, "NotFound", f'namespaces "{name}" not found'))

        def _send(self, code: int, document: dict[str, Any]) -> None:
            payload = json.dumps(document).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    api = KubeAPI(f"https://127.0.0.1:{httpd.server_address[1]}", ca.path.read_text())
    holder.append(api)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        httpd.shutdown()
        httpd.server_close()
