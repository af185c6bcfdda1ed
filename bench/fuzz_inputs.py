"""The hostile values, bodies and requests bench/fuzz.py sends (see there how to run it).

Everything is drawn from a random.Random given by the caller, so a seed replays a run's choices.
"""

from __future__ import annotations

import base64
import datetime
import json
import random
import re
from typing import Any
from urllib.parse import quote as url_quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

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
    return url_quote(text.encode("utf-8", "surrogatepass"), safe="")


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
