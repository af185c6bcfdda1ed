"""AppRole driven by real clients against a strongroom dev server: hvac's approle API and the bao CLI."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest

from tests.servers import RunningServer, bao_binary


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


@pytest.fixture
def mount(vault: hvac.Client) -> Iterator[str]:
    path = f"approle-{uuid.uuid4().hex[:8]}"
    vault.sys.enable_auth_method("approle", path=path)
    yield path
    vault.sys.disable_auth_method(path)


def test_hvac_approle_round_trip(server: RunningServer, vault: hvac.Client, mount: str) -> None:
    vault.auth.approle.create_or_update_approle(
        "web", token_policies=["default", "ops"], token_ttl="15m", secret_id_num_uses=3, mount_point=mount
    )
    role = vault.auth.approle.read_role("web", mount_point=mount)["data"]
    assert (role["token_policies"], role["token_ttl"], role["secret_id_num_uses"]) == (
        ["default", "ops"],
        900,
        3,
    )
    assert vault.auth.approle.list_roles(mount_point=mount)["data"]["keys"] == ["web"]

    role_id = vault.auth.approle.read_role_id("web", mount_point=mount)["data"]["role_id"]
    generated = vault.auth.approle.generate_secret_id(
        "web", metadata={"team": "a"}, cidr_list=["127.0.0.0/8"], mount_point=mount
    )["data"]
    assert generated["secret_id_num_uses"] == 3
    looked_up = vault.auth.approle.read_secret_id("web", generated["secret_id"], mount_point=mount)["data"]
    assert (looked_up["metadata"], looked_up["cidr_list"]) == ({"team": "a"}, ["127.0.0.0/8"])
    accessors = vault.auth.approle.list_secret_id_accessors("web", mount_point=mount)["data"]["keys"]
    assert accessors == [generated["secret_id_accessor"]]

    app = hvac.Client(url=server.address)
    try:
        answer = app.auth.approle.login(role_id, generated["secret_id"], mount_point=mount)
        assert answer["auth"]["policies"] == ["default", "ops"]
        assert answer["auth"]["lease_duration"] == 900
        assert app.is_authenticated()
        assert app.lookup_token()["data"]["meta"] == {"team": "a", "role_name": "web"}
    finally:
        app.adapter.close()

    vault.auth.approle.destroy_secret_id_accessor("web", generated["secret_id_accessor"], mount_point=mount)
    with pytest.raises(hvac.exceptions.InvalidRequest, match="invalid role or secret ID"):
        hvac.Client(url=server.address).auth.approle.login(role_id, generated["secret_id"], mount_point=mount)
    vault.auth.approle.update_role_id("web", "chosen-role-id", mount_point=mount)
    assert vault.auth.approle.read_role_id("web", mount_point=mount)["data"]["role_id"] == "chosen-role-id"
    vault.auth.approle.delete_role("web", mount_point=mount)
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.auth.approle.read_role("web", mount_point=mount)


def _bao(server: RunningServer, home: Path, *args: str, token: str | None = None) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {
        "HOME": str(home),
        "BAO_ADDR": server.address,
        "BAO_TOKEN": server.root_token if token is None else token,
    }
    done = subprocess.run(
        [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, f"bao {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return json.loads(done.stdout) if "-format=json" in args else done.stdout


def test_bao_cli_approle_flow(server: RunningServer, tmp_path: Path) -> None:
    path = f"approle-{uuid.uuid4().hex[:8]}"
    _bao(server, tmp_path, "auth", "enable", f"-path={path}", "approle")
    try:
        _bao(server, tmp_path, "write", f"auth/{path}/role/web", "token_policies=ops", "token_ttl=20m")
        role_id = _bao(server, tmp_path, "read", "-format=json", f"auth/{path}/role/web/role-id")["data"][
            "role_id"
        ]
        secret = _bao(server, tmp_path, "write", "-format=json", "-f", f"auth/{path}/role/web/secret-id")[
            "data"
        ]
        assert set(secret) == {"secret_id", "secret_id_accessor", "secret_id_num_uses", "secret_id_ttl"}
        text = _bao(server, tmp_path, "read", f"auth/{path}/role/web/role-id")
        assert f"role_id    {role_id}" in text

        login = _bao(
            server, tmp_path, "write", "-format=json", f"auth/{path}/login",
            f"role_id={role_id}", f"secret_id={secret['secret_id']}", token="",
        )  # fmt: skip
        assert login["auth"]["policies"] == ["default", "ops"]
        assert login["auth"]["lease_duration"] == 1200
        own = _bao(server, tmp_path, "token", "lookup", "-format=json", token=login["auth"]["client_token"])
        assert own["data"]["meta"] == {"role_name": "web"}

        listed = _bao(server, tmp_path, "list", "-format=json", f"auth/{path}/role/web/secret-id")
        assert listed == [secret["secret_id_accessor"]]
        _bao(
            server,
            tmp_path,
            "write",
            f"auth/{path}/role/web/secret-id/destroy",
            f"secret_id={secret['secret_id']}",
        )
        assert _bao(server, tmp_path, "list", "-format=json", f"auth/{path}/role") == ["web"]
    finally:
        _bao(server, tmp_path, "auth", "disable", path)
