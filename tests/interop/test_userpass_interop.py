"""userpass driven by real clients against a strongroom dev server: hvac, and the `bao` CLI (login writes
the token to the token helper in HOME, which later commands then use)."""

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


def _mount(client: hvac.Client) -> str:
    path = f"up-{uuid.uuid4().hex[:8]}"
    client.sys.enable_auth_method("userpass", path=path)
    return path


def test_hvac_create_user_login_and_read(server: RunningServer) -> None:
    root = hvac.Client(url=server.address, token=server.root_token)
    path = _mount(root)
    root.auth.userpass.create_or_update_user(
        "alice", password="hunter2-long", mount_point=path, policies=["dev"], token_ttl="1h"
    )
    user = root.auth.userpass.read_user("alice", mount_point=path)["data"]
    assert (user["token_policies"], user["policies"], user["token_ttl"]) == (["dev"], ["dev"], 3600)
    assert root.auth.userpass.list_user(mount_point=path)["data"]["keys"] == ["alice"]

    client = hvac.Client(url=server.address)
    answer = client.auth.userpass.login("alice", "hunter2-long", mount_point=path)
    assert answer["auth"]["policies"] == ["default", "dev"]
    assert answer["auth"]["lease_duration"] == 3600
    assert client.is_authenticated()
    assert client.auth.token.lookup_self()["data"]["meta"] == {"username": "alice"}

    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid username or password"):
        hvac.Client(url=server.address).auth.userpass.login("alice", "wrong", mount_point=path)

    root.auth.userpass.update_password_on_user("alice", "new-password", mount_point=path)
    assert "auth" in hvac.Client(url=server.address).auth.userpass.login(
        "alice", "new-password", mount_point=path
    )
    root.auth.userpass.delete_user("alice", mount_point=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.auth.userpass.read_user("alice", mount_point=path)
    root.adapter.close()
    client.adapter.close()


def test_bao_cli_write_user_and_login(server: RunningServer, tmp_path: Path) -> None:
    binary = bao_binary()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    base |= {"HOME": str(tmp_path), "BAO_ADDR": server.address}

    def bao(*args: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
        env = base if token is None else base | {"BAO_TOKEN": token}
        done = subprocess.run(
            [binary, *args], env=env, capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0, done.stderr
        return done

    path = f"up-{uuid.uuid4().hex[:8]}"
    bao("auth", "enable", f"-path={path}", "userpass", token=server.root_token)
    bao(
        "write",
        f"auth/{path}/users/alice",
        "password=s3cret-pass",
        "token_policies=dev",
        token=server.root_token,
    )
    read = json.loads(bao("read", "-format=json", f"auth/{path}/users/alice", token=server.root_token).stdout)
    assert read["data"]["token_policies"] == ["dev"]
    assert "password" not in read["data"]

    login = bao(
        "login", "-format=json", "-method=userpass", f"-path={path}", "username=alice", "password=s3cret-pass"
    )
    auth = json.loads(login.stdout)["auth"]
    assert auth["policies"] == ["default", "dev"]
    # The CLI stored the new token with its token helper; a plain command now runs as alice.
    assert (tmp_path / ".vault-token").read_text() == auth["client_token"]
    me = json.loads(bao("token", "lookup", "-format=json").stdout)["data"]
    assert (me["display_name"], me["meta"]) == (f"{path}-alice", {"username": "alice"})

    wrong = subprocess.run(
        [binary, "login", "-method=userpass", f"-path={path}", "username=alice", "password=nope"],
        env=base, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert wrong.returncode == 2
    assert "invalid username or password" in wrong.stderr
