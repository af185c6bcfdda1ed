"""Differential test of the SSH secrets engine (CA mode): one script of requests to strongroom and to
OpenBao, answers compared.

Runs on the session servers, on a fresh mount of its own on each. Both import the same CA key, and sign
the same client keys, so certificates are compared field by field once decoded (serials, nonces and
signatures differ by nature; validity is compared as a length). Generated keys are masked to their type.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.interop.differential import Answer, Intended, Step, assert_alike, run
from tests.servers import RunningServer

M = "diffssh"


def _openssh_pair(
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return public.decode(), private


CA_PUBLIC, CA_PRIVATE = _openssh_pair(ed25519.Ed25519PrivateKey.generate())
RSA_CA = rsa.generate_private_key(65537, 2048)
RSA_CA_PUBLIC = _openssh_pair(RSA_CA)[0]
RSA_CA_PEM = RSA_CA.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
).decode()
USER_ED = _openssh_pair(ed25519.Ed25519PrivateKey.generate())[0]
USER_RSA = _openssh_pair(rsa.generate_private_key(65537, 2048))[0]
USER_EC = _openssh_pair(ec.generate_private_key(ec.SECP384R1()))[0]
ED = {"public_key": USER_ED}
HOST = {**ED, "cert_type": "host"}
ROLE = {
    "key_type": "ca",
    "allow_user_certificates": True,
    "allowed_users": "alice,bob",
    "default_user": "alice",
}


def post(name: str, path: str, body: Any = None) -> Step:
    return Step(name, "POST", f"/v1/{M}/{path}", body={} if body is None else body)


def get(name: str, path: str, token: str = "root") -> Step:
    return Step(name, "GET", f"/v1/{M}/{path}", token=token)


STEPS: list[Step] = [
    Step("enable", "POST", f"/v1/sys/mounts/{M}", body={"type": "ssh"}),
    get("read ca before", "config/ca"),
    get("public_key before", "public_key", token=""),
    post("role before ca", "roles/early", ROLE),
    post("sign before ca", "sign/early", ED),
    Step("delete early role", "DELETE", f"/v1/{M}/roles/early"),
    post("import with generate", "config/ca", {"generate_signing_key": True, "public_key": CA_PUBLIC}),
    post("import public only", "config/ca", {"public_key": CA_PUBLIC}),
    post("import private only", "config/ca", {"private_key": CA_PRIVATE}),
    post("import bad public", "config/ca", {"public_key": "ssh-ed25519 !!!", "private_key": CA_PRIVATE}),
    post("import bad private", "config/ca", {"public_key": CA_PUBLIC, "private_key": "nope"}),
    post("generate false without keys", "config/ca", {"generate_signing_key": False}),
    post("import", "config/ca", {"public_key": CA_PUBLIC, "private_key": CA_PRIVATE}),
    post("import again", "config/ca", {"public_key": CA_PUBLIC, "private_key": CA_PRIVATE}),
    get("read ca", "config/ca"),
    get("public_key", "public_key", token=""),
    post("missing key type", "roles/bad", {"allow_user_certificates": True}),
    post("invalid key type", "roles/bad", {"key_type": "nope", "allow_user_certificates": True}),
    post("dynamic key type", "roles/bad", {"key_type": "dynamic"}),
    post("neither cert type", "roles/bad", {"key_type": "ca"}),
    post("ttl above max", "roles/bad", {**ROLE, "ttl": "2h", "max_ttl": "1h"}),
    post("bad key lengths", "roles/bad", {**ROLE, "allowed_user_key_lengths": {"rsa": "x"}}),
    post("role", "roles/user", {**ROLE, "ttl": "1h", "max_ttl": "2h",
                                 "allowed_extensions": "permit-pty,permit-agent-forwarding",
                                 "default_extensions": {"permit-pty": ""},
                                 "allowed_critical_options": "force-command",
                                 "key_id_format": "{{role_name}}-{{public_key_hash}}"}),
    get("read role", "roles/user"),
    post("role KEY type upper", "roles/upper", {**ROLE, "key_type": "CA"}),
    post("host role", "roles/host", {"key_type": "ca", "allow_host_certificates": True,
                                      "allowed_domains": "example.com", "allow_subdomains": True}),
    post("any role", "roles/any", {"key_type": "ca", "allow_user_certificates": True, "allowed_users": "*",
                                    "allowed_extensions": "*", "allow_user_key_ids": True,
                                    "default_critical_options": {"source-address": "127.0.0.1/32"}}),
    post("empty role", "roles/empty", {"key_type": "ca", "allow_user_certificates": True,
                                        "allow_empty_principals": True, "algorithm_signer": "rsa-sha2-512"}),
    post("lengths role", "roles/lengths",
         {**ROLE, "allowed_user_key_lengths": {"rsa": [2048, 3072], "ec": 256}}),
    get("read lengths role", "roles/lengths"),
    Step("list roles", "LIST", f"/v1/{M}/roles"),
    get("read missing role", "roles/nope"),
    post("sign", "sign/user", ED),
    post("sign rsa key", "sign/user", {"public_key": USER_RSA, "valid_principals": "bob, alice,bob"}),
    post("sign ec key", "sign/user", {"public_key": USER_EC, "ttl": "30m"}),
    post("sign bare base64", "sign/user", {"public_key": USER_ED.split(" ")[1]}),
    post("sign unknown role", "sign/nope", ED),
    post("sign missing key", "sign/user", {}),
    post("sign bad key", "sign/user", {"public_key": "ssh-ed25519 AAAA"}),
    post("sign principal not allowed", "sign/user", {**ED, "valid_principals": "carol"}),
    post("sign host on user role", "sign/user", {**ED, "cert_type": "host"}),
    post("sign bad cert type", "sign/user", {**ED, "cert_type": "both"}),
    post("sign key id not allowed", "sign/user", {**ED, "key_id": "mine"}),
    post("sign ttl too long", "sign/user", {**ED, "ttl": "3h"}),
    post("sign extension not allowed", "sign/user", {**ED, "extensions": {"permit-X11-forwarding": ""}}),
    post("sign allowed extensions", "sign/user", {**ED, "extensions": {"permit-agent-forwarding": ""}}),
    post("sign critical refused", "sign/user", {**ED, "critical_options": {"source-address": "10.0.0.1"}}),
    post("sign critical allowed", "sign/user", {**ED, "critical_options": {"force-command": "true"}}),
    post("sign host", "sign/host", {**HOST, "valid_principals": "a.example.com"}),
    post("sign host bare refused", "sign/host", {**HOST, "valid_principals": "example.com"}),
    post("sign host no principals", "sign/host", HOST),
    post("sign any", "sign/any", {**ED, "valid_principals": "x,y", "key_id": "chosen",
                                  "extensions": {"anything": "v"}}),
    post("sign any defaults", "sign/any", ED),
    post("sign empty principals", "sign/empty", ED),
    post("sign lengths rsa ok", "sign/lengths", {"public_key": USER_RSA}),
    post("sign lengths ed refused", "sign/lengths", ED),
    post("sign lengths ec wrong size", "sign/lengths", {"public_key": USER_EC}),
    post("issue", "issue/user", {"key_type": "ed25519"}),
    post("issue ec", "issue/user", {"key_type": "ec", "key_bits": 384}),
    post("issue lengths refused type", "issue/lengths", {"key_type": "ed25519"}),
    post("issue lengths refused bits", "issue/lengths", {"key_type": "rsa", "key_bits": 4096}),
    post("issue unknown role", "issue/nope", {}),
    post("import rsa ca", "config/ca", {"public_key": RSA_CA_PUBLIC, "private_key": RSA_CA_PEM}),
    post("sign with rsa ca", "sign/user", ED),
    post("sign with rsa ca sha512", "sign/empty", ED),
    Step("delete ca", "DELETE", f"/v1/{M}/config/ca"),
    Step("delete ca again", "DELETE", f"/v1/{M}/config/ca"),
    post("generate ec ca", "config/ca", {"key_type": "ecdsa-sha2-nistp384"}),
    get("public_key ec", "public_key", token=""),
    Step("delete ec ca", "DELETE", f"/v1/{M}/config/ca"),
    post("generate ed ca", "config/ca", {"key_type": "ed25519"}),
    Step("delete ed ca", "DELETE", f"/v1/{M}/config/ca"),
    post("generate default ca", "config/ca", {}),
    Step("delete role", "DELETE", f"/v1/{M}/roles/user"),
    get("read deleted role", "roles/user"),
    get("bad role name", "roles/-x-"),
    Step("disable", "DELETE", f"/v1/sys/mounts/{M}"),
]  # fmt: skip


def _certificate(line: str) -> dict[str, Any]:
    cert = serialization.load_ssh_public_identity(line.strip().encode())
    assert isinstance(cert, serialization.SSHCertificate)
    signer = cert.signature_key()
    signer_line = signer.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    # The signature follows the CA key's blob: string(string(algorithm) + string(bytes)).
    raw = base64.b64decode(line.split(" ")[1])
    signer_wire = base64.b64decode(signer_line.split(b" ")[1])
    at = raw.rindex(signer_wire) + len(signer_wire) + 4
    algorithm_length = int.from_bytes(raw[at : at + 4], "big")
    subject = cert.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    # A key ID names the signed key by the SHA-256 of its wire form: masked only where it is exactly that.
    key_hash = hashlib.sha256(base64.b64decode(subject.split(b" ")[1])).hexdigest()
    return {
        "type": line.split(" ", 1)[0],
        "cert_type": cert.type.name,
        "key_id": cert.key_id.decode().replace(key_hash, "<sha256 of the key>"),
        "principals": [p.decode() for p in cert.valid_principals],
        "validity": cert.valid_before - cert.valid_after,
        "critical_options": {k.decode(): v.decode() for k, v in cert.critical_options.items()},
        "extensions": {k.decode(): v.decode() for k, v in cert.extensions.items()},
        "signature_key": signer_line.decode(),
        "signature_algorithm": raw[at + 4 : at + 4 + algorithm_length].decode(),
        "ends_with_newline": line.endswith("\n"),
    }


_HEX = re.compile(r"^[0-9a-f]{1,16}$")


def _mask(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _mask(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, str) and key == "signed_key":
        return _certificate(value)
    if isinstance(value, str) and key == "serial_number" and _HEX.match(value):
        return "<serial>"
    if isinstance(value, str) and key == "private_key" and "PRIVATE KEY-----" in value:
        return value.split("\n")[0]
    if (
        isinstance(value, str)
        and key == "public_key"
        and value not in (CA_PUBLIC + "\n", RSA_CA_PUBLIC + "\n")
    ):
        return value.split(" ")[0]
    if isinstance(value, str) and key == "issuer_id":
        return "<issuer_id>"
    return value


def _masked(steps: list[Step], answers: list[Answer]) -> list[Answer]:
    result = []
    for step, answer in zip(steps, answers, strict=True):
        body = answer.body
        if (
            step.name.startswith("public_key")
            and isinstance(body, str)
            and body.startswith(("ssh-", "ecdsa-"))
        ):
            body = body if body in (CA_PUBLIC + "\n", RSA_CA_PUBLIC + "\n") else body.split(" ")[0]
        result.append(Answer(answer.status, _mask(body)))
    return result


INTENDED: list[Intended] = [
    Intended(
        "sign empty principals",
        "status",
        "an algorithm_signer the CA key cannot use: 400 here, 500 in OpenBao",
    ),
    Intended("sign empty principals", "errors[0]", "the same words, without the 500's multierror wrapping"),
    Intended(
        "delete ca",
        "warnings[0]",
        "OpenBao keeps every key config/ca set as a non-default issuer (2 here); strongroom keeps one CA",
    ),
]


def test_ssh_matches_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(STEPS, run(server, STEPS))
    theirs = _masked(STEPS, run(bao, STEPS))
    assert_alike(STEPS, ours, theirs, INTENDED)


T = "diffsshtpl"
TEMPLATED_ROLE = {
    "key_type": "ca",
    "allow_user_certificates": True,
    "allowed_users": "{{identity.entity.metadata.ssh_user}},admin",
    "allowed_users_template": True,
    "default_user": "{{identity.entity.metadata.ssh_user}}",
    "default_user_template": True,
    "default_extensions": {"permit-pty": "", "login@example.com": "{{identity.entity.name}}"},
    "default_extensions_template": True,
    "key_id_format": "{{token_display_name}}",
}
CA = {"public_key": CA_PUBLIC, "private_key": CA_PRIVATE}
SIGN_POLICY = f'path "{T}/sign/*" {{ capabilities = ["update"] }}'


def as_ann(name: str, body: dict[str, Any]) -> Step:
    return Step(name, "POST", f"/v1/{T}/sign/tpl", body=body, token="${token}")


TEMPLATE_STEPS: list[Step] = [
    Step("enable ssh", "POST", f"/v1/sys/mounts/{T}", body={"type": "ssh"}),
    Step("import ca", "POST", f"/v1/{T}/config/ca", body=CA),
    Step("role", "POST", f"/v1/{T}/roles/tpl", body=TEMPLATED_ROLE),
    Step("policy", "POST", "/v1/sys/policies/acl/diffsshtpl", body={"policy": SIGN_POLICY}),
    Step("enable userpass", "POST", f"/v1/sys/auth/{T}-up", body={"type": "userpass"}),
    Step("user", "POST", f"/v1/auth/{T}-up/users/ann", body={"password": "pw", "token_policies": [T]}),
    Step("login", "POST", f"/v1/auth/{T}-up/login/ann", body={"password": "pw"}, token="",
         save={"token": "auth.client_token", "entity": "auth.entity_id"}),
    Step("entity metadata", "POST", "/v1/identity/entity/id/${entity}",
         body={"name": f"{T}-entity", "metadata": {"ssh_user": "ann-unix"}}),
    Step("sign as ann", "POST", f"/v1/{T}/sign/tpl", body=ED, token="${token}"),
    as_ann("sign as ann for admin", {**ED, "valid_principals": "admin,ann-unix"}),
    Step("sign as ann for bob", "POST", f"/v1/{T}/sign/tpl", body={**ED, "valid_principals": "bob"},
         token="${token}"),
    Step("sign as root keeps templates", "POST", f"/v1/{T}/sign/tpl", body=ED),
    Step("comma in metadata", "POST", "/v1/identity/entity/id/${entity}",
         body={"metadata": {"ssh_user": "ann,bob"}}),
    Step("sign with comma refused", "POST", f"/v1/{T}/sign/tpl", body={**ED, "valid_principals": "ann"},
         token="${token}"),
    Step("no metadata", "POST", "/v1/identity/entity/id/${entity}", body={"metadata": {}}),
    Step("sign without value refused", "POST", f"/v1/{T}/sign/tpl", body={**ED, "valid_principals": "admin"},
         token="${token}"),
    Step("delete entity", "DELETE", "/v1/identity/entity/id/${entity}"),
    Step("disable userpass", "DELETE", f"/v1/sys/auth/{T}-up"),
    Step("delete policy", "DELETE", "/v1/sys/policies/acl/diffsshtpl"),
    Step("disable ssh", "DELETE", f"/v1/sys/mounts/{T}"),
]  # fmt: skip


TEMPLATE_INTENDED = [
    Intended("sign * refused", "status", "a template that cannot be rendered: 400 here, 500 in OpenBao"),
    Intended("sign * refused", "errors[0]", "the same words, without the 500's multierror wrapping"),
]


def test_ssh_identity_templates_match_openbao(server: RunningServer, bao: RunningServer) -> None:
    ours = _masked(TEMPLATE_STEPS, run(server, TEMPLATE_STEPS))
    theirs = _masked(TEMPLATE_STEPS, run(bao, TEMPLATE_STEPS))
    assert_alike(TEMPLATE_STEPS, ours, theirs, TEMPLATE_INTENDED)
