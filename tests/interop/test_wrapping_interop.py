"""Response wrapping with real clients: hvac and the bao CLI against strongroom, and a differential script of
wrapping requests sent to strongroom and OpenBao alike (wrapping tokens and accessors masked)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import hvac.exceptions
import pytest

from tests.interop.differential import Answer, Step, compare, report, run
from tests.servers import RunningServer, bao_binary, bao_dev_server, strongroom_dev_server

# ---------------------------------------------------------------------------------------------------- hvac


@pytest.fixture
def vault(server: RunningServer) -> Iterator[hvac.Client]:
    client = hvac.Client(url=server.address, token=server.root_token)
    yield client
    client.adapter.close()


def _key() -> str:
    return f"wrapio-{uuid.uuid4().hex[:8]}"


def test_hvac_unwraps_a_kv_read_wrapped_through_the_adapter(vault: hvac.Client) -> None:
    key = _key()
    vault.secrets.kv.v2.create_or_update_secret(path=key, secret={"user": "app"})
    wrapped = vault.adapter.get(f"/v1/secret/data/{key}", headers={"X-Vault-Wrap-TTL": "60s"})
    info = wrapped["wrap_info"]
    assert info["ttl"] == 60
    assert info["creation_path"] == f"secret/data/{key}"
    unwrapped = vault.sys.unwrap(info["token"])
    assert unwrapped["data"]["data"] == {"user": "app"}
    with pytest.raises(hvac.exceptions.InvalidRequest, match="wrapping token is not valid or does not exist"):
        vault.sys.unwrap(info["token"])


def test_hvac_token_create_with_wrap_ttl_then_unwrap_as_the_wrapping_token(
    server: RunningServer, vault: hvac.Client
) -> None:
    wrapped = vault.auth.token.create(policies=["default"], ttl="1h", wrap_ttl="5m")
    info = wrapped["wrap_info"]
    assert wrapped["auth"] is None
    assert info["ttl"] == 300
    holder = hvac.Client(url=server.address, token=info["token"])
    try:
        auth = holder.sys.unwrap()["auth"]
    finally:
        holder.adapter.close()
    assert auth["accessor"] == info["wrapped_accessor"]
    assert auth["policies"] == ["default"]
    assert vault.auth.token.lookup(auth["client_token"])["data"]["ttl"] > 3500


def test_hvac_wrap_arbitrary_data(vault: hvac.Client) -> None:
    wrapped = vault.sys.wrap(payload={"db": "postgres://x"}, ttl="2m")
    assert wrapped["wrap_info"]["creation_path"] == "sys/wrapping/wrap"
    assert wrapped["wrap_info"]["ttl"] == 120
    assert vault.sys.unwrap(wrapped["wrap_info"]["token"])["data"] == {"db": "postgres://x"}


# ------------------------------------------------------------------------------------------------- bao CLI


def _bao(
    server: RunningServer, home: Path, *args: str, token: str = "root"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
    env |= {"HOME": str(home), "BAO_ADDR": server.address, "BAO_TOKEN": token}
    done = subprocess.run(
        [bao_binary(), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, f"bao {' '.join(args)} exited {done.returncode}: {done.stderr}"
    return done


def test_bao_kv_get_wrapped_then_bao_unwrap(server: RunningServer, tmp_path: Path) -> None:
    path = f"secret/{_key()}"
    _bao(server, tmp_path, "kv", "put", path, "password=s3cret")
    wrapped = json.loads(_bao(server, tmp_path, "kv", "get", "-wrap-ttl=60s", "-format=json", path).stdout)
    info = wrapped["wrap_info"]
    assert (info["ttl"], info["creation_path"]) == (60, path.replace("secret/", "secret/data/"))
    table = _bao(server, tmp_path, "kv", "get", "-wrap-ttl=60s", path).stdout
    assert "wrapping_token:" in table
    assert "wrapping_token_ttl:              1m\n" in table
    assert f"wrapping_token_creation_path:    secret/data/{path.removeprefix('secret/')}\n" in table
    unwrapped = json.loads(_bao(server, tmp_path, "unwrap", "-format=json", info["token"]).stdout)
    assert unwrapped["data"]["data"] == {"password": "s3cret"}


def test_bao_unwrap_with_the_wrapping_token_as_its_own_token(server: RunningServer, tmp_path: Path) -> None:
    path = f"secret/{_key()}"
    _bao(server, tmp_path, "kv", "put", path, "a=1")
    info = json.loads(_bao(server, tmp_path, "kv", "get", "-wrap-ttl=1m", "-format=json", path).stdout)[
        "wrap_info"
    ]
    unwrapped = json.loads(_bao(server, tmp_path, "unwrap", "-format=json", token=info["token"]).stdout)
    assert unwrapped["data"]["data"] == {"a": "1"}


def test_bao_token_create_wrapped(server: RunningServer, tmp_path: Path) -> None:
    wrapped = json.loads(
        _bao(server, tmp_path, "token", "create", "-wrap-ttl=5m", "-policy=default", "-format=json").stdout
    )
    info = wrapped["wrap_info"]
    assert info["ttl"] == 300
    assert info["creation_path"] == "auth/token/create"
    unwrapped = json.loads(_bao(server, tmp_path, "unwrap", "-format=json", info["token"]).stdout)
    assert unwrapped["auth"]["accessor"] == info["wrapped_accessor"]
    assert unwrapped["auth"]["policies"] == ["default"]
    second = subprocess.run(
        [bao_binary(), "unwrap", info["token"]],
        env={k: v for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_"))}
        | {"HOME": str(tmp_path), "BAO_ADDR": server.address, "BAO_TOKEN": "root"},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert second.returncode == 2
    assert "wrapping token is not valid or does not exist" in second.stderr


# ---------------------------------------------------------------------------------------------- differential

WRAP = {"X-Vault-Wrap-TTL": "60s"}
WRAPPED_TOKEN = "wrap_info.token"


def _step(name: str, method: str, path: str, body: Any = None, **kw: Any) -> Step:
    if body is None and method in ("POST", "PUT"):
        body = {}
    return Step(name, method, f"/v1/{path}", body=body, **kw)


STEPS: list[Step] = [
    _step("kv-put", "POST", "secret/data/wrapdiff/x", {"data": {"password": "hunter2"}}),
    _step("kv-read-wrapped", "GET", "secret/data/wrapdiff/x", headers=WRAP, save={"t1": WRAPPED_TOKEN}),
    _step("lookup-anonymous", "POST", "sys/wrapping/lookup", {"token": "${t1}"}, token=""),
    _step("lookup-query", "GET", "sys/wrapping/lookup?token=${t1}", token=""),
    _step("token-lookup-wrapping-token", "POST", "auth/token/lookup", {"token": "${t1}"}),
    _step("unwrap-own-token", "POST", "sys/wrapping/unwrap", token="${t1}"),
    _step("unwrap-own-token-again", "POST", "sys/wrapping/unwrap", token="${t1}"),
    _step("lookup-after-unwrap", "POST", "sys/wrapping/lookup", {"token": "${t1}"}, token=""),
    _step("token-create-wrapped", "POST", "auth/token/create", {"policies": ["default"], "ttl": "1h"},
          headers={"X-Vault-Wrap-TTL": "5m"}, save={"t2": WRAPPED_TOKEN}),
    _step("unwrap-token-create", "POST", "sys/wrapping/unwrap", {"token": "${t2}"}),
    _step("wrap-data", "POST", "sys/wrapping/wrap", {"foo": "bar", "n": 1},
          headers={"X-Vault-Wrap-TTL": "2m"}, save={"t3": WRAPPED_TOKEN}),
    _step("rewrap", "POST", "sys/wrapping/rewrap", {"token": "${t3}"}, save={"t4": WRAPPED_TOKEN}),
    _step("lookup-rewrapped-old", "POST", "sys/wrapping/lookup", {"token": "${t3}"}, token=""),
    _step("lookup-rewrapped-new", "POST", "sys/wrapping/lookup", {"token": "${t4}"}, token=""),
    _step("unwrap-rewrapped", "POST", "sys/wrapping/unwrap", {"token": "${t4}"}),
    _step("wrap-without-ttl", "POST", "sys/wrapping/wrap", {"a": 1}),
    _step("wrap-empty", "POST", "sys/wrapping/wrap", {}, headers=WRAP, save={"t5": WRAPPED_TOKEN}),
    _step("unwrap-empty", "POST", "sys/wrapping/unwrap", {"token": "${t5}"}),
    _step("wrap-get", "GET", "sys/wrapping/wrap", headers=WRAP),
    _step("unwrap-no-token", "POST", "sys/wrapping/unwrap", token=""),
    _step("unwrap-root-no-body", "POST", "sys/wrapping/unwrap"),
    _step("unwrap-empty-body-token", "POST", "sys/wrapping/unwrap", {"token": ""}),
    _step("unwrap-non-string-token", "POST", "sys/wrapping/unwrap", {"token": 5}),
    _step("unwrap-unknown-token", "POST", "sys/wrapping/unwrap", {"token": "s.doesnotexist0000000000"}),
    _step("lookup-null-token", "POST", "sys/wrapping/lookup", {"token": None}, token=""),
    _step("lookup-root-token", "POST", "sys/wrapping/lookup", {"token": "root"}, token=""),
    _step("rewrap-unknown", "POST", "sys/wrapping/rewrap", {"token": "s.doesnotexist0000000000"}),
    _step("rewrap-no-token", "POST", "sys/wrapping/rewrap"),
    _step("wrap-for-third-party", "POST", "sys/wrapping/wrap", {"k": "v"}, headers=WRAP,
          save={"t6": WRAPPED_TOKEN}),
    _step("unwrap-third-party-anonymous", "POST", "sys/wrapping/unwrap", {"token": "${t6}"}, token=""),
    _step("lookup-after-anonymous-unwrap", "POST", "sys/wrapping/lookup", {"token": "${t6}"}, token=""),
    _step("wrap-for-other-path", "POST", "sys/wrapping/wrap", {"k": "v"}, headers=WRAP,
          save={"t7": WRAPPED_TOKEN}),
    _step("wrapping-token-reads-kv", "GET", "secret/data/wrapdiff/x", token="${t7}"),
    _step("unwrap-after-denied-use", "POST", "sys/wrapping/unwrap", token="${t7}"),
    _step("wrap-for-get-unwrap", "POST", "sys/wrapping/wrap", {"k": "v"}, headers=WRAP,
          save={"t8": WRAPPED_TOKEN}),
    _step("unwrap-by-get", "GET", "sys/wrapping/unwrap", token="${t8}"),
    _step("wrap-for-rewrap-self", "POST", "sys/wrapping/wrap", {"k": "v"}, headers=WRAP,
          save={"t9": WRAPPED_TOKEN}),
    _step("rewrap-as-wrapping-token", "POST", "sys/wrapping/rewrap", token="${t9}"),
    _step("cubby-write-wrapped", "POST", "cubbyhole/wrapdiff/a", {"x": "y"}, headers=WRAP),
    _step("cubby-list-wrapped", "LIST", "cubbyhole/wrapdiff/", headers=WRAP, save={"t10": WRAPPED_TOKEN}),
    _step("unwrap-list", "POST", "sys/wrapping/unwrap", {"token": "${t10}"}),
    _step("cubby-empty-list-wrapped", "LIST", "cubbyhole/wrapdiff-none/", headers=WRAP),
    _step("kv-missing-wrapped", "GET", "secret/data/wrapdiff/missing", headers=WRAP),
    _step("no-route-wrapped", "GET", "nomount/x", headers=WRAP),
    _step("wrap-ttl-negative", "GET", "secret/data/wrapdiff/x", headers={"X-Vault-Wrap-TTL": "-5"}),
    _step("wrap-ttl-garbage", "GET", "secret/data/wrapdiff/x", headers={"X-Vault-Wrap-TTL": "abc"}),
    _step("wrap-ttl-zero", "GET", "secret/data/wrapdiff/x", headers={"X-Vault-Wrap-TTL": "0"}),
    _step("wrap-ttl-fraction", "GET", "secret/data/wrapdiff/x", headers={"X-Vault-Wrap-TTL": "1.5s"}),
    _step("wrap-for-wrapped-lookup", "POST", "sys/wrapping/wrap", {"k": "v"}, headers=WRAP,
          save={"t11": WRAPPED_TOKEN}),
    _step("wrapped-lookup-call", "POST", "sys/wrapping/lookup", {"token": "${t11}"}, headers=WRAP,
          save={"t12": WRAPPED_TOKEN}),
    _step("unwrap-wrapped-lookup", "POST", "sys/wrapping/unwrap", {"token": "${t12}"}),
    _step("wrapped-unwrap-call", "POST", "sys/wrapping/unwrap", {"token": "${t11}"}, headers=WRAP,
          save={"t13": WRAPPED_TOKEN}),
    _step("unwrap-wrapped-unwrap", "POST", "sys/wrapping/unwrap", {"token": "${t13}"}),
    _step("policy-response-wrapping", "GET", "sys/policy/response-wrapping"),
    _step("policies-list", "LIST", "sys/policies/acl"),
    _step("policy-response-wrapping-write", "PUT", "sys/policies/acl/response-wrapping",
          {"policy": 'path "*" {}'}),
    _step("policy-response-wrapping-delete", "DELETE", "sys/policies/acl/response-wrapping"),
]  # fmt: skip


def _mask_wrapped_accessor(value: Any) -> Any:
    """`wrapped_accessor` is random like `accessor` (which the differential engine already masks)."""
    if isinstance(value, dict):
        return {
            k: ("<wrapped_accessor>" if k == "wrapped_accessor" and v else _mask_wrapped_accessor(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_wrapped_accessor(v) for v in value]
    return value


def _masked(answers: list[Answer]) -> list[Answer]:
    return [Answer(a.status, _mask_wrapped_accessor(a.body)) for a in answers]


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Answer], list[Answer]]]:
    with (
        strongroom_dev_server(tmp_path_factory.mktemp("wrapdiff-strongroom")) as ours,
        bao_dev_server(tmp_path_factory.mktemp("wrapdiff-bao")) as bao,
    ):
        yield _masked(run(ours, STEPS)), _masked(run(bao, STEPS))


def test_script_is_broad_and_names_are_unique() -> None:
    names = [step.name for step in STEPS]
    assert len(names) >= 20
    assert len(set(names)) == len(names)


def test_wrapping_answers_as_openbao_does(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, theirs = answers
    mismatches = compare(STEPS, ours, theirs)
    assert not mismatches, report(mismatches, [])


def test_the_script_really_wrapped_and_unwrapped(answers: tuple[list[Answer], list[Answer]]) -> None:
    ours, _ = answers
    by_name = {step.name: answer for step, answer in zip(STEPS, ours, strict=True)}
    assert by_name["kv-read-wrapped"].body["wrap_info"]["token"].startswith("s.")
    assert by_name["unwrap-own-token"].body["data"]["data"] == {"password": "hunter2"}
    assert by_name["unwrap-own-token-again"].status == 400
    assert by_name["unwrap-rewrapped"].body["data"] == {"foo": "bar", "n": 1}
    assert by_name["token-create-wrapped"].body["wrap_info"]["wrapped_accessor"] == "<wrapped_accessor>"
