"""Differential test of pki: one script of requests to strongroom and to OpenBao, answers compared.

Runs on the session servers, on a fresh mount of its own on each. Certificates, keys, CRLs, serials, ids and
times differ by nature: each is first checked for its shape (a PEM block that parses, a colon-hex serial, a
UUID, an epoch time near now) and then masked to that shape before the comparison.
"""

from __future__ import annotations

import base64
import re
import time
from typing import Any

from cryptography import x509

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

M = "diffpki"
ROLE = {"allowed_domains": "example.com", "allow_subdomains": True, "max_ttl": "72h", "key_type": "ec"}


def post(name: str, path: str, body: Any = None, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{M}/{path}", body={} if body is None else body, **kw)


def get(name: str, path: str, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{M}/{path}", **kw)


STEPS: list[Step] = [
    Step("enable", "POST", f"/v1/sys/mounts/{M}", body={"type": "pki"}),
    get("ca/pem before a CA", "ca/pem"),
    get("cert/ca before a CA", "cert/ca"),
    post("issue before a role", "issue/web", {"common_name": "a.example.com"}),
    post("root bad key type", "root/generate/internal", {"common_name": "x", "key_type": "foo"}),
    post("root short rsa", "root/generate/internal", {"common_name": "x", "key_bits": 1024}),
    post(
        "root bad ec bits", "root/generate/internal", {"common_name": "x", "key_type": "ec", "key_bits": 100}
    ),
    post("root bad type", "root/generate/bogus", {"common_name": "x"}),
    post(
        "root",
        "root/generate/internal",
        {"common_name": "example.com", "ttl": "8760h", "key_type": "ec", "issuer_name": "main"},
    ),
    post("root name taken", "root/generate/internal", {"common_name": "x", "issuer_name": "main"}),
    get("issuer default", "issuer/default"),
    get("issuer by name", "issuer/main"),
    Step("list issuers", "LIST", f"/v1/{M}/issuers"),
    get("config issuers", "config/issuers"),
    get("cert ca", "cert/ca"),
    post(
        "urls",
        "config/urls",
        {
            "issuing_certificates": "http://ca.test/v1/pki/ca",
            "crl_distribution_points": "http://ca.test/v1/pki/crl",
        },
    ),
    get("read urls", "config/urls"),
    post("bad url", "config/urls", {"issuing_certificates": "not a url"}),
    post("role", "roles/web", ROLE),
    get("read role", "roles/web"),
    get("read missing role", "roles/nope"),
    Step("list roles", "LIST", f"/v1/{M}/roles"),
    post(
        "issue",
        "issue/web",
        {"common_name": "a.example.com", "alt_names": "b.example.com", "ip_sans": "127.0.0.1", "ttl": "1h"},
        save={"serial": "data.serial_number"},
    ),
    post("issue clamped", "issue/web", {"common_name": "a.example.com", "ttl": "100h"}),
    post("issue der", "issue/web", {"common_name": "a.example.com", "format": "der"}),
    post("issue cn not allowed", "issue/web", {"common_name": "a.other.com"}),
    post("issue bare not allowed", "issue/web", {"common_name": "example.com"}),
    post("issue bad hostname", "issue/web", {"common_name": "bad_host.example.com"}),
    post("issue san not allowed", "issue/web", {"common_name": "a.example.com", "alt_names": "x.other.com"}),
    post("issue bad ip", "issue/web", {"common_name": "a.example.com", "ip_sans": "nope"}),
    post("issue uri", "issue/web", {"common_name": "a.example.com", "uri_sans": "spiffe://x"}),
    post("issue without cn", "issue/web", {}),
    post("issue bad format", "issue/web", {"common_name": "a.example.com", "format": "xml"}),
    post("issue unknown role", "issue/nope", {"common_name": "a.example.com"}),
    get("read cert", "cert/${serial}"),
    post("revoke", "revoke", {"serial_number": "${serial}"}),
    post("revoke again", "revoke", {"serial_number": "${serial}"}),
    post("revoke missing", "revoke", {"serial_number": "00:11"}),
    post("revoke nothing", "revoke", {}),
    get("read revoked cert", "cert/${serial}"),
    get("crl rotate", "crl/rotate"),
    get("cert crl", "cert/crl"),
    post("leased role", "roles/leased", {"allow_any_name": True, "generate_lease": True, "key_type": "ec"}),
    post("issue leased", "issue/leased", {"common_name": "svc", "ttl": "1h"}),
    post("tidy nothing", "tidy", {}),
    Step("delete role", "DELETE", f"/v1/{M}/roles/web"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
]

_PEM = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----\n[A-Za-z0-9+/=\n]+-----END \1-----\n?")
_SERIAL = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2})+$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_B64_DER = re.compile(r"^M[A-Za-z0-9+/=]+$")
_TIMES = frozenset({"expiration", "not_before", "revocation_time"})


def _shape(text: str) -> str:
    """A PEM bundle as its block types, after checking each certificate parses."""
    blocks = _PEM.findall(text)
    for match in _PEM.finditer(text):
        if match.group(1) == "CERTIFICATE":
            x509.load_pem_x509_certificate(match.group(0).encode())
    return "<pem:" + ",".join(blocks) + ">"


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {_mask(k): _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and key in _TIMES and value:
        assert abs(value - time.time()) < 40 * 24 * 3600, (key, value)
        return "<time>"
    if not isinstance(value, str) or not value:
        return value
    if value.startswith("-----BEGIN"):
        return _shape(value)
    if _SERIAL.match(value):
        return "<serial>"
    if _UUID.match(value):
        return "<uuid>"
    if key in ("certificate", "issuing_ca", "ca_chain", "private_key") and _B64_DER.match(value):
        base64.b64decode(value, validate=True)
        return "<der>"
    if key == "revocation_time_rfc3339":
        return "<rfc3339>"
    if key == "lease_id":
        return value.rsplit("/", 1)[0] + "/<id>"
    return value


def _masked(answers: list[Answer]) -> list[Answer]:
    result = []
    for answer in answers:
        body = answer.body
        if isinstance(body, dict) and body.get("lease_duration"):
            assert 3500 <= body["lease_duration"] <= 3600
            body = {**body, "lease_duration": "<ttl>"}
        result.append(Answer(answer.status, _mask(body)))
    return result


INTENDED: list[Intended] = [
    Intended(
        "tidy nothing", "request_id", "OpenBao's 202 tidy answers carry an empty request_id; ours has one"
    ),
]


def test_pki_matches_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(run(server, STEPS))
    theirs = _masked(run(bao, STEPS))
    assert_alike(STEPS, ours, theirs, INTENDED)
