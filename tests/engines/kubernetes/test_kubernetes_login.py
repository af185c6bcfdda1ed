"""auth/kubernetes login end to end: hvac against a strongroom dev server whose kubernetes mount asks the
stand-in API server (tests/kubeapi.py, real HTTPS) for TokenReviews of service-account JWTs it signed."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest
from tests.jwks import rsa_key
from tests.kubeapi import Account, KubeAPI
from tests.servers import RunningServer, bao_binary
from tests.tls import ScratchCA

_mounts = itertools.count()
APP = Account("apps", "billing")


@pytest.fixture
def client(server: RunningServer) -> hvac.Client:
    return hvac.Client(url=server.address, token=server.root_token)


@pytest.fixture
def mount(client: hvac.Client, kube: KubeAPI) -> Iterator[str]:
    """A fresh kubernetes mount configured for the stand-in, the login's own JWT as the review bearer."""
    path = f"k8s{next(_mounts)}"
    client.sys.enable_auth_method("kubernetes", path=path)
    client.auth.kubernetes.configure(kube.address, kubernetes_ca_cert=kube.ca_pem, mount_point=path)
    kube.self_review = True
    yield path
    client.sys.disable_auth_method(path)


def role(client: hvac.Client, mount: str, name: str = "app", **extra: Any) -> None:
    body = {"bound_service_account_names": "billing", "bound_service_account_namespaces": "apps"}
    body |= {"token_policies": "app-read", "token_ttl": "1h"} | extra
    client.write_data(f"auth/{mount}/role/{name}", data=body)


def login(server: RunningServer, mount: str, jwt: str, role_name: str = "app") -> dict[str, Any]:
    fresh = hvac.Client(url=server.address)
    answer: dict[str, Any] = fresh.auth.kubernetes.login(role_name, jwt, mount_point=mount)
    return answer


def refused(server: RunningServer, mount: str, jwt: str, role_name: str = "app") -> tuple[type, list[str]]:
    with pytest.raises(hvac.exceptions.VaultError) as caught:
        login(server, mount, jwt, role_name)
    errors = caught.value.errors or []
    assert all(jwt not in e for e in errors)
    return type(caught.value), errors


def test_projected_token_logs_in_with_vaults_metadata(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount)
    jwt = kube.issue(APP)
    auth = login(server, mount, jwt)["auth"]
    expected = {
        "service_account_uid": APP.uid,
        "service_account_name": "billing",
        "service_account_namespace": "apps",
        "service_account_secret_name": "",
        "role": "app",
    }
    assert auth["metadata"] == expected
    assert auth["policies"] == ["app-read", "default"]
    assert auth["lease_duration"] == 3600
    assert kube.reviews[-1]["token"] == jwt
    assert kube.bearers[-1] == jwt, "without a reviewer JWT the login's own JWT is the bearer"
    looked = hvac.Client(url=server.address, token=auth["client_token"]).auth.token.lookup_self()["data"]
    assert looked["display_name"] == f"{mount}-apps-billing"
    assert looked["path"] == f"auth/{mount}/login"
    alias = client.secrets.identity.read_entity(looked["entity_id"])["data"]["aliases"][0]
    assert alias["name"] == APP.uid
    assert alias["metadata"]["service_account_name"] == "billing"


def test_legacy_secret_token_and_alias_by_name(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount, alias_name_source="serviceaccount_name")
    auth = login(server, mount, kube.issue(APP, legacy=True))["auth"]
    assert auth["metadata"]["service_account_secret_name"] == "billing-token-x7k2p"
    entity_id = auth["entity_id"]
    alias = client.secrets.identity.read_entity(entity_id)["data"]["aliases"][0]
    assert alias["name"] == "apps/billing"
    again = login(server, mount, kube.issue(APP))["auth"]
    assert again["entity_id"] == entity_id, "the same account maps to the same entity"


def test_reviewer_jwt_is_the_bearer_when_configured(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    reviewer = kube.issue(Account("strongroom", "strongroom-auth"))
    kube.reviewers.add(reviewer)
    kube.self_review = False
    role(client, mount)
    jwt = kube.issue(APP)
    assert refused(server, mount, jwt) == (hvac.exceptions.Forbidden, ["permission denied"])
    client.auth.kubernetes.configure(
        kube.address, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=reviewer, mount_point=mount
    )
    login(server, mount, jwt)
    assert kube.bearers[-1] == reviewer
    config = client.auth.kubernetes.read_config(mount_point=mount)
    assert config["token_reviewer_jwt_set"] is True
    assert reviewer not in str(config)


def test_bindings_with_globs_and_stars(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount, bound_service_account_names="bill*", bound_service_account_namespaces="app?,ap*")
    login(server, mount, kube.issue(APP))
    assert refused(server, mount, kube.issue(Account("apps", "payroll"))) == (
        hvac.exceptions.Forbidden,
        ["service account name not authorized"],
    )
    assert refused(server, mount, kube.issue(Account("other", "billing"))) == (
        hvac.exceptions.Forbidden,
        ["namespace not authorized"],
    )
    role(client, mount, "any", bound_service_account_names="*", bound_service_account_namespaces="*")
    login(server, mount, kube.issue(Account("other", "payroll")), "any")


def test_namespace_selector_reads_labels_with_the_reviewer(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    kube.namespaces |= {"team-a": {"team": "a", "env": "prod"}, "team-b": {"team": "b"}}
    role(
        client, mount, bound_service_account_names="*", bound_service_account_namespaces=[],
        bound_service_account_namespace_selector="matchLabels:\n  team: a\n",
    )  # fmt: skip
    member = kube.issue(Account("team-a", "web"))
    _, errors = refused(server, mount, member)
    assert errors[0].startswith("namespace not authorized err=namespace lookup failed: TokenReviewer JWT")
    reviewer = kube.issue(Account("strongroom", "strongroom-auth"))
    kube.reviewers.add(reviewer)
    client.auth.kubernetes.configure(
        kube.address, kubernetes_ca_cert=kube.ca_pem, token_reviewer_jwt=reviewer, mount_point=mount
    )
    login(server, mount, member)
    assert refused(server, mount, kube.issue(Account("team-b", "web"))) == (
        hvac.exceptions.Forbidden,
        ["namespace not authorized"],
    )


def test_audience_is_checked_locally_and_by_the_review(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount, audience="strongroom")
    login(server, mount, kube.issue(APP, audience=["strongroom", "other"]))
    assert kube.reviews[-1]["audiences"] == ["strongroom"]
    kind, errors = refused(server, mount, kube.issue(APP))
    assert kind is hvac.exceptions.Forbidden
    assert errors == ["invalid audience (aud) claim: audience claim does not match any expected audience"]


def test_revoked_expired_and_forged_tokens_are_refused(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount)
    revoked = kube.issue(APP)
    kube.revoke(revoked)
    assert refused(server, mount, revoked) == (hvac.exceptions.Forbidden, ["permission denied"])
    expired = kube.issue(APP, lifetime=-600)
    assert refused(server, mount, expired) == (
        hvac.exceptions.Forbidden,
        ["invalid expiration time (exp) claim: token is expired"],
    )
    good = kube.issue(APP)
    header, payload, signature = good.split(".")
    forged = f"{header}.{payload}.{signature[::-1]}"
    assert refused(server, mount, forged) == (hvac.exceptions.Forbidden, ["permission denied"])
    assert refused(server, mount, "not-a-jwt") == (hvac.exceptions.Forbidden, ["permission denied"])


def test_pem_keys_check_the_signature_before_the_review(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount)
    # hvac's configure() takes certificates only; a bare public key is what a cluster's sa.pub holds.
    client.write_data(
        f"auth/{mount}/config",
        data={
            "kubernetes_host": kube.address,
            "kubernetes_ca_cert": kube.ca_pem,
            "pem_keys": [kube.key.public_pem()],
        },
    )
    login(server, mount, kube.issue(APP))
    stranger = rsa_key("stranger")
    seen = len(kube.reviews)
    claims = {"kubernetes.io": {"namespace": "apps", "serviceaccount": {"name": "billing", "uid": APP.uid}}}
    assert refused(server, mount, stranger.sign(claims | {"iat": 1, "exp": 2**31})) == (
        hvac.exceptions.Forbidden,
        ["permission denied"],
    )
    assert len(kube.reviews) == seen, "a bad signature never reaches the API server"


def test_issuer_is_checked_only_when_enabled(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount)
    client.write_data(
        f"auth/{mount}/config",
        data={
            "kubernetes_host": kube.address,
            "kubernetes_ca_cert": kube.ca_pem,
            "issuer": "https://elsewhere",
        },
    )
    login(server, mount, kube.issue(APP))
    client.write_data(
        f"auth/{mount}/config",
        data={
            "kubernetes_host": kube.address,
            "kubernetes_ca_cert": kube.ca_pem,
            "issuer": "https://elsewhere",
            "disable_iss_validation": False,
        },
    )
    assert refused(server, mount, kube.issue(APP)) == (
        hvac.exceptions.Forbidden,
        ["invalid issuer (iss) claim"],
    )


@pytest.mark.parametrize("ca", ["another", "unparsable"])
def test_an_untrusted_api_server_certificate_fails_closed(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str, tmp_path: Path, ca: str
) -> None:
    role(client, mount)
    pem = (
        ScratchCA(tmp_path).path.read_text() if ca == "another" else "-----BEGIN CERTIFICATE-----\nbm9wZQ==\n"
    )
    client.write_data(
        f"auth/{mount}/config", data={"kubernetes_host": kube.address, "kubernetes_ca_cert": pem}
    )
    seen = len(kube.reviews)
    assert refused(server, mount, kube.issue(APP)) == (hvac.exceptions.Forbidden, ["permission denied"])
    assert len(kube.reviews) == seen, "no TLS handshake with an untrusted API server completes"


def test_token_renews_while_the_role_exists(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, mount: str
) -> None:
    role(client, mount)
    token = login(server, mount, kube.issue(APP))["auth"]["client_token"]
    holder = hvac.Client(url=server.address, token=token)
    assert holder.auth.token.renew_self()["auth"]["lease_duration"] == 3600
    client.delete(f"auth/{mount}/role/app")
    with pytest.raises(hvac.exceptions.InvalidRequest) as caught:
        holder.auth.token.renew_self()
    assert "role app does not exist during renewal" in str(caught.value.errors)


def _bao(server: RunningServer, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(home), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}
    return subprocess.run(
        [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def test_bao_cli_writes_config_role_and_logs_in(
    server: RunningServer, kube: KubeAPI, tmp_path: Path, mount: str
) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text(kube.ca_pem)
    done = _bao(server, tmp_path, "write", f"auth/{mount}/config", f"kubernetes_host={kube.address}",
                f"kubernetes_ca_cert=@{ca}")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = _bao(server, tmp_path, "write", f"auth/{mount}/role/cli", "bound_service_account_names=billing",
                "bound_service_account_namespaces=apps", "token_policies=cli")  # fmt: skip
    assert done.returncode == 0, done.stderr
    jwt = kube.issue(APP)
    written = _bao(server, tmp_path, "write", "-format=json", f"auth/{mount}/login", "role=cli", f"jwt={jwt}")
    assert written.returncode == 0, written.stderr
    assert json.loads(written.stdout)["auth"]["policies"] == ["cli", "default"]
    logged = _bao(server, tmp_path, "login", "-format=json", "-method=kubernetes", f"-path={mount}",
                  "role=cli", f"jwt={jwt}")  # fmt: skip
    assert logged.returncode == 0, logged.stderr
    assert json.loads(logged.stdout)["auth"]["metadata"]["service_account_namespace"] == "apps"
    stranger = kube.issue(Account("apps", "payroll"))
    refused = _bao(server, tmp_path, "write", f"auth/{mount}/login", "role=cli", f"jwt={stranger}")
    assert refused.returncode == 2
    assert "Code: 403" in refused.stderr
    assert "service account name not authorized" in refused.stderr
    assert stranger not in refused.stderr


def test_strongroom_cli_login_method_kubernetes(
    server: RunningServer, client: hvac.Client, kube: KubeAPI, tmp_path: Path, mount: str
) -> None:
    role(client, mount)
    token_file = tmp_path / "token"
    token_file.write_text(kube.issue(APP))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_", "STRONGROOM_"))}
    env |= {"HOME": str(tmp_path), "VAULT_ADDR": server.address}

    def strongroom(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "strongroom", "login", "-method=kubernetes", f"-path={mount}", *args]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30, check=False)

    done = strongroom("-token-only", "role=app", f"jwt=@{token_file}")
    assert done.returncode == 0, done.stderr
    looked = hvac.Client(url=server.address, token=done.stdout.strip()).auth.token.lookup_self()["data"]
    assert looked["meta"]["service_account_name"] == "billing"
    missing = strongroom(f"jwt=@{token_file}")
    assert (missing.returncode, missing.stderr) == (2, "Error authenticating: 'role' must be specified\n")
