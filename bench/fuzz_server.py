"""The dev server's side of bench/fuzz.py: the mounts and state set up before the run, the quota sweeper
during it, and the check after it that the state the run may not touch still reads back.
"""

from __future__ import annotations

import http.client
import json
import time
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fuzz_inputs import Material, b64, quote

SECRET_ENGINES = {
    "pki": "pki",
    "pki-acme": "pki",
    "transit": "transit",
    "ssh": "ssh",
    "totp": "totp",
    "database": "database",
    "kv1": "kv",
}
AUTH_METHODS = {
    "userpass": "userpass",
    "approle": "approle",
    "ldap": "ldap",
    "jwt": "jwt",
    "kubernetes": "kubernetes",
}


def call(
    conn: http.client.HTTPConnection, method: str, path: str, body: Any = None, token: str = "root"
) -> Any:
    conn.request(
        method,
        f"/v1/{path}",
        body=json.dumps(body) if body is not None else None,
        headers={"X-Vault-Token": token, "Content-Type": "application/json"},
    )
    response = conn.getresponse()
    text = response.read()
    if response.status >= 400:
        raise RuntimeError(f"setup {method} {path}: {response.status} {text[:500]!r}")
    return (
        json.loads(text)
        if text and response.getheader("Content-Type", "").startswith("application/json")
        else text
    )


def acme_post(
    conn: http.client.HTTPConnection,
    address: str,
    material: Material,
    url: str,
    payload: Any,
    account: str = "",
) -> tuple[http.client.HTTPResponse, Any]:
    """A correctly signed ACME request; its answer and JSON body."""
    conn.request("HEAD", "/v1/pki-acme/acme/new-nonce")
    reply = conn.getresponse()
    reply.read()
    protected: dict[str, Any] = {"alg": "ES256", "nonce": reply.getheader("Replay-Nonce"), "url": url}
    numbers = material.key.public_key().public_numbers()
    if account:
        protected["kid"] = account
    else:
        protected["jwk"] = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64(numbers.x.to_bytes(32, "big"), True),
            "y": b64(numbers.y.to_bytes(32, "big"), True),
        }
    header = b64(json.dumps(protected).encode(), True)
    body = b64(json.dumps(payload).encode(), True) if payload is not None else ""
    r, s = decode_dss_signature(material.key.sign(f"{header}.{body}".encode(), ec.ECDSA(hashes.SHA256())))
    signature = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"), True)
    conn.request(
        "POST",
        url.removeprefix(address),
        body=json.dumps({"protected": header, "payload": body, "signature": signature}),
        headers={"Content-Type": "application/jose+json"},
    )
    answer = conn.getresponse()
    text = answer.read()
    if answer.status >= 400:
        raise RuntimeError(f"setup ACME {url}: {answer.status} {text[:300]!r}")
    return answer, json.loads(text) if text else None


def acme_account(conn: http.client.HTTPConnection, address: str, material: Material) -> list[str]:
    """An account on pki-acme's directory with one pending order; its URL, then the order's URLs."""
    base = f"{address}/v1/pki-acme/acme"
    answer, _ = acme_post(conn, address, material, f"{base}/new-account", {"termsOfServiceAgreed": True})
    account = answer.getheader("Location", "")
    order_of = {"identifiers": [{"type": "dns", "value": "a.example.com"}]}
    answer, order = acme_post(conn, address, material, f"{base}/new-order", order_of, account)
    urls = [account, answer.getheader("Location", ""), order["finalize"], *order["authorizations"]]
    _, authorization = acme_post(conn, address, material, order["authorizations"][0], None, account)
    return urls + [challenge["url"] for challenge in authorization["challenges"]]


def harvest(conn: http.client.HTTPConnection) -> list[str]:
    """Values the server made, for the fuzzing to send back whole or mutated: they pass the first checks."""
    seeds = [
        call(conn, "POST", "transit/encrypt/aes", {"plaintext": "aGk="})["data"]["ciphertext"],
        call(conn, "POST", "transit/datakey/wrapped/aes", {})["data"]["ciphertext"],
        call(conn, "POST", "transit/hmac/aes", {"input": "aGk="})["data"]["hmac"],
        call(conn, "POST", "transit/sign/ec", {"input": "aGk="})["data"]["signature"],
        call(conn, "GET", "transit/backup/aes")["data"]["backup"],
        call(conn, "GET", "transit/wrapping_key")["data"]["public_key"],
        call(conn, "GET", "ssh/config/ca")["data"]["public_key"],
        call(conn, "GET", "pki/cert/crl")["data"]["certificate"],
        call(conn, "GET", "pki/issuer/default/json")["data"]["certificate"],
        call(conn, "POST", "auth/approle/role/r/secret-id", {})["data"]["secret_id"],
    ]
    return [str(seed) for seed in seeds]


def set_up(address: str, material: Material) -> str:
    """Mounts everything and makes the state the handlers need; returns the limited token."""
    host, port = address.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    for path, kind in SECRET_ENGINES.items():
        call(conn, "POST", f"sys/mounts/{path}", {"type": kind})
    for path, kind in AUTH_METHODS.items():
        call(conn, "POST", f"sys/auth/{path}", {"type": kind})
    for mount in ("pki", "pki-acme"):
        call(
            conn,
            "POST",
            f"sys/mounts/{mount}/tune",
            {
                "max_lease_ttl": "87600h",
                "passthrough_request_headers": ["If-Modified-Since"],
                "allowed_response_headers": ["Replay-Nonce", "Link", "Location", "Last-Modified"],
            },
        )
        root = call(
            conn,
            "POST",
            f"{mount}/root/generate/internal",
            {"common_name": "fuzz root", "ttl": "8760h", "issuer_name": "issuer1", "key_name": "k"},
        )
        material.issuer = x509.load_pem_x509_certificate(root["data"]["certificate"].encode())
        call(conn, "POST", f"{mount}/roles/r", {"allow_any_name": True, "ttl": "1h", "no_store": False})
        call(
            conn,
            "POST",
            f"{mount}/config/cluster",
            {"path": f"{address}/v1/{mount}", "aia_path": f"{address}/v1/{mount}"},
        )
        call(conn, "POST", f"{mount}/config/crl", {"auto_rebuild": True, "enable_delta": True})
        call(conn, "POST", f"{mount}/issue/r", {"common_name": "leaf.example.com"})
    call(conn, "POST", "pki-acme/config/acme", {"enabled": True})
    material.acme_urls = acme_account(conn, address, material)
    for name, kind in (("aes", "aes256-gcm96"), ("rsa", "rsa-2048"), ("ec", "ecdsa-p256"), ("ed", "ed25519")):
        call(
            conn,
            "POST",
            f"transit/keys/{name}",
            {"type": kind, "exportable": True, "allow_plaintext_backup": True},
        )
    call(conn, "POST", "ssh/config/ca", {"generate_signing_key": True})
    call(
        conn,
        "POST",
        "ssh/roles/ca",
        {"key_type": "ca", "allow_user_certificates": True, "allowed_users": "*"},
    )
    call(conn, "POST", "totp/keys/k", {"generate": True, "issuer": "i", "account_name": "a"})
    call(conn, "POST", "totp/keys/otp", {"url": "otpauth://totp/i:a?secret=GEZDGNBVGY3TQOJQ&issuer=i"})
    call(conn, "POST", "auth/userpass/users/u1", {"password": "p"})
    call(conn, "POST", "auth/approle/role/r", {})
    call(conn, "POST", "auth/ldap/config", {"url": "ldap://127.0.0.1:1", "userdn": "ou=u,dc=x"})
    call(conn, "POST", "auth/jwt/config", {"jwt_validation_pubkeys": [material.pems[4]]})
    call(conn, "POST", "auth/jwt/role/r", {"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["a"]})
    call(conn, "POST", "identity/entity", {"name": "e1"})
    call(conn, "POST", "identity/group", {"name": "g1"})
    call(conn, "POST", "identity/oidc/key/okey", {"allowed_client_ids": ["*"]})
    call(conn, "POST", "identity/oidc/role/orole", {"key": "okey"})
    call(conn, "POST", "identity/oidc/scope/scope1", {"template": '{"a": 1}'})
    call(conn, "POST", "identity/oidc/assignment/acme", {"entity_ids": ["*"]})
    call(
        conn,
        "POST",
        "identity/oidc/client/client1",
        {"assignments": ["allow_all"], "redirect_uris": ["http://x/cb"]},
    )
    call(
        conn,
        "POST",
        "identity/oidc/provider/prov",
        {"allowed_client_ids": ["*"], "scopes_supported": ["scope1"]},
    )
    call(
        conn,
        "POST",
        "sys/policies/password/pp",
        {"policy": 'length = 20\nrule "charset" { charset = "abc" }'},
    )
    call(conn, "POST", "sys/quotas/rate-limit/rl", {"path": "totp/", "rate": 100000})
    call(conn, "POST", "sys/quotas/lease-count/lc", {"path": "auth/userpass/", "max_leases": 100000})
    call(conn, "POST", "secret/data/k", {"data": {"a": "b"}})
    call(
        conn,
        "POST",
        "sys/policies/acl/limited",
        {
            "policy": (
                'path "*" { capabilities = ["read", "list"] }\n'
                'path "transit/*" { capabilities = ["create", "update", "read"] }\n'
                'path "pki/*" { capabilities = ["create", "update", "read", "list"] }\n'
                'path "identity/*" { capabilities = ["create", "update", "read"] }\n'
                'path "sys/events/subscribe/*" { capabilities = ["read"] }\n'
                'path "secret/*" { capabilities = ["create", "update", "read", "patch", "delete", "list"] }\n'
            )
        },
    )
    token = call(conn, "POST", "auth/token/create", {"policies": ["limited"], "ttl": "24h"})["auth"][
        "client_token"
    ]
    material.seeds = harvest(conn)
    conn.request("GET", "/v1/sys/storage/raft/snapshot", headers={"X-Vault-Token": "root"})
    reply = conn.getresponse()
    material.snapshot = reply.read() if reply.status == 200 else b"\x1f\x8b" + bytes(100)
    return str(token)


def drop_quotas(address: str, deadline: float) -> None:
    """Deletes, every few seconds, the quotas the fuzzing made: a rate limit of 1 on "" would turn the
    rest of the run into 429s."""
    host, port = address.removeprefix("http://").split(":")
    while time.monotonic() < deadline:
        time.sleep(3)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            for kind in ("rate-limit", "lease-count"):
                try:
                    names = call(conn, "LIST", f"sys/quotas/{kind}")["data"]["keys"]
                except RuntimeError:
                    continue
                for name in names:
                    if name not in ("rl", "lc"):
                        call(conn, "DELETE", f"sys/quotas/{kind}/{quote(name)}")
        except (RuntimeError, OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            conn.close()


def health_check(address: str) -> list[str]:
    """What must still work after the run: the setup's state that no request sent may remove (the PKI
    root, the mounts) still reads back, and a transit key still encrypts. (Roles,
    entities, keys and config/acme, which the fuzzing may delete or turn off by right, are not checked.)"""
    host, port = address.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    problems = []
    checks = [
        ("GET", "pki/ca/pem", None),
        ("GET", "pki/crl/pem", None),
        ("GET", "pki/issuer/default/json", None),
        ("GET", "sys/mounts", None),
        ("POST", "transit/encrypt/aes", {"plaintext": "aGk="}),
    ]
    for method, path, body in checks:
        try:
            call(conn, method, path, body)
        except (RuntimeError, OSError, http.client.HTTPException, ValueError) as exc:
            problems.append(f"{method} {path}: {exc}")
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
    return problems
