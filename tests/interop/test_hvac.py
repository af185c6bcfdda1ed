"""hvac, the Python Vault client, driven against a real strongroom dev server as a user would drive it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import hvac
import hvac.exceptions
import pytest

from tests.servers import RunningServer


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


@pytest.fixture
def kv1(vault: hvac.Client) -> Iterator[str]:
    mount = _name("kv1")
    vault.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    yield mount
    vault.sys.disable_secrets_engine(mount)


def _token(vault: hvac.Client, *policies: str, **params: object) -> str:
    created = vault.auth.token.create(policies=list(policies), **params)
    return str(created["auth"]["client_token"])


def _client(server: RunningServer, token: str) -> hvac.Client:
    return hvac.Client(url=server.address, token=token)


# --- the issue's example and health ---------------------------------------------------------------------


def test_issue_example_reads_a_kv_v2_secret_verbatim(server: RunningServer, vault: hvac.Client) -> None:
    vault.secrets.kv.v2.create_or_update_secret(path="db", secret={"password": "s3cr3t"})
    with pytest.warns(DeprecationWarning, match="raise_on_deleted_version"):
        password = hvac.Client(url=server.address, token="root").secrets.kv.v2.read_secret_version(path="db")[
            "data"
        ]["data"]["password"]
    assert password == "s3cr3t"


def test_is_authenticated(server: RunningServer, vault: hvac.Client) -> None:
    assert vault.is_authenticated() is True
    assert _client(server, "not-a-token").is_authenticated() is False


def test_health_status(vault: hvac.Client) -> None:
    status = vault.sys.read_health_status(method="GET")
    assert status["initialized"] is True
    assert status["sealed"] is False
    assert status["standby"] is False
    head = vault.sys.read_health_status()
    assert head.status_code == 200
    assert head.text == ""
    assert vault.sys.is_initialized() is True
    assert vault.sys.is_sealed() is False


# --- secrets engines ------------------------------------------------------------------------------------


def test_list_enable_tune_disable_secrets_engines(vault: hvac.Client) -> None:
    mounts = vault.sys.list_mounted_secrets_engines()
    assert mounts["data"]["secret/"]["type"] == "kv"
    assert mounts["data"]["secret/"]["options"] == {"version": "2"}
    assert mounts["data"]["cubbyhole/"]["type"] == "cubbyhole"
    assert mounts["data"]["sys/"]["type"] == "system"

    mount = _name("engine")
    vault.sys.enable_secrets_engine("kv", path=mount, description="mine", options={"version": "2"})
    entry = vault.sys.list_mounted_secrets_engines()["data"][f"{mount}/"]
    assert (entry["type"], entry["description"], entry["options"]) == ("kv", "mine", {"version": "2"})

    vault.sys.tune_mount_configuration(mount, default_lease_ttl="1h", max_lease_ttl="2h", description="tuned")
    tuned = vault.sys.read_mount_configuration(mount)
    assert tuned["data"]["default_lease_ttl"] == 3600
    assert tuned["data"]["max_lease_ttl"] == 7200
    assert tuned["data"]["description"] == "tuned"
    assert vault.sys.retrieve_mount_option(mount, "version") == "2"

    with pytest.raises(hvac.exceptions.InvalidRequest, match="path is already in use"):
        vault.sys.enable_secrets_engine("kv", path=mount)

    vault.sys.disable_secrets_engine(mount)
    assert f"{mount}/" not in vault.sys.list_mounted_secrets_engines()["data"]


# --- KV v2 ----------------------------------------------------------------------------------------------


def test_kv2_versions_cas_patch_and_list(vault: hvac.Client) -> None:
    kv = vault.secrets.kv.v2
    path = _name("app") + "/db"
    first = kv.create_or_update_secret(path=path, secret={"user": "a", "password": "one"}, cas=0)
    assert first["data"]["version"] == 1
    second = kv.create_or_update_secret(path=path, secret={"user": "a", "password": "two"}, cas=1)
    assert second["data"]["version"] == 2
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set parameter did not match"):
        kv.create_or_update_secret(path=path, secret={"password": "late"}, cas=1)

    old = kv.read_secret_version(path=path, version=1, raise_on_deleted_version=True)
    assert old["data"]["data"] == {"user": "a", "password": "one"}
    assert old["data"]["metadata"]["version"] == 1

    # hvac's patch reads the secret first without raise_on_deleted_version, so it always warns.
    with pytest.warns(DeprecationWarning, match="raise_on_deleted_version"):
        patched = kv.patch(path=path, secret={"password": "three", "extra": "x"})
    assert patched["data"]["version"] == 3
    latest = kv.read_secret_version(path=path, raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"user": "a", "password": "three", "extra": "x"}

    listed = kv.list_secrets(path=path.split("/")[0])
    assert listed["data"]["keys"] == ["db"]
    assert path.split("/")[0] + "/" in kv.list_secrets(path="")["data"]["keys"]


def test_kv2_delete_undelete_destroy(vault: hvac.Client) -> None:
    kv = vault.secrets.kv.v2
    path = _name("lifecycle")
    kv.create_or_update_secret(path=path, secret={"v": "1"})
    kv.create_or_update_secret(path=path, secret={"v": "2"})

    kv.delete_latest_version_of_secret(path=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path, raise_on_deleted_version=True)
    deleted = kv.read_secret_version(path=path, raise_on_deleted_version=False)
    assert deleted["data"]["data"] is None
    assert deleted["data"]["metadata"]["deletion_time"] != ""

    kv.undelete_secret_versions(path=path, versions=[2])
    assert kv.read_secret_version(path=path, raise_on_deleted_version=True)["data"]["data"] == {"v": "2"}

    kv.delete_secret_versions(path=path, versions=[1])
    kv.destroy_secret_versions(path=path, versions=[2])
    versions = kv.read_secret_metadata(path=path)["data"]["versions"]
    assert versions["1"]["destroyed"] is False
    assert versions["1"]["deletion_time"] != ""
    assert versions["2"]["destroyed"] is True
    # A destroyed version has no deletion_time, so hvac raises even with raise_on_deleted_version=False.
    with pytest.raises(hvac.exceptions.InvalidPath) as destroyed:
        kv.read_secret_version(path=path, version=2, raise_on_deleted_version=False)
    assert destroyed.value.json["data"]["metadata"]["destroyed"] is True


def test_kv2_metadata_read_update_delete(vault: hvac.Client) -> None:
    kv = vault.secrets.kv.v2
    path = _name("meta")
    kv.create_or_update_secret(path=path, secret={"k": "v"})
    kv.update_metadata(
        path=path, max_versions=3, cas_required=True, delete_version_after="1h", custom_metadata={"team": "a"}
    )
    meta = kv.read_secret_metadata(path=path)["data"]
    assert meta["max_versions"] == 3
    assert meta["cas_required"] is True
    assert meta["delete_version_after"] == "1h0m0s"
    assert meta["custom_metadata"] == {"team": "a"}
    assert meta["current_version"] == 1
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set parameter required"):
        kv.create_or_update_secret(path=path, secret={"k": "w"})

    kv.delete_metadata_and_all_versions(path=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata(path=path)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=path, raise_on_deleted_version=True)


def test_kv2_configure_and_subkeys(vault: hvac.Client) -> None:
    mount = _name("kv2")
    vault.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    try:
        kv = vault.secrets.kv.v2
        kv.configure(max_versions=2, cas_required=False, delete_version_after="30m", mount_point=mount)
        config = kv.read_configuration(mount_point=mount)["data"]
        assert config == {
            "max_versions": 2,
            "cas_required": False,
            "delete_version_after": "30m0s",
            "metadata_cas_required": False,
        }
        for n in range(3):
            kv.create_or_update_secret(path="s", secret={"a": {"b": n}, "c": "x"}, mount_point=mount)
        versions = kv.read_secret_metadata(path="s", mount_point=mount)["data"]["versions"]
        assert sorted(versions) == ["2", "3"]
        subkeys = vault.read(f"{mount}/subkeys/s")
        assert subkeys["data"]["subkeys"] == {"a": {"b": None}, "c": None}
        assert subkeys["data"]["metadata"]["version"] == 3
    finally:
        vault.sys.disable_secrets_engine(mount)


def test_kv2_missing_secret_is_invalid_path(vault: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.secrets.kv.v2.read_secret_version(path=_name("missing"), raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.secrets.kv.v2.list_secrets(path=_name("missing"))


# --- KV v1 ----------------------------------------------------------------------------------------------


def test_kv1_create_read_list_delete(vault: hvac.Client, kv1: str) -> None:
    kv = vault.secrets.kv.v1
    kv.create_or_update_secret(path="app/one", secret={"password": "p1"}, mount_point=kv1)
    kv.create_or_update_secret(path="app/two", secret={"password": "p2"}, mount_point=kv1)
    assert kv.read_secret(path="app/one", mount_point=kv1)["data"] == {"password": "p1"}
    assert kv.list_secrets(path="app", mount_point=kv1)["data"]["keys"] == ["one", "two"]
    kv.delete_secret(path="app/one", mount_point=kv1)
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret(path="app/one", mount_point=kv1)
    assert vault.secrets.kv.v1.list_secrets(path="app", mount_point=kv1)["data"]["keys"] == ["two"]


# --- policies -------------------------------------------------------------------------------------------

_HCL = 'path "secret/data/{name}/*" {{\n  capabilities = ["read", "list"]\n}}\n'


def test_policies_hcl_and_json(vault: hvac.Client) -> None:
    hcl_name, json_name = _name("hcl"), _name("json")
    hcl = _HCL.format(name=hcl_name)
    vault.sys.create_or_update_policy(name=hcl_name, policy=hcl)
    assert vault.sys.read_policy(name=hcl_name)["data"]["rules"] == hcl

    as_dict = {"path": {f"secret/data/{json_name}": {"capabilities": ["create", "update"]}}}
    vault.sys.create_or_update_policy(name=json_name, policy=as_dict)
    assert '"capabilities"' in vault.sys.read_policy(name=json_name)["data"]["rules"]

    listed = vault.sys.list_policies()["data"]["policies"]
    assert {"default", "root", hcl_name, json_name} <= set(listed)

    vault.sys.delete_policy(name=hcl_name)
    vault.sys.delete_policy(name=json_name)
    assert hcl_name not in vault.sys.list_policies()["data"]["policies"]
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.sys.read_policy(name=hcl_name)


def test_bad_policy_is_invalid_request(vault: hvac.Client) -> None:
    with pytest.raises(hvac.exceptions.InvalidRequest):
        vault.sys.create_or_update_policy(name=_name("bad"), policy='path "x" { capabilities = ["fly"] }')


# --- tokens ---------------------------------------------------------------------------------------------


def test_token_create_with_options_and_lookup(vault: hvac.Client) -> None:
    created = vault.auth.token.create(
        policies=["default"], ttl="1h", num_uses=5, renewable=True, meta={"app": "web"}, display_name="web"
    )
    auth = created["auth"]
    assert auth["policies"] == ["default"]
    assert auth["lease_duration"] == 3600
    assert auth["renewable"] is True
    assert auth["metadata"] == {"app": "web"}
    assert auth["token_type"] == "service"
    assert auth["orphan"] is False
    assert auth["num_uses"] == 5

    looked = vault.auth.token.lookup(auth["client_token"])["data"]
    assert looked["accessor"] == auth["accessor"]
    assert looked["num_uses"] == 5
    assert looked["meta"] == {"app": "web"}
    assert looked["display_name"] == "token-web"
    assert 3500 < looked["ttl"] <= 3600

    by_accessor = vault.auth.token.lookup_accessor(auth["accessor"])["data"]
    assert by_accessor["id"] == ""
    assert by_accessor["policies"] == ["default"]


def test_lookup_self_and_root(vault: hvac.Client) -> None:
    data = vault.auth.token.lookup_self()["data"]
    assert data["id"] == "root"
    assert data["policies"] == ["root"]
    assert data["ttl"] == 0


def test_orphan_and_batch_tokens(server: RunningServer, vault: hvac.Client) -> None:
    orphan = vault.auth.token.create_orphan(policies=["default"], ttl="10m")["auth"]
    assert orphan["orphan"] is True
    no_parent = vault.auth.token.create(policies=["default"], no_parent=True)["auth"]
    assert no_parent["orphan"] is True

    batch = vault.auth.token.create(policies=["default"], type="batch", ttl="10m")["auth"]
    assert batch["token_type"] == "batch"
    assert batch["accessor"] == ""
    assert batch["renewable"] is False
    assert _client(server, batch["client_token"]).auth.token.lookup_self()["data"]["type"] == "batch"


def test_renew_and_renew_self(server: RunningServer, vault: hvac.Client) -> None:
    token = _token(vault, "default", ttl="10m", explicit_max_ttl="2h")
    renewed = vault.auth.token.renew(token, increment="1h")["auth"]
    assert renewed["lease_duration"] == 3600
    self_renewed = _client(server, token).auth.token.renew_self(increment="30m")["auth"]
    assert self_renewed["lease_duration"] == 1800
    accessor = vault.auth.token.lookup(token)["data"]["accessor"]
    assert vault.auth.token.renew_accessor(accessor, increment="20m")["auth"]["lease_duration"] == 1200


def test_revoke_revoke_accessor_revoke_self(server: RunningServer, vault: hvac.Client) -> None:
    first, second, third = (_token(vault, "default") for _ in range(3))
    vault.auth.token.revoke(first)
    accessor = vault.auth.token.lookup(second)["data"]["accessor"]
    vault.auth.token.revoke_accessor(accessor)
    _client(server, third).auth.token.revoke_self()
    for token in (first, second, third):
        assert _client(server, token).is_authenticated() is False
        with pytest.raises(hvac.exceptions.Forbidden):
            vault.auth.token.lookup(token)


def test_token_roles(vault: hvac.Client) -> None:
    role = _name("role")
    vault.auth.token.create_or_update_role(
        role, allowed_policies=["default", "reader"], orphan=True, token_period="1h", renewable=True
    )
    read = vault.auth.token.read_role(role)["data"]
    assert read["name"] == role
    assert read["allowed_policies"] == ["default", "reader"]
    assert read["orphan"] is True
    assert read["token_period"] == 3600
    assert role in vault.auth.token.list_roles()["data"]["keys"]

    auth = vault.auth.token.create(role_name=role, policies=["reader"])["auth"]
    assert auth["orphan"] is True
    assert auth["policies"] == ["default", "reader"]
    assert vault.auth.token.lookup(auth["client_token"])["data"]["role"] == role

    vault.auth.token.delete_role(role)
    with pytest.raises(hvac.exceptions.InvalidPath):
        vault.auth.token.read_role(role)


# --- capabilities, cubbyhole, ACL -----------------------------------------------------------------------


def test_capabilities(server: RunningServer, vault: hvac.Client) -> None:
    policy = _name("caps")
    vault.sys.create_or_update_policy(name=policy, policy=_HCL.format(name=policy))
    token = _token(vault, policy)
    path = f"secret/data/{policy}/x"
    assert vault.sys.get_capabilities([path], token=token)["capabilities"] == ["list", "read"]
    accessor = vault.auth.token.lookup(token)["data"]["accessor"]
    assert vault.sys.get_capabilities([path], accessor=accessor)[path] == ["list", "read"]
    mine = _client(server, token).sys.get_capabilities([path, "secret/data/other"])
    assert mine[path] == ["list", "read"]
    assert mine["secret/data/other"] == ["deny"]
    assert vault.sys.get_capabilities(["anything"])["capabilities"] == ["root"]


def test_cubbyhole_is_private_to_each_token(server: RunningServer, vault: hvac.Client) -> None:
    alice, bob = (_client(server, _token(vault, "default")) for _ in range(2))
    alice.write("cubbyhole/note", value="alice's")
    bob.write("cubbyhole/note", value="bob's")
    assert alice.read("cubbyhole/note")["data"] == {"value": "alice's"}
    assert bob.read("cubbyhole/note")["data"] == {"value": "bob's"}
    alice.delete("cubbyhole/note")
    assert alice.read("cubbyhole/note") is None
    assert bob.read("cubbyhole/note")["data"] == {"value": "bob's"}
    assert bob.list("cubbyhole/")["data"]["keys"] == ["note"]


def test_acl_refusals_are_forbidden(server: RunningServer, vault: hvac.Client) -> None:
    policy = _name("reader")
    vault.sys.create_or_update_policy(name=policy, policy=_HCL.format(name=policy))
    vault.secrets.kv.v2.create_or_update_secret(path=f"{policy}/ok", secret={"a": "1"})
    vault.secrets.kv.v2.create_or_update_secret(path="elsewhere", secret={"b": "2"})
    reader = _client(server, _token(vault, policy))

    kv = reader.secrets.kv.v2
    assert kv.read_secret_version(path=f"{policy}/ok", raise_on_deleted_version=True)["data"]["data"] == {
        "a": "1"
    }
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.read_secret_version(path="elsewhere", raise_on_deleted_version=True)
    with pytest.raises(hvac.exceptions.Forbidden):
        kv.create_or_update_secret(path=f"{policy}/ok", secret={"a": "2"})
    with pytest.raises(hvac.exceptions.Forbidden):
        reader.sys.list_mounted_secrets_engines()
    with pytest.raises(hvac.exceptions.Forbidden):
        reader.sys.create_or_update_policy(name=_name("nope"), policy=_HCL.format(name="x"))
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path=f"{policy}/missing", raise_on_deleted_version=True)
