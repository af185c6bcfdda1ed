"""The non-KV commands against a real server: status, generic read/write/list/delete, secrets, policy,
token, login, and the exit codes and flag spellings shared by every command."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from tests.cli.conftest import CLI

POLICY = 'path "secret/data/app/*" {\n  capabilities = ["read", "list"]\n}\n'


def test_status_table_and_json(cli: CLI) -> None:
    table = cli("status")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[:5] == [
        "Key             Value",
        "---             -----",
        "Seal Type       shamir",
        "Initialized     true",
        "Sealed          false",
    ]
    status = json.loads(cli("status", "-format=json").stdout)
    assert (status["initialized"], status["sealed"], status["ha_enabled"]) == (True, False, False)


def test_unreachable_server_is_reported_with_exit_1(cli: CLI) -> None:
    result = cli("status", "-address=http://127.0.0.1:1")
    assert result.returncode == 1
    assert (
        result.stderr
        == 'Error checking seal status: Get "http://127.0.0.1:1/v1/sys/seal-status": connection refused\n'
    )


def test_usage_errors_exit_1_with_one_line(cli: CLI) -> None:
    unknown = cli("kv", "get", "-badflag", "secret/x")
    assert (unknown.returncode, unknown.stderr) == (1, "flag provided but not defined: -badflag\n")
    bad_pair = cli("write", "secret/data/x", "novalue")
    assert bad_pair.returncode == 1
    assert (
        bad_pair.stderr
        == 'Failed to parse K=V data: invalid key/value pair "novalue": format must be key=value\n'
    )
    no_data = cli("write", "sys/policies/acl/x")
    assert (no_data.returncode, no_data.stderr) == (1, "Must supply data or use -force\n")


def test_permission_denied_is_an_api_error(cli: CLI, target: object) -> None:
    result = cli("read", "secret/data/anything", token="not-a-token")
    assert result.returncode == 2
    address = target.address
    assert result.stderr == (
        "Error reading secret/data/anything: Error making API request.\n\n"
        f"URL: GET {address}/v1/secret/data/anything\n"
        "Code: 403. Errors:\n\n"
        "* permission denied\n"
    )
    assert "not-a-token" not in result.stderr


def test_generic_write_read_list_delete(cli: CLI, unique: str) -> None:
    written = cli("write", f"secret/data/{unique}", "-", stdin='{"data": {"k": "v"}}')
    assert written.returncode == 0, written.stderr
    assert "version            1" in written.stdout
    read = cli("read", f"secret/data/{unique}")
    assert "data        map[k:v]" in read.stdout
    assert cli("read", "-field=data", "-format=json", f"secret/data/{unique}").stdout == '{\n  "k": "v"\n}\n'
    assert unique in cli("list", "secret/metadata").stdout.splitlines()
    deleted = cli("delete", f"secret/metadata/{unique}")
    assert deleted.stdout == f"Success! Data deleted (if it existed) at: secret/metadata/{unique}\n"
    missing = cli("read", f"secret/data/{unique}")
    assert (missing.returncode, missing.stderr) == (2, f"No value found at secret/data/{unique}\n")


def test_yaml_format(cli: CLI, unique: str) -> None:
    cli("kv", "put", f"secret/{unique}", "n=1")
    text = cli("read", "-format=yaml", f"secret/data/{unique}").stdout
    assert text.startswith('data:\n  data:\n    n: "1"\n  metadata:\n')
    assert 'lease_id: ""\n' in text


def test_secrets_enable_tune_list_disable(cli: CLI, unique: str) -> None:
    enabled = cli("secrets", "enable", f"-path={unique}", "-version=2", "-description=team kv", "kv")
    assert enabled.stdout == f"Success! Enabled the kv secrets engine at: {unique}/\n"
    again = cli("secrets", "enable", f"-path={unique}", "kv")
    assert again.returncode == 2
    assert f"path is already in use at {unique}/" in again.stderr
    assert cli("secrets", "tune", "-max-lease-ttl=2h", unique).stdout == (
        f"Success! Tuned the secrets engine at: {unique}/\n"
    )
    rows = {line.split()[0]: line for line in cli("secrets", "list").stdout.splitlines()}
    assert rows[f"{unique}/"].split()[1] == "kv"
    assert rows[f"{unique}/"].endswith("team kv")
    mounts = json.loads(cli("secrets", "list", "-format=json").stdout)
    assert mounts[f"{unique}/"]["options"] == {"version": "2"}
    assert mounts[f"{unique}/"]["config"]["max_lease_ttl"] == 7200
    disabled = cli("secrets", "disable", unique)
    assert disabled.stdout == f"Success! Disabled the secrets engine (if it existed) at: {unique}/\n"
    assert f"{unique}/" not in json.loads(cli("secrets", "list", "-format=json").stdout)


def test_policy_write_read_list_delete(cli: CLI, unique: str, tmp_path: Path) -> None:
    source = tmp_path / "app.hcl"
    source.write_text(POLICY)
    assert cli("policy", "write", unique, str(source)).stdout == f"Success! Uploaded policy: {unique}\n"
    assert cli("policy", "read", unique).stdout == POLICY
    assert json.loads(cli("policy", "read", "-format=json", unique).stdout) == {"policy": POLICY}
    assert unique in cli("policy", "list").stdout.splitlines()
    assert cli("policy", "write", f"{unique}-stdin", "-", stdin=POLICY).returncode == 0
    assert cli("policy", "delete", unique).stdout == f"Success! Deleted policy: {unique}\n"
    gone = cli("policy", "read", unique)
    assert (gone.returncode, gone.stderr) == (2, f"No policy named: {unique}\n")


def test_policy_fmt_normalizes_in_place(cli: CLI, tmp_path: Path) -> None:
    source = tmp_path / "messy.hcl"
    source.write_text('path "a" {\t\n\tcapabilities = ["read"]   \n}\n\n\n\n')
    assert cli("policy", "fmt", str(source)).stdout == f"Success! Formatted policy: {source}\n"
    assert source.read_text() == 'path "a" {\n  capabilities = ["read"]\n}\n'


def test_token_create_lookup_capabilities_revoke(cli: CLI, unique: str) -> None:
    cli("policy", "write", unique, "-", stdin=POLICY)
    created = cli(
        "token", "create", f"-policy={unique}", "-ttl=1h", "-display-name=web", "-metadata=team=ops",
        "-renewable=false", "-format=json",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    auth = json.loads(created.stdout)["auth"]
    assert sorted(auth["policies"]) == sorted(["default", unique])
    assert (auth["lease_duration"], auth["renewable"], auth["metadata"]) == (3600, False, {"team": "ops"})
    token = auth["client_token"]

    table = cli("token", "create", f"-policy={unique}", "-ttl=1h").stdout
    assert "token_duration       1h\n" in table
    assert f'token_policies       ["default" "{unique}"]\n' in table

    looked = cli("token", "lookup", token).stdout
    assert "display_name        token-web\n" in looked
    assert "renewable           false\n" in looked
    by_accessor = json.loads(cli("token", "lookup", "-format=json", "-accessor", auth["accessor"]).stdout)
    assert by_accessor["data"]["display_name"] == "token-web"
    assert cli("token", "lookup", "-field=display_name", token=token).stdout == "token-web"

    assert cli("token", "capabilities", token, "secret/data/app/x").stdout == "list, read\n"
    assert cli("token", "capabilities", token, "sys/mounts").stdout == "deny\n"
    assert cli("token", "capabilities", "secret/data/app/x", token=token).stdout == "list, read\n"
    assert cli("token", "capabilities", "sys/mounts").stdout == "root\n"

    assert cli("token", "revoke", token).stdout == "Success! Revoked token (if it existed)\n"
    assert cli("token", "lookup", token=token).returncode == 2


def test_token_renew_and_revoke_self(cli: CLI) -> None:
    token = cli("token", "create", "-ttl=1h", "-field=token").stdout
    renewed = json.loads(cli("token", "renew", "-increment=2h", "-format=json", token=token).stdout)
    assert (renewed["auth"]["client_token"], renewed["auth"]["lease_duration"]) == (token, 7200)
    assert cli("token", "revoke", "-self", token=token).returncode == 0
    assert cli("token", "lookup", token=token).returncode == 2


def test_token_orphan_and_accessor_revoke(cli: CLI) -> None:
    created = json.loads(cli("token", "create", "-orphan", "-format=json").stdout)["auth"]
    assert created["orphan"] is True
    assert cli("token", "revoke", "-accessor", created["accessor"]).returncode == 0
    assert cli("token", "lookup", token=created["client_token"]).returncode == 2


def test_login_stores_the_token_privately(cli: CLI, tmp_path: Path) -> None:
    token = cli("token", "create", "-policy=default", "-ttl=1h", "-field=token").stdout
    logged = cli("login", token, token=None)
    assert logged.returncode == 0, logged.stderr
    assert token not in logged.stdout
    assert 'token_policies       ["default"]' in logged.stdout
    stored = tmp_path / ".strongroom-token"
    assert stored.read_text() == token
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert cli("token", "lookup", "-field=id", token=None).stdout == token
    assert cli("login", "-field=token", "-no-store", "-", token=None, stdin=token).stdout == token


def test_login_with_a_bad_token_stores_nothing(cli: CLI, tmp_path: Path) -> None:
    result = cli("login", "not-a-token", token=None)
    assert result.returncode == 2
    assert "permission denied" in result.stderr
    assert not (tmp_path / ".strongroom-token").exists()


def test_double_dash_flags_and_help(cli: CLI) -> None:
    assert cli("status", "--format=json").returncode == 0
    helped = cli("kv", "get", "-help")
    assert helped.returncode == 0
    assert "--field" in helped.stdout
