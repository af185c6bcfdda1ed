"""The ldap auth method driven by real clients against a strongroom dev server and a real slapd: hvac's
`auth.ldap`, and the `bao` CLI (write to the login path, then `bao login TOKEN`)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import hvac
import hvac.exceptions
import pytest
from tests.servers import RunningServer, bao_binary
from tests.slapd import ADMIN_DN, ADMIN_PASSWORD, GROUPS, PEOPLE, Slapd, password


def test_hvac_configure_groups_users_login_and_renew(server: RunningServer, slapd: Slapd) -> None:
    root = hvac.Client(url=server.address, token=server.root_token)
    path = f"ldap-{uuid.uuid4().hex[:8]}"
    root.sys.enable_auth_method("ldap", path=path)
    root.auth.ldap.configure(
        url=slapd.url, starttls=True, certificate=slapd.ca, binddn=ADMIN_DN, bindpass=ADMIN_PASSWORD,
        userdn=PEOPLE, userattr="uid", groupdn=GROUPS, token_ttl="10m", mount_point=path,
    )  # fmt: skip
    config = root.auth.ldap.read_configuration(mount_point=path)["data"]
    assert (config["starttls"], config["token_ttl"], "bindpass" in config) == (True, 600, False)
    root.auth.ldap.create_or_update_group("devs", policies=["dev"], mount_point=path)
    root.auth.ldap.create_or_update_user("bob", policies=["bobs"], groups=["extra"], mount_point=path)
    root.auth.ldap.create_or_update_group("extra", policies=["more"], mount_point=path)
    assert root.auth.ldap.list_groups(mount_point=path)["data"]["keys"] == ["devs", "extra"]
    assert root.auth.ldap.read_user("bob", mount_point=path)["data"] == {
        "groups": "extra",
        "policies": ["bobs"],
    }

    client = hvac.Client(url=server.address)
    answer = client.auth.ldap.login("bob", password("bob"), mount_point=path)
    assert answer["auth"]["policies"] == ["bobs", "default", "dev", "more"]
    assert answer["auth"]["lease_duration"] == 600
    assert client.auth.token.renew_self()["auth"]["lease_duration"] == 600

    with pytest.raises(hvac.exceptions.InvalidRequest, match="failed to bind as user"):
        hvac.Client(url=server.address).auth.ldap.login("bob", "wrong", mount_point=path)
    root.auth.ldap.delete_user("bob", mount_point=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.ldap.read_user("bob", mount_point=path)
    root.adapter.close()
    client.adapter.close()


def test_null_bind_refused_by_default_and_by_the_directory(server: RunningServer, slapd: Slapd) -> None:
    root = hvac.Client(url=server.address, token=server.root_token)
    path = f"ldap-{uuid.uuid4().hex[:8]}"
    root.sys.enable_auth_method("ldap", path=path)
    root.auth.ldap.configure(url=slapd.url, userdn=PEOPLE, userattr="uid", mount_point=path)
    anonymous = hvac.Client(url=server.address)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="passwordless binds are being denied"):
        anonymous.auth.ldap.login("alice", "", mount_point=path)
    # Allowed here, the unauthenticated bind (RFC 4513 5.1.2) reaches slapd, which refuses it.
    root.auth.ldap.configure(deny_null_bind=False, mount_point=path)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="failed to bind as user"):
        anonymous.auth.ldap.login("alice", "", mount_point=path)
    root.adapter.close()
    anonymous.adapter.close()


def test_bao_cli_login_method_ldap(server: RunningServer, slapd: Slapd, tmp_path: Path) -> None:
    binary = bao_binary()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    base |= {"HOME": str(tmp_path), "BAO_ADDR": server.address}

    def bao(*args: str, token: str | None = None, code: int = 0) -> subprocess.CompletedProcess[str]:
        env = base if token is None else base | {"BAO_TOKEN": token}
        done = subprocess.run(
            [binary, *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == code, done.stderr
        return done

    path = f"ldap-{uuid.uuid4().hex[:8]}"
    bao("auth", "enable", f"-path={path}", "ldap", token=server.root_token)
    bao("write", f"auth/{path}/config", f"url={slapd.url}", f"userdn={PEOPLE}", "userattr=uid",
        f"groupdn={GROUPS}", token=server.root_token)  # fmt: skip
    bao("write", f"auth/{path}/groups/ops", "policies=ops", token=server.root_token)
    # This OpenBao CLI has no `login -method=ldap` (OpenBao ships no LDAP method): `write` to the login path,
    # then `login` with the token, as its docs suggest for methods the CLI does not know.
    login = bao("write", "-format=json", f"auth/{path}/login/alice", "password=alice-pw")
    auth = json.loads(login.stdout)["auth"]
    assert auth["policies"] == ["default", "ops"]
    bao("login", "-no-print", auth["client_token"])
    assert (tmp_path / ".vault-token").read_text() == auth["client_token"]
    me = json.loads(bao("token", "lookup", "-format=json").stdout)["data"]
    assert (me["display_name"], me["meta"]) == (f"{path}-alice", {"username": "alice"})
    unknown = bao("login", "-method=ldap", f"-path={path}", "username=alice", "password=x", code=1)
    assert "Unknown auth method: ldap" in unknown.stderr
    wrong = bao("write", f"auth/{path}/login/alice", "password=nope", code=2)
    assert "ldap operation failed: failed to bind as user" in wrong.stderr
