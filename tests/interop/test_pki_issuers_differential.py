"""Differential test of pki's multi-issuer API: issuers, keys, config/ca imports, set-signed, usage and
leaf_not_after_behavior, DELETE root. One script of requests to strongroom and to OpenBao, answers compared.

Runs on the session servers, on two fresh mounts of its own on each (a root mount and an intermediate
mount). Certificates, keys, serials and ids differ by nature and are masked to their shapes first (see
test_pki_differential).
"""

from __future__ import annotations

import re
from typing import Any

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.interop.test_pki_differential import _masked
from tests.servers import RunningServer

R = "diffpkiroot"
M = "diffpkiint"


def post(name: str, path: str, body: Any = None, mount: str = M, **kw: Any) -> Step:
    return Step(name, "POST", f"/v1/{mount}/{path}", body={} if body is None else body, **kw)


def patch(name: str, path: str, body: Any) -> Step:
    return Step(
        name, "PATCH", f"/v1/{M}/{path}", body=body, headers={"Content-Type": "application/merge-patch+json"}
    )


def get(name: str, path: str, mount: str = M, **kw: Any) -> Step:
    return Step(name, "GET", f"/v1/{mount}/{path}", **kw)


def delete(name: str, path: str) -> Step:
    return Step(name, "DELETE", f"/v1/{M}/{path}")


def listing(name: str, path: str) -> Step:
    return Step(name, "LIST", f"/v1/{M}/{path}")


ROLE = {"allow_any_name": True, "key_type": "ec", "max_ttl": "1000h"}
STEPS: list[Step] = [
    Step("enable root", "POST", f"/v1/sys/mounts/{R}", body={"type": "pki"}),
    Step("enable", "POST", f"/v1/sys/mounts/{M}", body={"type": "pki"}),
    listing("no issuers", "issuers"),
    listing("no keys", "keys"),
    get("config issuers empty", "config/issuers"),
    get("config keys empty", "config/keys"),
    post(
        "root",
        "root/generate/internal",
        {"common_name": "Root CA", "key_type": "ec", "issuer_name": "root", "ttl": "8760h"},
        mount=R,
        save={"root_pem": "data.certificate"},
    ),
    get("root issuer read", "issuer/root", mount=R),
    post(
        "intermediate csr",
        "intermediate/generate/internal",
        {"common_name": "Int CA", "key_type": "ec", "key_name": "ik"},
        save={"csr": "data.csr", "ik": "data.key_id"},
    ),
    post("csr key name taken", "intermediate/generate/internal", {"common_name": "x", "key_name": "ik"}),
    listing("keys after csr", "keys"),
    get("config keys after csr", "config/keys"),
    get("config issuers before set-signed", "config/issuers"),
    get("read key by name", "key/ik"),
    get("read default key", "key/default"),
    post(
        "sign intermediate",
        "root/sign-intermediate",
        {"csr": "${csr}", "common_name": "Int CA", "ttl": "100h"},
        mount=R,
        save={"int_pem": "data.certificate"},
    ),
    post("set-signed empty", "intermediate/set-signed", {}),
    post("set-signed short", "intermediate/set-signed", {"certificate": "short"}),
    post("set-signed garbage", "intermediate/set-signed", {"certificate": "x" * 100}),
    post(
        "set-signed",
        "intermediate/set-signed",
        {"certificate": "${int_pem}"},
        save={"int": "data.imported_issuers.0"},
    ),
    post("set-signed again", "intermediate/set-signed", {"certificate": "${int_pem}"}),
    listing("issuers after set-signed", "issuers"),
    get("default issuer", "issuer/default"),
    get("issuer json", "issuer/default/json"),
    get("issuer json without a token", "issuer/default/json", token=""),
    get("issuer without a token", "issuer/default", token=""),
    Step("list issuers without a token", "LIST", f"/v1/{M}/issuers", token=""),
    Step("list keys without a token", "LIST", f"/v1/{M}/keys", token=""),
    get("issuer crl without a token", "issuer/default/crl", token=""),
    post("import root", "config/ca", {"pem_bundle": "${root_pem}"}, save={"root": "data.imported_issuers.0"}),
    post("import root again", "config/ca", {"pem_bundle": "${root_pem}"}),
    post("config/ca empty", "config/ca", {}),
    post("config/ca short", "config/ca", {"pem_bundle": "short"}),
    get("chain rebuilt", "issuer/${int}"),
    get("imported root", "issuer/${root}"),
    post("rename", "issuer/${int}", {"issuer_name": "int", "leaf_not_after_behavior": "err"}),
    post("name taken", "issuer/${root}", {"issuer_name": "int"}),
    post("name default", "issuer/${root}", {"issuer_name": "default"}),
    post("name invalid", "issuer/${root}", {"issuer_name": "bad name"}),
    post("bad behavior", "issuer/int", {"issuer_name": "int", "leaf_not_after_behavior": "bogus"}),
    post("bad usage", "issuer/int", {"issuer_name": "int", "usage": "bogus"}),
    post("crl-signing on keyless root ok", "issuer/${root}", {"usage": "read-only,crl-signing"}),
    post(
        "bad sig alg for ec",
        "issuer/int",
        {"issuer_name": "int", "revocation_signature_algorithm": "sha256withrsa"},
    ),
    post(
        "sig alg", "issuer/int", {"issuer_name": "int", "revocation_signature_algorithm": "ecdsawithsha384"}
    ),
    patch("patch usage", "issuer/int", {"usage": "read-only,crl-signing"}),
    post("roles", "roles/web", ROLE),
    post("issue refused by usage", "issue/web", {"common_name": "a.example.com"}),
    post("issue via issuer refused by usage", "issuer/int/issue/web", {"common_name": "a.example.com"}),
    patch("patch usage back", "issuer/int", {"usage": "issuing-certificates,crl-signing"}),
    post("issue too long", "issue/web", {"common_name": "a.example.com", "ttl": "200h"}),
    patch("truncate", "issuer/int", {"leaf_not_after_behavior": "truncate"}),
    post("issue truncated", "issuer/int/issue/web", {"common_name": "a.example.com", "ttl": "200h"}),
    patch("permit", "issuer/int", {"leaf_not_after_behavior": "permit"}),
    post("issue permitted", "issue/web", {"common_name": "a.example.com", "ttl": "200h"}),
    get("read after patches", "issuer/int"),
    post(
        "sign via issuer",
        "issuer/int/sign/web",
        {"csr": "${csr}", "common_name": "a.example.com", "ttl": "1h"},
    ),
    post("sign-verbatim via issuer", "issuer/int/sign-verbatim/web", {"csr": "${csr}", "ttl": "1h"}),
    post("sign-verbatim via missing issuer", "issuer/nope/sign-verbatim", {"csr": "${csr}"}),
    post(
        "sign-intermediate permitted",
        "issuer/int/sign-intermediate",
        {"csr": "${csr}", "common_name": "Sub CA", "ttl": "300h"},
    ),
    post("config issuers default nope", "config/issuers", {"default": "nope"}),
    post("config issuers default empty", "config/issuers", {}),
    post("config issuers keyless", "config/issuers", {"default": "${root}"}),
    post("config issuers back", "config/issuers", {"default": "int", "default_follows_latest_issuer": True}),
    post("generate key", "keys/generate/internal", {"key_type": "ec", "key_name": "g1"}),
    post("generate exported", "keys/generate/exported", {"key_type": "ed25519"}),
    post("generate bad bits", "keys/generate/internal", {"key_type": "rsa", "key_bits": 1024}),
    post("generate kms", "keys/generate/kms", {}),
    post("generate bogus", "keys/generate/bogus", {}),
    post("generate name taken", "keys/generate/internal", {"key_name": "g1"}),
    post("generate name default", "keys/generate/internal", {"key_name": "default"}),
    post("generate name invalid", "keys/generate/internal", {"key_name": "bad name"}),
    post("config keys", "config/keys", {"default": "g1"}),
    post("config keys nope", "config/keys", {"default": "nope"}),
    post("config keys empty", "config/keys", {}),
    post("rename key", "key/g1", {"key_name": "g2"}),
    post("unname key", "key/g2", {}),
    get("read missing key", "key/g2"),
    delete("delete key in use", "key/ik"),
    delete("delete missing key", "key/nope"),
    delete("delete missing issuer", "issuer/nope"),
    delete("delete default issuer", "issuer/int"),
    listing("issuers after delete", "issuers"),
    get("config issuers after delete", "config/issuers"),
    post("issue without default", "issue/web", {"common_name": "a.example.com"}),
    delete("delete key now free", "key/ik"),
    post(
        "exported root elsewhere",
        "root/generate/exported",
        {"common_name": "Other Root", "key_type": "ec", "issuer_name": "other"},
        mount=R,
        save={"other_pem": "data.certificate", "other_key": "data.private_key"},
    ),
    post(
        "config/ca key only refused on set-signed", "intermediate/set-signed", {"certificate": "${other_key}"}
    ),
    post(
        "config/ca bundle",
        "config/ca",
        {"pem_bundle": "${other_key}\n${other_pem}"},
        save={"other": "data.imported_issuers.0"},
    ),
    post("config/ca bundle again", "config/ca", {"pem_bundle": "${other_pem}\n${other_key}"}),
    post("keys/import existing", "keys/import", {"pem_bundle": "${other_key}"}),
    post("keys/import short", "keys/import", {"pem_bundle": "short"}),
    post("keys/import two", "keys/import", {"pem_bundle": "${other_key}\n${other_key}"}),
    get("imported issuer", "issuer/${other}"),
    listing("keys after import", "keys"),
    get("config issuers after import", "config/issuers"),
    post("issue with imported default", "issue/web", {"common_name": "b.example.com", "ttl": "1h"}),
    post("sign-self-issued not self-issued", "root/sign-self-issued", {"certificate": "${int_pem}"}),
    post("sign-self-issued garbage", "root/sign-self-issued", {"certificate": "nope"}),
    post("sign-self-issued", "root/sign-self-issued", {"certificate": "${root_pem}"}),
    post("sign-self-issued via issuer", "issuer/${other}/sign-self-issued", {"certificate": "${root_pem}"}),
    post(
        "rotate",
        "root/rotate/internal",
        {"common_name": "Rotated", "key_type": "ec", "issuer_name": "next"},
        save={"next": "data.issuer_id"},
    ),
    get("config issuers after rotate", "config/issuers"),
    get("issuer pem missing", "issuer/nope/json"),
    post("manual chain bad first", "issuer/next", {"issuer_name": "next", "manual_chain": "${other}"}),
    post("manual chain", "issuer/next", {"issuer_name": "next", "manual_chain": "self,${other}"}),
    patch("patch name empty", "issuer/next", {"issuer_name": ""}),
    patch(
        "patch urls", "issuer/${other}", {"issuing_certificates": "http://ca.test/a", "ocsp_servers": "nope"}
    ),
    patch("patch urls ok", "issuer/${other}", {"issuing_certificates": "http://ca.test/a"}),
    post(
        "issue with issuer urls", "issuer/${other}/issue/web", {"common_name": "c.example.com", "ttl": "1h"}
    ),
    post("revoke issuer", "issuer/${next}/revoke"),
    post("revoke issuer again", "issuer/${next}/revoke"),
    get("read revoked issuer", "issuer/${next}"),
    post("revoked cannot issue again", "issuer/${next}", {"usage": "issuing-certificates"}),
    post("issue with revoked issuer", "issuer/${next}/issue/web", {"common_name": "d.example.com"}),
    get("issuer crl", "issuer/${other}/crl"),
    get("keyless issuer crl", "issuer/${root}/crl"),
    post("root replace missing", "root/replace", {}),
    post("root replace", "root/replace", {"default": "${other}"}),
    post("existing key with type", "root/generate/existing", {"common_name": "E", "key_type": "ec"}),
    post("existing key missing", "root/generate/existing", {"common_name": "E", "key_ref": "nope"}),
    post("existing key", "issuers/generate/root/existing", {"common_name": "E", "key_ref": "default"}),
    post("kms refused", "root/generate/kms", {"common_name": "E"}),
    post("existing intermediate", "issuers/generate/intermediate/existing", {"common_name": "I"}),
    post("import cert refuses keys", "issuers/import/cert", {"pem_bundle": "${other_key}\n${other_pem}"}),
    post("import bundle", "issuers/import/bundle", {"pem_bundle": "${other_key}\n${other_pem}"}),
    post("import bogus", "issuers/import/bogus", {"pem_bundle": "${other_pem}"}),
    delete("delete root", "root"),
    listing("issuers after delete root", "issuers"),
    listing("keys after delete root", "keys"),
    get("config keys after delete root", "config/keys"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
    Step("disable root", "DELETE", f"/v1/sys/mounts/{R}"),
]

_UUID_IN_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME_IN_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")
_MULTIERROR = re.compile(r"^1 error occurred:\n\t\* (.*)\n\n$", re.DOTALL)


def _text(value: Any) -> Any:
    """Ids and times inside messages masked (the two servers run seconds apart), and Go's
    one-error multierror wrapper unwrapped (OpenBao wraps the errors it answers with 500)."""
    if isinstance(value, dict):
        if value and all(_UUID_IN_TEXT.fullmatch(k) for k in value):
            # key_info and mapping are keyed by random ids: compared as the sorted list of their values.
            return sorted((_text(v) for v in value.values()), key=repr)
        return {k: _text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_text(v) for v in value]
    if isinstance(value, str):
        value = _MULTIERROR.sub(r"\1", value)
        return _TIME_IN_TEXT.sub("<time>", _UUID_IN_TEXT.sub("<uuid>", value))
    return value


def _normalized(answers: list[Answer]) -> list[Answer]:
    return _masked([Answer(answer.status, _text(answer.body)) for answer in answers])


WE_REFUSE_WITH_400 = "OpenBao answers this refusal of the request with a 500; a refused request is a 400 here"
INTENDED: list[Intended] = [
    Intended(name, "status", WE_REFUSE_WITH_400)
    for name in (
        "bad sig alg for ec",
        "issue refused by usage",
        "issue via issuer refused by usage",
        "read missing key",
        "issue without default",
        "issuer pem missing",
        "issue with revoked issuer",
        "keyless issuer crl",
        "sign-verbatim via missing issuer",
    )
] + [
    Intended(
        "delete missing issuer", "status", "an empty answer is a 204 here; OpenBao sends 200 with nulls"
    ),
    Intended("delete missing issuer", "body", "an empty answer is a 204 here; OpenBao sends 200 with nulls"),
]


def test_pki_issuers_match_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _normalized(run(server, STEPS))
    theirs = _normalized(run(bao, STEPS))
    assert_alike(STEPS, ours, theirs, INTENDED)
