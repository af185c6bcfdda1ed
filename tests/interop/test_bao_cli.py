"""The real OpenBao CLI (`bao`) as a subprocess against a real strongroom dev server."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.servers import RunningServer, bao_binary

Bao = Callable[..., subprocess.CompletedProcess[str]]


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def bao_cli(server: RunningServer, tmp_path: Path) -> Bao:
    """Run `bao ARGS...` with BAO_ADDR/BAO_TOKEN set; HOME is tmp_path so no real token helper is touched."""
    binary = bao_binary()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    base |= {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": server.root_token}

    def run(*args: str, token: str | None = None, stdin: str | None = None, ok: bool = True) -> Any:
        env = base if token is None else base | {"BAO_TOKEN": token}
        done = subprocess.run(
            [binary, *args], env=env, input=stdin, capture_output=True, text=True, timeout=30, check=False
        )
        if ok and done.returncode != 0:
            raise AssertionError(f"bao {' '.join(args)} exited {done.returncode}: {done.stderr}")
        return done

    return run


def _json(done: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(done.stdout)


def test_status(bao_cli: Bao) -> None:
    out = bao_cli("status").stdout
    assert "Initialized     true" in out
    assert "Sealed          false" in out
    assert "Seal Type       shamir" in out
    status = _json(bao_cli("status", "-format=json"))
    assert (status["initialized"], status["sealed"], status["t"], status["n"]) == (True, False, 1, 1)


def test_kv_put_get_field_and_json(bao_cli: Bao) -> None:
    path = f"secret/{_name('db')}"
    bao_cli("kv", "put", path, "password=x", "user=app")
    assert bao_cli("kv", "get", "-field=password", path).stdout == "x"
    got = _json(bao_cli("kv", "get", "-format=json", path))
    assert got["data"]["data"] == {"password": "x", "user": "app"}
    assert got["data"]["metadata"]["version"] == 1
    table = bao_cli("kv", "get", path).stdout
    assert "password    x" in table
    assert "version            1" in table


def test_issue_example_path(bao_cli: Bao) -> None:
    bao_cli("kv", "put", "secret/db", "password=x")
    assert bao_cli("kv", "get", "-field=password", "secret/db").stdout == "x"


def test_kv_patch_list_and_versions(bao_cli: Bao) -> None:
    folder = _name("app")
    path = f"secret/{folder}/db"
    bao_cli("kv", "put", path, "a=1")
    bao_cli("kv", "patch", path, "b=2")
    assert _json(bao_cli("kv", "get", "-format=json", path))["data"]["data"] == {"a": "1", "b": "2"}
    assert bao_cli("kv", "get", "-version=1", "-field=a", path).stdout == "1"
    bao_cli("kv", "put", f"secret/{folder}/other", "c=3")
    assert _json(bao_cli("kv", "list", "-format=json", f"secret/{folder}")) == ["db", "other"]
    assert "db" in bao_cli("kv", "list", f"secret/{folder}/").stdout


def test_kv_delete_undelete_destroy_rollback(bao_cli: Bao) -> None:
    path = f"secret/{_name('life')}"
    bao_cli("kv", "put", path, "v=1")
    bao_cli("kv", "put", path, "v=2")

    bao_cli("kv", "delete", path)
    # As with OpenBao, a deleted latest version still prints its metadata and exits 0.
    deleted = bao_cli("kv", "get", path).stdout
    assert "deletion_time      n/a" not in deleted
    assert "== Data ==" not in deleted

    bao_cli("kv", "undelete", "-versions=2", path)
    assert bao_cli("kv", "get", "-field=v", path).stdout == "2"

    bao_cli("kv", "rollback", "-version=1", path)
    rolled = _json(bao_cli("kv", "get", "-format=json", path))
    assert rolled["data"]["data"] == {"v": "1"}
    assert rolled["data"]["metadata"]["version"] == 3

    bao_cli("kv", "destroy", "-versions=1", path)
    versions = _json(bao_cli("kv", "metadata", "get", "-format=json", path))["data"]["versions"]
    assert versions["1"]["destroyed"] is True
    assert versions["3"]["destroyed"] is False


def test_kv_metadata_get_put_delete(bao_cli: Bao) -> None:
    path = f"secret/{_name('meta')}"
    bao_cli("kv", "put", path, "k=v")
    bao_cli("kv", "metadata", "put", "-max-versions=5", "-custom-metadata=team=a", path)
    meta = _json(bao_cli("kv", "metadata", "get", "-format=json", path))["data"]
    assert meta["max_versions"] == 5
    assert meta["custom_metadata"] == {"team": "a"}
    assert meta["current_version"] == 1
    assert "max_versions                5" in bao_cli("kv", "metadata", "get", path).stdout
    bao_cli("kv", "metadata", "delete", path)
    gone = bao_cli("kv", "get", path, ok=False)
    assert gone.returncode == 2
    assert "No value found" in gone.stderr


def test_secrets_enable_list_tune_disable_and_kv_v1(bao_cli: Bao) -> None:
    v1, v2 = _name("kv1"), _name("kv2")
    bao_cli("secrets", "enable", f"-path={v1}", "kv")
    bao_cli("secrets", "enable", f"-path={v2}", "-version=2", "kv")
    try:
        mounts = _json(bao_cli("secrets", "list", "-format=json"))
        assert mounts[f"{v1}/"]["type"] == "kv"
        assert mounts[f"{v2}/"]["options"] == {"version": "2"}
        assert f"{v1}/" in bao_cli("secrets", "list").stdout

        # bao detects the KV version through sys/internal/ui/mounts and uses the v1 paths here.
        bao_cli("kv", "put", f"{v1}/app", "password=p1")
        assert bao_cli("kv", "get", "-field=password", f"{v1}/app").stdout == "p1"
        assert _json(bao_cli("kv", "get", "-format=json", f"{v1}/app"))["data"] == {"password": "p1"}
        assert _json(bao_cli("kv", "list", "-format=json", v1)) == ["app"]
        bao_cli("kv", "put", f"{v2}/app", "password=p2")
        assert _json(bao_cli("read", "-format=json", f"{v2}/data/app"))["data"]["data"] == {"password": "p2"}

        bao_cli("secrets", "tune", "-default-lease-ttl=1h", "-max-lease-ttl=2h", v1)
        tune = _json(bao_cli("read", "-format=json", f"sys/mounts/{v1}/tune"))["data"]
        assert (tune["default_lease_ttl"], tune["max_lease_ttl"]) == (3600, 7200)

        bao_cli("kv", "enable-versioning", v1)
        upgraded = _json(bao_cli("kv", "get", "-format=json", f"{v1}/app"))["data"]
        assert (upgraded["data"], upgraded["metadata"]["version"]) == ({"password": "p1"}, 1)
    finally:
        bao_cli("secrets", "disable", v1)
        bao_cli("secrets", "disable", v2)
    mounts = _json(bao_cli("secrets", "list", "-format=json"))
    assert f"{v1}/" not in mounts
    assert f"{v2}/" not in mounts


def test_policy_write_read_list_delete(bao_cli: Bao, tmp_path: Path) -> None:
    from_file, from_stdin = _name("file"), _name("stdin")
    rules = 'path "secret/data/ro/*" {\n  capabilities = ["read"]\n}\n'
    (tmp_path / "p.hcl").write_text(rules)
    bao_cli("policy", "write", from_file, str(tmp_path / "p.hcl"))
    bao_cli("policy", "write", from_stdin, "-", stdin='path "x" { capabilities = ["list"] }')
    assert bao_cli("policy", "read", from_file).stdout.strip() == rules.strip()
    listed = bao_cli("policy", "list").stdout.split()
    assert {"default", "root", from_file, from_stdin} <= set(listed)
    bao_cli("policy", "delete", from_stdin)
    assert from_stdin not in bao_cli("policy", "list").stdout.split()
    missing = bao_cli("policy", "read", from_stdin, ok=False)
    assert missing.returncode == 2
    assert "No policy named" in missing.stderr


def test_token_create_lookup_renew_capabilities_revoke(bao_cli: Bao) -> None:
    policy = _name("ro")
    bao_cli("policy", "write", policy, "-", stdin='path "secret/data/ro/*" { capabilities = ["read"] }')
    created = _json(bao_cli("token", "create", f"-policy={policy}", "-ttl=1h", "-format=json"))["auth"]
    token = created["client_token"]
    assert created["policies"] == ["default", policy]
    assert created["lease_duration"] == 3600
    assert created["renewable"] is True

    looked = _json(bao_cli("token", "lookup", "-format=json", token))["data"]
    assert looked["accessor"] == created["accessor"]
    assert looked["policies"] == ["default", policy]
    assert "policies            [default " in bao_cli("token", "lookup", token).stdout
    assert _json(bao_cli("token", "lookup", "-format=json", token=token))["data"]["id"] == token
    by_accessor = _json(bao_cli("token", "lookup", "-format=json", "-accessor", created["accessor"]))
    assert by_accessor["data"]["display_name"] == "token"

    renewed = _json(bao_cli("token", "renew", "-increment=30m", "-format=json", token))["auth"]
    assert renewed["lease_duration"] == 1800

    assert bao_cli("token", "capabilities", token, "secret/data/ro/x").stdout.strip() == "read"
    assert bao_cli("token", "capabilities", token, "secret/data/rw/x").stdout.strip() == "deny"
    assert bao_cli("token", "capabilities", "secret/data/ro/x").stdout.strip() == "root"

    bao_cli("token", "revoke", token)
    gone = bao_cli("token", "lookup", token, ok=False)
    assert gone.returncode == 2
    assert "bad token" in gone.stderr


def test_generic_read_write_list_delete(bao_cli: Bao) -> None:
    path = f"cubbyhole/{_name('note')}"
    bao_cli("write", path, "a=b")
    assert bao_cli("read", "-field=a", path).stdout == "b"
    assert _json(bao_cli("read", "-format=json", path))["data"] == {"a": "b"}
    assert path.split("/")[1] in _json(bao_cli("list", "-format=json", "cubbyhole/"))
    bao_cli("delete", path)
    missing = bao_cli("read", path, ok=False)
    assert missing.returncode == 2
    assert f"No value found at {path}" in missing.stderr
    created = _json(bao_cli("write", "-format=json", "auth/token/create", "policies=default", "ttl=5m"))
    assert created["auth"]["lease_duration"] == 300


def test_path_help(bao_cli: Bao) -> None:
    root = bao_cli("path-help", "secret/").stdout
    assert root.startswith("## DESCRIPTION\n\nThis backend provides a versioned key-value store.")
    assert (
        "    ^data/(?P<path>.*)$\n        Write, Patch, Read, and Delete data in the Key-Value Store." in root
    )
    data = bao_cli("path-help", "secret/data/x").stdout
    assert data.startswith("Request:        data/x\nMatching Route: ^data/(?P<path>.*)$")


def test_non_root_token_is_refused(bao_cli: Bao) -> None:
    policy = _name("ro")
    bao_cli(
        "policy", "write", policy, "-", stdin=f'path "secret/data/{policy}/*" {{ capabilities = ["read"] }}'
    )
    bao_cli("kv", "put", f"secret/{policy}/ok", "a=1")
    bao_cli("kv", "put", "secret/forbidden", "b=2")
    token = bao_cli("token", "create", f"-policy={policy}", "-field=token").stdout
    assert bao_cli("kv", "get", "-field=a", f"secret/{policy}/ok", token=token).stdout == "1"
    refused = bao_cli("kv", "get", "secret/forbidden", token=token, ok=False)
    assert refused.returncode == 2
    assert "permission denied" in refused.stderr
    assert "Code: 403" in refused.stderr
    assert bao_cli("kv", "put", f"secret/{policy}/ok", "a=2", token=token, ok=False).returncode == 2
