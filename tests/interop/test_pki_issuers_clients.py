"""pki's multi-issuer API through real clients over HTTP: hvac (`client.secrets.pki`) and the bao CLI, with
the certificates checked by `cryptography` and by `openssl verify` (chains after set-signed and config/ca,
a re-signed self-issued root), and leaf_not_after_behavior and usage seen in the certificates issued."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import hvac
import hvac.exceptions
import pytest
from cryptography import x509

from tests.servers import RunningServer, bao_binary

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl is missing: run scripts/test-tools")
ROLE = {"allow_any_name": True, "key_type": "ec", "max_ttl": "2000h"}


@pytest.fixture
def hv(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    mounts: list[str] = []
    client.mounts = mounts  # type: ignore[attr-defined]
    yield client
    for mount in mounts:
        client.sys.disable_secrets_engine(mount)
    client.adapter.close()


def mount(client: hvac.Client) -> str:
    name = f"pki-{uuid.uuid4().hex[:8]}"
    client.sys.enable_secrets_engine("pki", path=name)
    client.mounts.append(name)  # type: ignore[attr-defined]
    return name


def cert_of(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def openssl_verify(tmp_path: Path, leaf: str, root: str, *untrusted: str) -> None:
    """Raises unless openssl accepts `leaf` up to the trusted `root` through the `untrusted` ones."""
    files = {}
    for name, pem in (("leaf", leaf), ("root", root), ("untrusted", "\n".join(untrusted))):
        files[name] = tmp_path / f"{name}-{uuid.uuid4().hex[:6]}.pem"
        files[name].write_text(pem.strip() + "\n")
    args = [str(OPENSSL), "verify", "-CAfile", str(files["root"])]
    if untrusted:
        args += ["-untrusted", str(files["untrusted"])]
    done = subprocess.run([*args, str(files["leaf"])], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def intermediate_of(client: hvac.Client, root_mount: str, ttl: str = "100h") -> tuple[str, dict[str, Any]]:
    """A new mount with an intermediate signed by `root_mount`'s default issuer, and set-signed's answer."""
    p = client.secrets.pki
    child = mount(client)
    csr = p.generate_intermediate(
        type="internal", common_name="Int CA", extra_params={"key_type": "ec"}, mount_point=child
    )["data"]["csr"]
    signed = p.sign_intermediate(
        csr=csr, common_name="Int CA", extra_params={"ttl": ttl}, mount_point=root_mount
    )["data"]
    assert cert_of(signed["ca_chain"][0]) == cert_of(signed["certificate"])
    done = p.set_signed_intermediate(signed["certificate"], mount_point=child)["data"]
    return child, done


@needs_openssl
def test_set_signed_then_root_import_builds_the_chain(hv: hvac.Client, tmp_path: Path) -> None:
    p = hv.secrets.pki
    top = mount(hv)
    root = p.generate_root(
        type="internal",
        common_name="Root CA",
        extra_params={"key_type": "ec", "ttl": "8760h"},
        mount_point=top,
    )["data"]
    child, done = intermediate_of(hv, top)
    [int_id] = done["imported_issuers"]
    assert done["mapping"][int_id]  # matched with the key intermediate/generate stored
    assert p.read_issuer("default", mount_point=child)["data"]["ca_chain"] == [
        p.read_issuer(int_id, mount_point=child)["data"]["certificate"]
    ]
    imported = p.submit_ca_information(root["certificate"], mount_point=child)["data"]
    [root_id] = imported["imported_issuers"]
    assert imported["mapping"] == {root_id: ""}
    again = p.submit_ca_information(root["certificate"], mount_point=child)["data"]
    assert again["existing_issuers"] == [root_id]
    assert again["imported_issuers"] is None
    issuer = p.read_issuer(int_id, mount_point=child)["data"]
    assert [cert_of(pem) for pem in issuer["ca_chain"]] == [
        cert_of(issuer["certificate"]),
        cert_of(root["certificate"]),
    ]
    listed = p.list_issuers(mount_point=child)["data"]
    assert sorted(listed["keys"]) == sorted([int_id, root_id])
    assert listed["key_info"][int_id]["is_default"] is True
    assert listed["key_info"][root_id] == {
        "is_default": False,
        "issuer_name": "",
        "key_id": "",
        "serial_number": root["serial_number"],
    }
    p.create_or_update_role("web", extra_params=ROLE, mount_point=child)
    leaf = p.generate_certificate("web", "svc.example.com", extra_params={"ttl": "1h"}, mount_point=child)[
        "data"
    ]
    assert [cert_of(pem) for pem in leaf["ca_chain"]] == [cert_of(pem) for pem in issuer["ca_chain"]]
    openssl_verify(tmp_path, leaf["certificate"], root["certificate"], issuer["certificate"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="Key in Use by Issuer"):
        hv.adapter.delete(f"/v1/{child}/key/{done['mapping'][int_id]}")


@needs_openssl
def test_sign_self_issued_resigns_another_root(hv: hvac.Client, tmp_path: Path) -> None:
    p = hv.secrets.pki
    ours, theirs = mount(hv), mount(hv)
    our_root = p.generate_root(
        type="internal", common_name="Our Root", extra_params={"key_type": "ec"}, mount_point=ours
    )["data"]
    their_root = p.generate_root(
        type="internal", common_name="Their Root", extra_params={"key_type": "rsa"}, mount_point=theirs
    )["data"]
    signed = p.sign_self_issued(their_root["certificate"], mount_point=ours)["data"]
    assert signed["issuing_ca"] == our_root["certificate"]
    resigned, original = cert_of(signed["certificate"]), cert_of(their_root["certificate"])
    assert resigned.subject == original.subject
    assert resigned.issuer == cert_of(our_root["certificate"]).subject
    assert resigned.serial_number == original.serial_number
    assert resigned.public_key() == original.public_key()
    resigned.verify_directly_issued_by(cert_of(our_root["certificate"]))
    openssl_verify(tmp_path, signed["certificate"], our_root["certificate"])
    # A leaf of their root now verifies up to ours through the re-signed certificate.
    p.create_or_update_role("web", extra_params={**ROLE, "key_type": "rsa"}, mount_point=theirs)
    leaf = p.generate_certificate("web", "a.example.com", extra_params={"ttl": "1h"}, mount_point=theirs)
    openssl_verify(tmp_path, leaf["data"]["certificate"], our_root["certificate"], signed["certificate"])
    with pytest.raises(hvac.exceptions.InvalidRequest, match="require_matching_certificate_algorithms"):
        hv.write_data(
            f"{ours}/root/sign-self-issued",
            data={"certificate": their_root["certificate"], "require_matching_certificate_algorithms": True},
        )


def test_leaf_not_after_behavior_and_usage(hv: hvac.Client) -> None:
    p = hv.secrets.pki
    top = mount(hv)
    p.generate_root(type="internal", common_name="Root", extra_params={"key_type": "ec"}, mount_point=top)
    child, _ = intermediate_of(hv, top, ttl="100h")
    ca_end = cert_of(p.read_issuer("default", mount_point=child)["data"]["certificate"]).not_valid_after_utc
    p.create_or_update_role("web", extra_params=ROLE, mount_point=child)

    def issue(**extra: Any) -> datetime.datetime:
        answer = p.generate_certificate(
            "web", "a.example.com", extra_params={"ttl": "300h", **extra}, mount_point=child
        )
        return cert_of(answer["data"]["certificate"]).not_valid_after_utc

    with pytest.raises(hvac.exceptions.InvalidRequest, match="beyond the expiration of the CA certificate"):
        issue()
    p.update_issuer("default", extra_params={"leaf_not_after_behavior": "truncate"}, mount_point=child)
    assert issue() == ca_end
    p.update_issuer("default", extra_params={"leaf_not_after_behavior": "permit"}, mount_point=child)
    assert issue() > ca_end
    updated = p.update_issuer("default", extra_params={"usage": "read-only,crl-signing"}, mount_point=child)
    assert updated["data"]["usage"] == "crl-signing,read-only"
    assert updated["data"]["leaf_not_after_behavior"] == "err"  # an update sets every setting
    with pytest.raises(hvac.exceptions.InvalidRequest, match="requested usage issuing-certificates"):
        issue(ttl="1h")


def test_keys_generate_import_and_config_ca_bundle(hv: hvac.Client) -> None:
    p = hv.secrets.pki
    source, target = mount(hv), mount(hv)
    exported = hv.write_data(
        f"{source}/root/generate/exported", data={"common_name": "Bundle Root", "key_type": "ec"}
    )
    bundle = exported["data"]["private_key"] + "\n" + exported["data"]["certificate"]
    imported = p.submit_ca_information(bundle, mount_point=target)["data"]
    [issuer_id], [key_id] = imported["imported_issuers"], imported["imported_keys"]
    assert imported["mapping"] == {issuer_id: key_id}
    keys = hv.list(f"{target}/keys")["data"]
    assert keys["key_info"] == {key_id: {"is_default": True, "key_name": ""}}
    key = hv.read(f"{target}/key/default")["data"]
    skid = cert_of(exported["data"]["certificate"]).extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    )
    assert key["subject_key_id"] == ":".join(f"{b:02x}" for b in skid.value.digest)
    p.create_or_update_role("web", extra_params=ROLE, mount_point=target)
    leaf = p.generate_certificate("web", "a.example.com", extra_params={"ttl": "1h"}, mount_point=target)
    cert_of(leaf["data"]["certificate"]).verify_directly_issued_by(cert_of(exported["data"]["certificate"]))
    generated = hv.write_data(
        f"{target}/keys/generate/exported", data={"key_type": "ed25519", "key_name": "spare"}
    )
    assert generated["data"]["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    again = hv.write_data(f"{target}/keys/import", data={"pem_bundle": generated["data"]["private_key"]})
    assert again["data"]["key_id"] == generated["data"]["key_id"]
    assert again["warnings"] == ["Key already imported, use key/ endpoint to update name."]
    assert "private_key" not in hv.read(f"{target}/key/spare")["data"]
    deleted = p.delete_root(mount_point=target)
    assert deleted["warnings"][0].startswith("DELETE /root deletes all keys and issuers")
    assert hv.list(f"{target}/keys") is None  # hvac's answer to a LIST that found nothing (404)
    assert hv.list(f"{target}/issuers") is None
    assert p.read_issuer("default", mount_point=source)["data"]["certificate"]  # other mounts keep theirs


@pytest.fixture
def bao(server: RunningServer, tmp_path: Path) -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert (done.returncode == 0) == ok, f"bao {' '.join(args)}: {done.stdout}{done.stderr}"
        return done

    name = f"pki-{uuid.uuid4().hex[:8]}"
    run("secrets", "enable", f"-path={name}", "pki")
    yield run, name
    run("secrets", "disable", name)


def test_bao_cli_issuers_and_keys(bao: Any, server: RunningServer, tmp_path: Path) -> None:
    run, m = bao

    def js(*args: str) -> Any:
        return json.loads(run(args[0], "-format=json", *args[1:]).stdout)

    root = js(
        "write", f"{m}/root/generate/internal", "common_name=CLI Root", "key_type=ec", "issuer_name=first"
    )
    root = root["data"]
    listed = js("list", f"{m}/issuers")
    assert listed == [root["issuer_id"]]
    assert js("read", f"{m}/issuer/first")["data"]["issuer_id"] == root["issuer_id"]
    assert js("write", f"{m}/issuer/first", "issuer_name=renamed")["data"]["issuer_name"] == "renamed"
    patched = js("patch", f"{m}/issuer/renamed", "leaf_not_after_behavior=truncate")
    assert patched["data"]["leaf_not_after_behavior"] == "truncate"
    assert patched["data"]["issuer_name"] == "renamed"  # a patch keeps what it does not name
    pem = run("read", "-field=certificate", f"{m}/issuer/renamed/json").stdout
    assert cert_of(pem) == cert_of(root["certificate"])
    with httpx.Client(base_url=server.address, headers={"X-Vault-Token": server.root_token}) as http:
        der = http.get(f"/v1/{m}/issuer/renamed/der")
        assert der.headers["content-type"] == "application/pkix-cert"
        assert x509.load_der_x509_certificate(der.content) == cert_of(root["certificate"])
    run("write", f"{m}/keys/generate/internal", "key_type=ec", "key_name=spare")
    assert len(js("list", f"{m}/keys")) == 2
    refused = run("delete", f"{m}/key/{root['key_id']}", ok=False)
    assert "Failed to Delete Key.  Key in Use by Issuer: " + root["issuer_id"] in refused.stderr
    run("delete", f"{m}/key/spare")
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(root["certificate"])
    again = js("write", f"{m}/config/ca", f"pem_bundle=@{bundle}")["data"]
    assert again["existing_issuers"] == [root["issuer_id"]]
    run("delete", f"{m}/root")
    assert run("list", f"{m}/issuers", ok=False).returncode == 2


def test_revoked_intermediate_is_on_its_parents_crl(hv: hvac.Client, server: RunningServer) -> None:
    """Root and intermediate in one mount: the chain is built from the mount's issuers, and revoking the
    intermediate puts it on the root's CRL, read raw from issuer/<ref>/crl/der."""
    p = hv.secrets.pki
    m = mount(hv)
    root = p.generate_root(
        type="internal",
        common_name="Root",
        extra_params={"key_type": "ec", "issuer_name": "root"},
        mount_point=m,
    )["data"]
    csr = hv.write_data(
        f"{m}/issuers/generate/intermediate/internal", data={"common_name": "Int", "key_type": "ec"}
    )
    signed = hv.write_data(
        f"{m}/issuer/root/sign-intermediate",
        data={"csr": csr["data"]["csr"], "common_name": "Int", "ttl": "10h"},
    )["data"]
    [int_id] = p.set_signed_intermediate(signed["certificate"], mount_point=m)["data"]["imported_issuers"]
    chain = p.read_issuer(int_id, mount_point=m)["data"]["ca_chain"]
    assert [cert_of(pem) for pem in chain] == [cert_of(signed["certificate"]), cert_of(root["certificate"])]
    revoked = p.revoke_issuer(int_id, mount_point=m)
    assert revoked["data"]["revoked"] is True
    assert "issuing-certificates" not in revoked["data"]["usage"]
    with httpx.Client(base_url=server.address, headers={"X-Vault-Token": server.root_token}) as http:
        der = http.get(f"/v1/{m}/issuer/root/crl/der")
        assert der.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(der.content)
    assert crl.is_signature_valid(cert_of(root["certificate"]).public_key())  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(cert_of(signed["certificate"]).serial_number)
    assert entry is not None
    p.create_or_update_role("web", extra_params={**ROLE, "issuer_ref": int_id}, mount_point=m)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="requested usage issuing-certificates"):
        p.generate_certificate("web", "a.example.com", mount_point=m)


def test_issuer_urls_replace_the_mounts_in_what_it_signs(hv: hvac.Client) -> None:
    p = hv.secrets.pki
    m = mount(hv)
    p.generate_root(type="internal", common_name="Root", extra_params={"key_type": "ec"}, mount_point=m)
    p.set_urls({"issuing_certificates": ["http://mount.test/ca"]}, mount_point=m)
    p.create_or_update_role("web", extra_params=ROLE, mount_point=m)

    def ca_issuers() -> list[str]:
        leaf = p.generate_certificate("web", "a.example.com", extra_params={"ttl": "1h"}, mount_point=m)[
            "data"
        ]
        access = cert_of(leaf["certificate"]).extensions.get_extension_for_class(
            x509.AuthorityInformationAccess
        )
        return [str(entry.access_location.value) for entry in access.value]

    assert ca_issuers() == ["http://mount.test/ca"]
    p.update_issuer(
        "default", extra_params={"issuing_certificates": ["http://issuer.test/ca"]}, mount_point=m
    )
    assert ca_issuers() == ["http://issuer.test/ca"]


@needs_openssl
def test_three_level_chain_from_a_set_signed_bundle(hv: hvac.Client, tmp_path: Path) -> None:
    """set-signed with the whole bundle: every certificate becomes an issuer and the new one's chain runs
    up to the root, whatever the bundle's order."""
    p = hv.secrets.pki
    top = mount(hv)
    root = p.generate_root(
        type="internal", common_name="Root", extra_params={"key_type": "ec"}, mount_point=top
    )["data"]
    middle, _ = intermediate_of(hv, top, ttl="200h")
    int_pem = p.read_issuer("default", mount_point=middle)["data"]["certificate"]
    p.submit_ca_information(root["certificate"], mount_point=middle)
    bottom = mount(hv)
    csr = p.generate_intermediate(
        type="internal", common_name="Sub CA", extra_params={"key_type": "ec"}, mount_point=bottom
    )["data"]["csr"]
    signed = hv.write_data(
        f"{middle}/issuer/default/sign-intermediate",
        data={"csr": csr, "common_name": "Sub CA", "ttl": "100h"},
    )["data"]
    assert [cert_of(pem) for pem in signed["ca_chain"]] == [
        cert_of(signed["certificate"]),
        cert_of(int_pem),
        cert_of(root["certificate"]),
    ]
    bundle = "\n".join([root["certificate"], signed["certificate"], int_pem])
    done = p.set_signed_intermediate(bundle, mount_point=bottom)["data"]
    assert len(done["imported_issuers"]) == 3
    [sub_id] = [issuer for issuer, key in done["mapping"].items() if key]
    chain = p.read_issuer(sub_id, mount_point=bottom)["data"]["ca_chain"]
    assert [cert_of(pem) for pem in chain] == [
        cert_of(signed["certificate"]),
        cert_of(int_pem),
        cert_of(root["certificate"]),
    ]
    assert p.read_issuer("default", mount_point=bottom)["data"]["issuer_id"] == sub_id
    p.create_or_update_role("web", extra_params=ROLE, mount_point=bottom)
    leaf = p.generate_certificate("web", "deep.example.com", extra_params={"ttl": "1h"}, mount_point=bottom)
    openssl_verify(tmp_path, leaf["data"]["certificate"], root["certificate"], int_pem, signed["certificate"])


def test_bao_pki_issue_list_intermediates_and_verify_sign(bao: Any) -> None:
    """The CLI's own pki commands, which drive issuers/generate/intermediate, issuer/<ref>/sign-intermediate,
    issuers/import/cert and issuer/<ref>/json."""
    run, parent = bao
    child = f"{parent}-child"
    run("secrets", "enable", f"-path={child}", "pki")
    try:
        # A root that outlives the intermediate `pki issue` asks for with the mount's default TTL (both
        # are capped by the mount's max TTL, which is raised for the root).
        run("secrets", "tune", "-max-lease-ttl=8760h", parent)
        root = ("common_name=Root", "key_type=ec", "issuer_name=root", "ttl=8760h")
        run("write", f"{parent}/root/generate/internal", *root)
        issued = run(
            "pki", "issue", "-format=json", "-issuer_name=int", f"/{parent}/issuer/root", f"/{child}",
            "common_name=Int", "key_type=ec",
        )  # fmt: skip
        answer = json.loads(issued.stdout)["data"]
        assert answer["issuer_name"] == "int"
        assert answer["key_id"]
        assert len(answer["ca_chain"]) == 2
        listed = run(
            "pki", "list-intermediates", "-format=json", f"/{parent}/issuer/root", f"/{child}/issuer/int"
        )
        assert json.loads(listed.stdout) == {f"{child}/issuer/int": True}
        verified = run("pki", "verify-sign", "-format=json", f"/{parent}/issuer/root", f"/{child}/issuer/int")
        assert json.loads(verified.stdout) == {
            "key_id_match": True,
            "path_match": True,
            "signature_match": True,
            "subject_match": True,
            "trust_match": True,
        }
    finally:
        run("secrets", "disable", child)


def test_issuers_and_keys_lists_page_by_id(hv: hvac.Client, server: RunningServer) -> None:
    m = mount(hv)
    for name in ("a", "b", "c"):
        hv.write_data(
            f"{m}/root/generate/internal", data={"common_name": name, "key_type": "ec", "issuer_name": name}
        )
    with httpx.Client(base_url=server.address, headers={"X-Vault-Token": server.root_token}) as http:
        for listed in ("issuers", "keys"):
            everything = http.request("LIST", f"/v1/{m}/{listed}").json()["data"]["keys"]
            assert len(everything) == 3
            first = http.request("LIST", f"/v1/{m}/{listed}?limit=1").json()["data"]
            assert first["keys"] == sorted(everything)[:1]
            assert list(first["key_info"]) == first["keys"]
            rest = http.request("LIST", f"/v1/{m}/{listed}?after={first['keys'][0]}").json()["data"]["keys"]
            assert rest == sorted(everything)[1:]
