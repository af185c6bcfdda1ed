"""Fuzz a real strongroom dev server with adversarial requests and record every answer that breaks the rule.

Run by hand, never in CI:

    uv run python bench/fuzz.py [--seconds 300] [--seed 1] [--workers 6] [--out /tmp/strongroom-fuzz]

The rule: bad input gets Vault's `{"errors": [...]}` with a 4xx, never a 5xx or a traceback. The script
starts `strongroom server -dev` on a free port, mounts every engine and auth method, sets up state deep
enough for the handlers to reach their parsing (a PKI root and roles, an ACME-enabled mount with
config/cluster, transit keys, SSH and TOTP keys, identity and OIDC objects, quotas, a password policy),
then reads the server's OpenAPI document and sends requests built from it for `--seconds`: every HTTP
method (LIST included), path parameters that are known names or hostile segments, bodies with each field
given the wrong type, huge or negative numbers, NaN-like and control-character strings, long strings,
malformed base64/PEM/DER/JSON, and odd content types; half as root, half as a token with a limited policy.
Beside the schema it sends JWS bodies to the ACME endpoints, mutated DER OCSP requests (GET base64 and POST
raw body), mutated snapshots to restore, WebSocket upgrades to sys/events/subscribe with hostile
`vault-token.b64url.` subprotocols, and paths under /ui/.

Recorded, in OUT/findings.jsonl (one line per request, the first 20 per endpoint and status): every 5xx,
every 4xx whose body is not JSON with an `errors` list (except the endpoints whose answers are not Vault's
JSON: OCSP, PEM/DER/CRL fetches, ACME problem+json, the UI), and a summary by endpoint template. The server's
log is OUT/server.log; the count of tracebacks in it is printed. Requests that would end the run rather
than test input (sealing, revoking the root token, disabling the mounts set up here, deleting the PKI
root) are never sent.
"""

from __future__ import annotations

import argparse
import base64
import collections
import datetime
import http.client
import json
import random
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID
from tests.servers import strongroom_dev_server

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
METHODS = ["GET", "POST", "PUT", "DELETE", "LIST", "PATCH", "HEAD", "OPTIONS"]
KNOWN_NAMES = [
    "r",
    "k",
    "aes",
    "rsa",
    "ec",
    "ed",
    "default",
    "issuer1",
    "otp",
    "ca",
    "e1",
    "g1",
    "okey",
    "orole",
    "prov",
    "client1",
    "scope1",
    "pp",
    "rl",
    "lc",
    "u1",
    "limited",
    "acme",
]
CONTENT_TYPES = [
    "application/json",
    "application/jose+json",
    "application/ocsp-request",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data; boundary=zz",
    "application/merge-patch+json",
    "application/json; charset=utf-16",
    "",
    'x/y; a="b',
]
# (method regex, path regex): requests that would stop the run instead of testing how input is parsed.
NEVER = [
    (".", r"^sys/(seal|step-down|generate-root|rekey|rotate/root|replication)"),
    (".", r"^auth/token/revoke-self"),
    (".", r"^sys/(leases/)?revoke-(prefix|force)"),
    ("DELETE", r"^sys/(mounts|auth)/"),
    (".", r"^sys/(remount|mounts/[^/]+/tune|auth/[^/]+/tune)"),
    ("DELETE", r"^pki(-acme)?/(root|issuer/|key/)"),
    (".", r"^pki(-acme)?/root/(replace|rotate)"),
    ("DELETE", r"^sys/(policy|policies/acl)/limited"),
    (".", r"^sys/quotas/config"),
]
# Endpoints whose answers are legitimately not Vault's JSON errors.
NOT_JSON = re.compile(
    r"/ocsp|/acme/|/(ca|crl|ca_chain|pem|der|raw|delta)(/pem|/der)?$|/cert/[^/]+/raw|^/ui|/crl/|"
    r"\.well-known|/oidc/callback|sys/events/subscribe|sys/metrics|/cert/ca_chain|^identity/oidc/provider/[^/]+/(token|authorize|userinfo)"
)
# How the server logs an exception it turned into a 500.
CRASH = re.compile(r"internal error serving request|Traceback")


def hostile_strings(rng: random.Random) -> str:
    # Never the bare "root": a body {"token": "root"} to auth/token/revoke would end the run.
    # fmt: off
    choices = [
        "", " ", "\x00", "a\x00b", "\x1b[31m", "\r\n", "\u202e\u200b", "ünïcødé", "😀" * 7, "\ud7ff",
        "a" * rng.choice([256, 4096, 70000]), "NaN", "Infinity", "-Infinity", "nan", "1e309", "-1", "0",
        "9" * 40, "-9223372036854775809", "0x10", "1h", "-5s", "99999999999h", "1e9", "9223372037s",
        "true", "null", "[]", "{}", '{"a":1}', "a,b,,c", "*", "../../etc", "%00", "%zz", "${a}",
        "{{identity.entity.id}}", "127.0.0.1/33", "::1", "::", "300.1.1.1", "http://", "ldap://\x00",
        "vault:v1:AAAA", "vault:v99999999999:xx", "vault:v1:!!!", "vault:", "vault:v-1:AA", "1:2:3",
        "!!!notbase64", "AAAA", "A", "=", "-----BEGIN CERTIFICATE-----\nZZZ\n-----END CERTIFICATE-----",
        "-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----", "-----BEGIN", "ssh-rsa AAAA",
        "ssh-ed25519", "rsa-2048", "ec", "ed25519", "aes256-gcm96", "sha2-256", "pkcs1v15", "pss", "both",
        "der", "pem", "pem_bundle", "base64", "hex", "internal", "exported", "existing", "kms", "any", "PT1H",
        "2026-13-45", "otpauth://totp/x?secret=!!", "otpauth://", "default", "root-ish", "x" * 64 + "/" + "y",
        "@x.com", "*.*.example.com", "CN=a,O=b", "1.2.3.4:notaport", "urn:ietf:params:acme:error:x",
    ]
    # fmt: on
    return rng.choice(choices)


class Material:
    """Well-formed crypto material (a key, a CSR, a certificate, DER) that the mutators start from."""

    def __init__(self, rng: random.Random) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024 + 1024)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fuzz.example.com")])
        self.csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(self.key, hashes.SHA256())
        now = datetime.datetime.now(datetime.UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(7)
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.pems = [
            self.csr.public_bytes(serialization.Encoding.PEM).decode(),
            self.cert.public_bytes(serialization.Encoding.PEM).decode(),
            self.key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            self.rsa.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            ).decode(),
            self.key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        ]
        self.ders = [
            self.csr.public_bytes(serialization.Encoding.DER),
            self.cert.public_bytes(serialization.Encoding.DER),
        ]
        self.issuer: x509.Certificate | None = None
        self.snapshot = b""
        self.seeds: list[str] = []
        self.acme_urls: list[str] = []
        """The setup's ACME account URL first, then its order's, authorization's and challenges' URLs."""
        self.rng = rng

    def seed(self) -> str:
        """A value the server made in the setup (a ciphertext, a backup, a wrapping key...), often mutated."""
        if not self.seeds:
            return self.pem()
        text = self.rng.choice(self.seeds)
        return mutate_text(self.rng, text) if self.rng.random() < 0.6 else text

    def pem(self) -> str:
        text = self.rng.choice(self.pems)
        return mutate_text(self.rng, text) if self.rng.random() < 0.5 else text

    def der(self) -> bytes:
        return mutate_bytes(self.rng, self.rng.choice([*self.ders, self.ocsp_request()]))

    def ocsp_request(self) -> bytes:
        issuer = self.issuer or self.cert
        builder = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            issuer.fingerprint(hashes.SHA1())[:20],
            issuer.fingerprint(hashes.SHA1())[:20],
            self.rng.choice([1, 7, 2**159, self.rng.getrandbits(64)]),
            hashes.SHA1(),
        )
        return builder.build().public_bytes(serialization.Encoding.DER)


def mutate_bytes(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.choice([0, 1, 1, 2, 8])):
        op = rng.random()
        if not buf:
            break
        at = rng.randrange(len(buf))
        if op < 0.4:
            buf[at] ^= 1 << rng.randrange(8)
        elif op < 0.6:
            del buf[at:]
        elif op < 0.8:
            buf[at:at] = rng.randbytes(rng.choice([1, 4, 300]))
        else:
            buf[at] = rng.choice([0, 0x80, 0xFF, 0x30, 0x82])
    return bytes(buf)


def mutate_text(rng: random.Random, text: str) -> str:
    return mutate_bytes(rng, text.encode()).decode("utf-8", "replace")


def b64(data: bytes, url: bool = False) -> str:
    return (base64.urlsafe_b64encode(data).rstrip(b"=") if url else base64.b64encode(data)).decode()


class Generator:
    """Builds one hostile request at a time from the OpenAPI paths and the setup's names."""

    def __init__(self, rng: random.Random, paths: dict[str, Any], material: Material) -> None:
        self.rng = rng
        self.paths = paths
        self.templates = sorted(paths)
        self.material = material

    def value(self, schema: dict[str, Any] | None = None, depth: int = 0) -> Any:
        rng = self.rng
        kind = (schema or {}).get("type")
        roll = rng.random()
        if roll < 0.15 and kind == "string":
            return rng.choice(
                [
                    self.material.seed(),
                    self.material.pem(),
                    b64(self.material.der()),
                    b64(rng.randbytes(32)),
                    b64(self.material.der(), url=True),
                    rng.choice(KNOWN_NAMES),
                ]
            )
        if roll < 0.25 and kind in ("integer", "number"):
            return rng.choice([-1, 0, 1, 2**31, 2**63, 2**64 + 1, -(2**63) - 1, 10**30, 1.5, -0.0, 1e308])
        if roll < 0.3 and kind == "array":
            return [self.value({"type": "string"}, depth + 1) for _ in range(rng.choice([0, 1, 3]))]
        pick = rng.random()
        if pick < 0.45:
            return hostile_strings(rng)
        if pick < 0.55:
            return rng.choice([None, True, False, 0, -1, 2**63, 2**64, -(2**63) - 1, 10**100, 1.5, 1e308])
        if pick < 0.65 and depth < 2:
            return [self.value(None, depth + 1) for _ in range(rng.choice([0, 1, 2, 5]))]
        if pick < 0.75 and depth < 2:
            return {
                hostile_strings(rng)[:20]: self.value(None, depth + 1) for _ in range(rng.choice([0, 1, 3]))
            }
        if pick < 0.85:
            return self.material.pem()
        if pick < 0.95:
            return b64(self.material.der(), url=rng.random() < 0.3)
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 40)))

    def segment(self, name: str) -> str:
        rng = self.rng
        if rng.random() < 0.55:
            return rng.choice(KNOWN_NAMES)
        raw = rng.choice(
            [
                hostile_strings(rng),
                "".join(chr(rng.randrange(32, 0x3000)) for _ in range(9)),
                b64(rng.randbytes(12)),
                "..",
                ".",
                "a/b",
                "%2e%2e",
                "x" * 3000,
                str(rng.getrandbits(64)),
            ]
        )
        return quote(raw)

    def body(self, template: str, method: str) -> dict[str, Any]:
        op = self.paths[template].get("post") or {}
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        props: dict[str, Any] = schema.get("properties", {})
        data: dict[str, Any] = {}
        names = list(props)
        for name in self.rng.sample(names, k=min(len(names), self.rng.choice([1, 2, 3, len(names) or 1]))):
            data[name] = self.value(props[name]) if self.rng.random() < 0.8 else good_value(props[name])
        if self.rng.random() < 0.2:
            data[hostile_strings(self.rng)[:30]] = self.value()
        return data

    def request(self) -> tuple[str, str, dict[str, str], bytes]:
        rng = self.rng
        template = rng.choice(self.templates)
        path = re.sub(r"\{([^}]+)\}", lambda m: self.segment(m.group(1)), template.lstrip("/"))
        if rng.random() < 0.08:
            path += "/" + self.segment("extra")
        methods = [m.upper() for m in self.paths[template] if m in ("get", "post", "delete", "patch", "put")]
        method = rng.choice(methods) if methods and rng.random() < 0.7 else rng.choice(METHODS)
        if method == "GET" and template.endswith("/") and rng.random() < 0.5:
            method = "LIST"
        data = self.body(template, method)
        headers = {"Content-Type": "application/json"}
        roll = rng.random()
        if roll < 0.8:
            payload: bytes = json.dumps(data, ensure_ascii=rng.random() < 0.5).encode(
                "utf-8", "surrogatepass"
            )
        elif roll < 0.85:
            payload = json.dumps(self.value()).encode("utf-8", "surrogatepass")
        elif roll < 0.9:
            payload = mutate_bytes(rng, json.dumps(data).encode("utf-8", "surrogatepass"))
        elif roll < 0.95:
            payload = "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in data.items()).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            payload = rng.randbytes(rng.choice([0, 5, 500]))
        if rng.random() < 0.15:
            headers["Content-Type"] = rng.choice(CONTENT_TYPES)
        if rng.random() < 0.05:
            headers[
                rng.choice(
                    [
                        "X-Vault-Wrap-TTL",
                        "X-Vault-Request",
                        "X-Vault-Namespace",
                        "X-Vault-Policy-Override",
                        "X-Vault-Inconsistent",
                        "X-Vault-Index",
                        "Prefer",
                        "X-Forwarded-For",
                    ]
                )
            ] = (
                hostile_strings(rng)[:200]
                .encode("latin-1", "replace")
                .decode("latin-1")
                .replace("\r", "")
                .replace("\n", "")
            )
        if method in ("GET", "LIST", "DELETE", "HEAD") and rng.random() < 0.3:
            path += "?" + "&".join(
                f"{quote(str(k))}={quote(json.dumps(v) if not isinstance(v, str) else v)}"
                for k, v in data.items()
            )
        return method, path, headers, payload


def quote(text: str) -> str:
    from urllib.parse import quote as q

    return q(text.encode("utf-8", "surrogatepass"), safe="")


def good_value(schema: dict[str, Any]) -> Any:
    if "default" in schema:
        return schema["default"]
    return {"boolean": True, "integer": 1, "array": ["a"], "object": {}}.get(schema.get("type", ""), "a")


def jws(material: Material, rng: random.Random, url: str, nonce: str, account: str = "") -> bytes:
    """An ES256 JWS in flattened JSON, correctly signed or broken in one place; from `account` (its URL)
    when given, else with the key itself."""
    key = material.key
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big"), True),
        "y": b64(numbers.y.to_bytes(32, "big"), True),
    }
    protected: dict[str, Any] = {"alg": "ES256", "nonce": nonce, "url": url}
    if account:
        protected["kid"] = account
    elif rng.random() < 0.5:
        protected["jwk"] = jwk
    else:
        protected["kid"] = rng.choice(
            [
                url.rsplit("/acme/", 1)[0] + "/acme/account/" + b64(rng.randbytes(6), True),
                hostile_strings(rng),
            ]
        )
    for _ in range(rng.choice([0, 0, 1, 2])):
        protected[rng.choice(["alg", "nonce", "url", "jwk", "kid", "crit", "b64"])] = rng.choice(
            [
                hostile_strings(rng),
                None,
                1,
                [],
                {"kty": "EC"},
                {"kty": "RSA", "n": "AA", "e": "AQAB"},
                "none",
                "HS256",
            ]
        )
    payloads = [
        {"termsOfServiceAgreed": True, "contact": ["mailto:a@example.com"]},
        {"identifiers": [{"type": "dns", "value": "a.example.com"}]},
        {"csr": b64(material.csr.public_bytes(serialization.Encoding.DER), True)},
        {"certificate": b64(material.der(), True), "reason": rng.choice([0, 1, 99, -1, "x"])},
        {
            "identifiers": [{"type": rng.choice(["dns", "ip", "x"]), "value": hostile_strings(rng)}],
            "notBefore": hostile_strings(rng),
            "notAfter": hostile_strings(rng),
        },
        {"contact": hostile_strings(rng), "onlyReturnExisting": rng.choice([True, "x"])},
        {"account": hostile_strings(rng), "oldKey": {"kty": "EC"}},
        {"status": rng.choice(["deactivated", "x", 1])},
        {},
    ]
    payload_obj: Any = rng.choice(payloads)
    payload = "" if rng.random() < 0.1 else b64(json.dumps(payload_obj).encode(), True)
    header = b64(json.dumps(protected).encode(), True)
    signature = key.sign(f"{header}.{payload}".encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(signature)
    sig = b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"), True)
    body: dict[str, Any] = {"protected": header, "payload": payload, "signature": sig}
    if rng.random() < 0.2:
        body[rng.choice(["protected", "payload", "signature"])] = rng.choice(
            [hostile_strings(rng), 1, None, [], b64(rng.randbytes(64), True)]
        )
    return json.dumps(body).encode()


class Fuzzer:
    def __init__(
        self, address: str, tokens: list[str], paths: dict[str, Any], material: Material, seed: int, out: Path
    ) -> None:
        self.host, port = address.removeprefix("http://").split(":")
        self.port = int(port)
        self.tokens = tokens
        self.paths = paths
        self.material = material
        self.seed = seed
        self.out = out
        self.lock = threading.Lock()
        self.sent = 0
        self.by_status: collections.Counter[int] = collections.Counter()
        self.findings: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self.findings_file = (out / "findings.jsonl").open("w")
        self.transport_errors = 0

    def connection(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def worker(self, index: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + index)
        gen = Generator(rng, self.paths, Material.__new__(Material))
        gen.material.__dict__.update(self.material.__dict__)
        gen.material.rng = rng
        conn = self.connection()
        while time.monotonic() < deadline:
            kind = rng.random()
            if kind < 0.07:
                method, path, headers, body = self.acme(rng, conn)
            elif kind < 0.11:
                method, path, headers, body = self.ocsp(rng)
            elif kind < 0.12:
                self.websocket(rng)
                continue
            elif kind < 0.13:
                method, path, headers, body = self.snapshot(rng)
            elif kind < 0.15:
                method, path, headers, body = "GET", "ui/" + gen.segment("ui"), {}, b""
                if rng.random() < 0.5:
                    path = rng.choice(["ui", "", "ui/vault/auth", "ui/%2e%2e/%2e%2e/etc/passwd", "ui/.."])
            else:
                method, path, headers, body = gen.request()
            if any(re.search(m, method) and re.search(p, path) for m, p in NEVER):
                continue
            token = rng.choice(self.tokens)
            if rng.random() < 0.02:
                token = hostile_strings(rng).encode("latin-1", "replace").decode("latin-1").replace("\r", "")
                token = token.replace("\n", "")
            headers = {"X-Vault-Token": token, **headers}
            url = "/" + path if path.startswith("ui") or path == "" else "/v1/" + path
            try:
                response, text = self.send(conn, method, url, headers, body)
            except (OSError, http.client.HTTPException):
                # A kept-alive connection the server closed between requests: send again on a new one.
                conn.close()
                conn = self.connection()
                try:
                    response, text = self.send(conn, method, url, headers, body)
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = self.connection()
                    with self.lock:
                        self.transport_errors += 1
                    self.record(method, url, headers, body, 0, repr(exc).encode(), "")
                    continue
            status = response.status
            ctype = response.getheader("Content-Type", "")
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = self.connection()
            with self.lock:
                self.sent += 1
                self.by_status[status] += 1
            if status >= 500 or (
                400 <= status < 500 and method != "HEAD" and not self.vault_error(url, status, text, headers)
            ):
                self.record(method, url, headers, body, status, text, ctype)

    @staticmethod
    def send(
        conn: http.client.HTTPConnection, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[http.client.HTTPResponse, bytes]:
        conn.request(method, url, body=body or None, headers=headers)
        response = conn.getresponse()
        return response, response.read()

    @staticmethod
    def vault_error(url: str, status: int, text: bytes, headers: dict[str, str]) -> bool:
        """Whether a 4xx answer has Vault's shape (or is one of the answers that legitimately differ)."""
        if (
            status == 400
            and not text
            and any(ord(c) < 32 or ord(c) == 127 for v in headers.values() for c in v)
        ):
            return True  # the HTTP parser refused a control character in a header, as Go's does
        if NOT_JSON.search(url.split("?", maxsplit=1)[0].removeprefix("/v1/")) or status in (413, 414, 431):
            return True
        try:
            answer = json.loads(text)
        except ValueError:
            return False
        # Vault answers some 4xx with a whole response: KV v2's 404 with a warning, transit's batch 400.
        return isinstance(answer, dict) and (isinstance(answer.get("errors"), list) or "request_id" in answer)

    def record(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes,
        status: int,
        text: bytes,
        ctype: str,
    ) -> None:
        template = re.sub(r"/v1/", "", url.split("?", maxsplit=1)[0])
        template = "/".join(seg if seg in WORDS else "*" for seg in template.split("/"))
        key = (method, template, str(status))
        with self.lock:
            self.findings[key] += 1
            if self.findings[key] > 20:
                return
            self.findings_file.write(
                json.dumps(
                    {
                        "method": method,
                        "url": url[:3000],
                        "headers": headers,
                        "body": body[:4000].decode("utf-8", "replace"),
                        "status": status,
                        "content_type": ctype,
                        "answer": text[:2000].decode("utf-8", "replace"),
                    }
                )
                + "\n"
            )
            self.findings_file.flush()

    def acme(
        self, rng: random.Random, conn: http.client.HTTPConnection
    ) -> tuple[str, str, dict[str, str], bytes]:
        prefix = rng.choice(
            [
                "pki-acme/acme",
                "pki-acme/roles/r/acme",
                "pki-acme/issuer/default/acme",
                "pki-acme/issuer/default/roles/r/acme",
                "pki/acme",
            ]
        )
        leaf = rng.choice(
            [
                "new-account",
                "new-order",
                "revoke-cert",
                "key-change",
                "orders",
                f"account/{b64(rng.randbytes(6), True)}",
                f"order/{b64(rng.randbytes(6), True)}",
                f"order/{b64(rng.randbytes(6), True)}/finalize",
                f"authorization/{b64(rng.randbytes(6), True)}",
                f"challenge/{b64(rng.randbytes(6), True)}/http-01",
                "new-nonce",
                "directory",
                "order/x/cert",
                quote(hostile_strings(rng)),
            ]
        )
        path = f"{prefix}/{leaf}"
        account = ""
        if self.material.acme_urls and rng.random() < 0.5:
            # As the account the setup made, at the URLs of its order: deep enough to reach the payloads.
            prefix = "pki-acme/acme"
            account = self.material.acme_urls[0]
            target = rng.choice(
                [*self.material.acme_urls, "new-order", "orders", "key-change", "revoke-cert"]
            )
            path = target.split("/v1/", 1)[1] if "/v1/" in target else f"{prefix}/{target}"
        nonce = hostile_strings(rng)
        if rng.random() < 0.7:
            try:
                conn.request("HEAD", f"/v1/{prefix}/new-nonce")
                reply = conn.getresponse()
                reply.read()
                nonce = reply.getheader("Replay-Nonce", nonce)
            except (OSError, http.client.HTTPException):
                conn.close()
        url = f"http://{self.host}:{self.port}/v1/{path}"
        body = jws(self.material, rng, url, nonce, account)
        if rng.random() < 0.1:
            body = mutate_bytes(rng, body)
        return "POST", path, {"Content-Type": rng.choice(["application/jose+json"] * 5 + CONTENT_TYPES)}, body

    def ocsp(self, rng: random.Random) -> tuple[str, str, dict[str, str], bytes]:
        request = self.material.ocsp_request()
        if rng.random() < 0.7:
            request = mutate_bytes(rng, request)
        mount = rng.choice(["pki", "pki-acme"])
        if rng.random() < 0.5:
            encoded = rng.choice(
                [quote(b64(request)), b64(request), b64(request, True), quote(hostile_strings(rng))]
            )
            return "GET", f"{mount}/ocsp/{encoded}", {}, b""
        ctype = rng.choice(["application/ocsp-request"] * 4 + CONTENT_TYPES)
        return "POST", f"{mount}/ocsp", {"Content-Type": ctype}, request

    def snapshot(self, rng: random.Random) -> tuple[str, str, dict[str, str], bytes]:
        body = rng.choice(
            [
                mutate_bytes(rng, self.material.snapshot),
                rng.randbytes(200),
                b"",
                b"{}",
                self.material.snapshot[: rng.randrange(1, max(2, len(self.material.snapshot)))],
            ]
        )
        if body == self.material.snapshot:
            body = body[:-1]
        path = rng.choice(["sys/storage/raft/snapshot", "sys/storage/raft/snapshot-force"])
        return (
            "POST",
            path,
            {"Content-Type": rng.choice(["application/octet-stream", "application/json", ""])},
            body,
        )

    def websocket(self, rng: random.Random) -> None:
        token = rng.choice([*self.tokens, hostile_strings(rng)])
        offers = [
            f"vault-token.b64url.{b64(token.encode('utf-8', 'surrogatepass'), True)}",
            "vault-events.v1",
            f"vault-token.b64url.{hostile_strings(rng)}",
            "vault-token.b64url.",
            "vault-token.b64url.!!!",
            f"vault-token.b64url.{b64(rng.randbytes(20), True)}",
            hostile_strings(rng),
        ]
        protocols = ", ".join(rng.sample(offers, k=rng.randint(0, 3)))
        protocols = (
            protocols.encode("latin-1", "replace").decode("latin-1").replace("\r", "").replace("\n", "")
        )
        pattern = quote(rng.choice(["*", "kv*", hostile_strings(rng), ""]))
        query = rng.choice(
            ["", "?json=true", "?json=x", "?namespaces=%00", "?filter=" + quote(hostile_strings(rng))]
        )
        request = (
            f"GET /v1/sys/events/subscribe/{pattern}{query} HTTP/1.1\r\nHost: {self.host}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {rng.choice([b64(rng.randbytes(16)), '', '!!'])}\r\n"
            f"Sec-WebSocket-Version: {rng.choice(['13', '8', 'x'])}\r\n"
            f"Sec-WebSocket-Protocol: {protocols}\r\n\r\n"
        )
        try:
            with socket.create_connection((self.host, self.port), timeout=10) as sock:
                sock.sendall(request.encode("latin-1"))
                first = sock.recv(4096)
        except OSError as exc:
            first = repr(exc).encode()
        status_line = first.split(b"\r\n", 1)[0]
        with self.lock:
            self.sent += 1
        match = re.match(rb"HTTP/1.1 (\d+)", status_line)
        status = int(match.group(1)) if match else 0
        with self.lock:
            self.by_status[status] += 1
        if status >= 500 or status == 0:
            self.record(
                "GET(ws)",
                f"/v1/sys/events/subscribe/{pattern}{query}",
                {"Sec-WebSocket-Protocol": protocols},
                b"",
                status,
                first,
                "",
            )


WORDS: set[str] = set()


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
    root, the mounts, the ACME directory) still reads back, and a transit key still encrypts. (Roles,
    entities and keys the fuzzing may delete or reconfigure by right are not checked.)"""
    host, port = address.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    problems = []
    checks = [
        ("GET", "pki/ca/pem", None),
        ("GET", "pki/crl/pem", None),
        ("GET", "pki/issuer/default/json", None),
        ("GET", "pki-acme/acme/directory", None),
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


def crash_sites(log: str) -> collections.Counter[str]:
    """The exceptions in the server's log, each as its type and innermost frame of strongroom's code."""
    sites: collections.Counter[str] = collections.Counter()
    for block in re.split(r"\n(?=\d{4}-\d\d-\d\d )", log):
        lines = block.strip().splitlines()
        if not lines or not CRASH.search(lines[0]):
            continue
        frames = [line.strip() for line in lines if line.strip().startswith("File ") and "strongroom" in line]
        where = (
            re.sub(r'^File ".*/(strongroom/[^"]+)", line (\d+), in (\S+)', r"\1:\2 \3", frames[-1])
            if frames
            else ""
        )
        sites[f"{lines[0].rsplit(': ', 1)[-1]} at {where}"] += 1
    return sites


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "strongroom-fuzz")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)
    material = Material(rng)
    with tempfile.TemporaryDirectory() as workdir, strongroom_dev_server(Path(workdir)) as server:
        limited = set_up(server.address, material)
        host, port = server.address.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=120)
        paths: dict[str, Any] = call(conn, "GET", "sys/internal/specs/openapi")["data"]["paths"]
        for extra in (
            "sys/storage/raft/snapshot",
            "sys/seal-status",
            "sys/health",
            "sys/leader",
            "sys/host-info",
            "sys/config/ui/headers/{header}",
            "sys/internal/counters/activity",
            "sys/wrapping/lookup",
            "sys/tools/random/{bytes}",
            "sys/tools/hash/{algorithm}",
            "sys/plugins/catalog/{type}/{name}",
            "sys/loggers/{name}",
            "sys/internal/ui/resultant-acl",
            "sys/pprof/{name}",
            "sys/config/cors",
            "sys/namespaces/{name}",
            "sys/raw/{path}",
            "sys/audit-hash/{path}",
        ):
            paths.setdefault("/" + extra, {"get": {}, "post": {}})
        for template in paths:
            WORDS.update(seg for seg in template.strip("/").split("/") if "{" not in seg)
        WORDS.update(KNOWN_NAMES)
        print(
            f"{len(paths)} path templates; fuzzing for {args.seconds:.0f}s with {args.workers} workers",
            flush=True,
        )
        fuzzer = Fuzzer(server.address, ["root", limited], paths, material, args.seed, args.out)
        deadline = time.monotonic() + args.seconds
        threads = [
            threading.Thread(target=fuzzer.worker, args=(i, deadline), daemon=True)
            for i in range(args.workers)
        ]
        threads.append(threading.Thread(target=drop_quotas, args=(server.address, deadline), daemon=True))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(10)
            print(
                f"  {time.monotonic() - started:5.0f}s sent={fuzzer.sent} by status={dict(fuzzer.by_status)}",
                flush=True,
            )
        problems = health_check(server.address)
        log = server.log.read_text(errors="replace")
        (args.out / "server.log").write_text(log)
    print(
        f"sent {fuzzer.sent} requests in {time.monotonic() - started:.0f}s;",
        f"transport errors {fuzzer.transport_errors}",
    )
    crashes = crash_sites(log)
    print(f"exceptions logged by the server: {sum(crashes.values())}, by type and innermost frame:")
    for site, count in crashes.most_common():
        print(f"  {count:6d}  {site}")
    print("state after the run:", problems if problems else "intact")
    print(f"findings ({sum(fuzzer.findings.values())}), by method, endpoint, status:")
    for (method, template, status), count in fuzzer.findings.most_common():
        print(f"  {count:6d}  {status}  {method} {template}")
    print(f"details: {args.out / 'findings.jsonl'}")


if __name__ == "__main__":
    main()
