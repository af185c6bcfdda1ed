"""Response wrapping over real HTTP: X-Vault-Wrap-TTL on reads and token creation, sys/wrapping/unwrap
(once only), lookup, rewrap and wrap, what a wrapping token may not do, and its expiry."""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.servers import RunningServer

INVALID = {"errors": ["wrapping token is not valid or does not exist"]}
REFUSED = "error validating wrapping token: "
ROOT = {"X-Vault-Token": "root"}
ACL_DENIED = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


def _key() -> str:
    return f"wrap-{uuid.uuid4().hex[:8]}"


def _wrapped(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["data"] is None
    assert body["auth"] is None
    assert body["request_id"] == ""
    info: dict[str, Any] = body["wrap_info"]
    return info


def _wrap(client: httpx.Client, method: str, path: str, ttl: str = "60s", **kw: Any) -> dict[str, Any]:
    return _wrapped(client.request(method, f"/v1/{path}", headers={"X-Vault-Wrap-TTL": ttl}, **kw))


def _unwrap_as(server: RunningServer, token: str) -> httpx.Response:
    with httpx.Client(base_url=server.address, headers={"X-Vault-Token": token}, timeout=10) as client:
        return client.post("/v1/sys/wrapping/unwrap")


def test_a_wrapped_kv_read_unwraps_once_to_the_original_body(
    server: RunningServer, root: httpx.Client
) -> None:
    key = _key()
    root.post(f"/v1/secret/data/{key}", json={"data": {"password": "hunter2"}}).raise_for_status()
    info = _wrap(root, "GET", f"secret/data/{key}", "90s")
    assert info["ttl"] == 90
    assert info["creation_path"] == f"secret/data/{key}"
    assert info["token"].startswith("s.")
    assert "wrapped_accessor" not in info
    assert info["creation_time"].endswith("Z")
    first = _unwrap_as(server, info["token"])
    assert first.status_code == 200
    assert first.json()["data"]["data"] == {"password": "hunter2"}
    assert first.json()["data"]["metadata"]["version"] == 1
    assert first.json()["wrap_info"] is None
    second = _unwrap_as(server, info["token"])
    assert (second.status_code, second.json()) == (400, INVALID)


def test_a_wrapped_token_create_carries_the_wrapped_accessor(
    server: RunningServer, root: httpx.Client
) -> None:
    info = _wrap(root, "POST", "auth/token/create", "5m", json={"policies": ["default"], "ttl": "1h"})
    assert info["ttl"] == 300
    assert info["creation_path"] == "auth/token/create"
    unwrapped = root.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]})
    assert unwrapped.status_code == 200
    auth = unwrapped.json()["auth"]
    assert auth["accessor"] == info["wrapped_accessor"]
    assert auth["policies"] == ["default"]
    assert auth["lease_duration"] == 3600
    with server.client(auth["client_token"]) as client:
        assert client.get("/v1/auth/token/lookup-self").json()["data"]["accessor"] == info["wrapped_accessor"]
    again = root.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]})
    assert (again.status_code, again.json()) == (400, INVALID)


def test_the_wrapping_token_is_an_orphan_single_use_response_wrapping_token(root: httpx.Client) -> None:
    info = _wrap(root, "POST", "sys/wrapping/wrap", "2m", json={"a": 1})
    data = root.post("/v1/auth/token/lookup", json={"token": info["token"]}).json()["data"]
    assert data["policies"] == ["response-wrapping"]
    assert (data["num_uses"], data["explicit_max_ttl"], data["creation_ttl"]) == (1, 120, 120)
    assert (data["orphan"], data["renewable"], data["type"]) == (True, False, "service")
    assert data["path"] == "sys/wrapping/wrap"
    assert data["accessor"] == info["accessor"]


def test_lookup_needs_no_token_and_does_not_use_the_wrapping_token(
    server: RunningServer, root: httpx.Client
) -> None:
    info = _wrap(root, "POST", "sys/wrapping/wrap", "2m", json={"a": 1})
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        looked = anonymous.post("/v1/sys/wrapping/lookup", json={"token": info["token"]})
        by_query = anonymous.get("/v1/sys/wrapping/lookup", params={"token": info["token"]})
    assert looked.status_code == 200
    assert looked.json()["data"] == {
        "creation_path": "sys/wrapping/wrap", "creation_time": info["creation_time"], "creation_ttl": 120,
    }  # fmt: skip
    assert by_query.json()["data"] == looked.json()["data"]
    assert _unwrap_as(server, info["token"]).json()["data"] == {"a": 1}


def test_rewrap_issues_a_new_token_and_invalidates_the_old(server: RunningServer, root: httpx.Client) -> None:
    old = _wrap(root, "POST", "sys/wrapping/wrap", "3m", json={"k": "v"})
    new = _wrapped(root.post("/v1/sys/wrapping/rewrap", json={"token": old["token"]}))
    assert new["token"] != old["token"]
    assert (new["ttl"], new["creation_path"]) == (180, "sys/wrapping/wrap")
    stale = root.post("/v1/sys/wrapping/lookup", json={"token": old["token"]})
    assert (stale.status_code, stale.json()) == (400, INVALID)
    assert _unwrap_as(server, new["token"]).json()["data"] == {"k": "v"}


def test_wrap_and_unwrap_arbitrary_data(root: httpx.Client) -> None:
    payload = {"nested": {"list": [1, 2, "three"]}, "flag": True}
    info = _wrap(root, "POST", "sys/wrapping/wrap", json=payload)
    assert info["creation_path"] == "sys/wrapping/wrap"
    unwrapped = root.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]})
    assert unwrapped.json()["data"] == payload
    unwrapped_empty = root.post(
        "/v1/sys/wrapping/unwrap", json={"token": _wrap(root, "POST", "sys/wrapping/wrap", json={})["token"]}
    )
    assert unwrapped_empty.json()["data"] == {}


def test_wrap_without_a_wrap_ttl_is_refused(root: httpx.Client) -> None:
    refused = root.post("/v1/sys/wrapping/wrap", json={"a": 1})
    assert (refused.status_code, refused.json()) == (
        400, {"errors": ["endpoint requires response wrapping to be used"]},
    )  # fmt: skip


def test_the_wrapping_token_cannot_read_other_paths_and_that_attempt_uses_it_up(
    server: RunningServer, root: httpx.Client
) -> None:
    key = _key()
    root.post(f"/v1/secret/data/{key}", json={"data": {"a": "b"}}).raise_for_status()
    info = _wrap(root, "GET", f"secret/data/{key}")
    with server.client(info["token"]) as client:
        denied = client.get(f"/v1/secret/data/{key}")
    assert (denied.status_code, denied.json()) == (403, ACL_DENIED)
    # Its single use went on the refused request, as in Vault.
    after = _unwrap_as(server, info["token"])
    assert (after.status_code, after.json()) == (400, INVALID)


def test_the_wrapping_token_may_not_lookup_itself_or_rewrap(
    server: RunningServer, root: httpx.Client
) -> None:
    for path in ("auth/token/lookup-self", "sys/wrapping/rewrap"):
        info = _wrap(root, "POST", "sys/wrapping/wrap", json={"a": 1})
        with server.client(info["token"]) as client:
            denied = client.request("POST" if "rewrap" in path else "GET", f"/v1/{path}")
        assert (denied.status_code, denied.json()) == (403, ACL_DENIED), path


def test_a_wrapping_token_with_a_one_second_ttl_expires(server: RunningServer, root: httpx.Client) -> None:
    info = _wrap(root, "POST", "sys/wrapping/wrap", "1s", json={"a": 1})
    assert info["ttl"] == 1
    time.sleep(1.2)
    expired = _unwrap_as(server, info["token"])
    assert (expired.status_code, expired.json()) == (400, INVALID)


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({}, None, 403, REFUSED + "token is empty"),
        ({}, {"token": None}, 403, REFUSED + "token is empty"),
        (ROOT, {"token": ""}, 403, REFUSED + "empty token in request body"),
        (ROOT, {"token": 5}, 403, REFUSED + "could not decode token in request body"),
        (ROOT, None, 400, INVALID["errors"][0]),
        (ROOT, {"token": "s.doesnotexist"}, 400, INVALID["errors"][0]),
    ],
    ids=["no-token", "null-token", "empty-body-token", "non-string", "root-is-no-wrapping-token", "unknown"],
)  # fmt: skip
@pytest.mark.parametrize("endpoint", ["unwrap", "lookup", "rewrap"])
def test_bad_wrapping_tokens_are_refused_as_vault_refuses_them(
    server: RunningServer, endpoint: str, headers: dict[str, str], body: Any, status: int, message: str
) -> None:
    with httpx.Client(base_url=server.address, headers=headers, timeout=10) as client:
        answer = client.post(f"/v1/sys/wrapping/{endpoint}", json=body)
    assert (answer.status_code, answer.json()) == (status, {"errors": [message]})


def test_a_third_party_needs_a_token_of_its_own_to_unwrap(server: RunningServer, root: httpx.Client) -> None:
    info = _wrap(root, "POST", "sys/wrapping/wrap", json={"a": 1})
    with httpx.Client(base_url=server.address, timeout=10) as anonymous:
        refused = anonymous.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]})
    assert (refused.status_code, refused.json()) == (403, {"errors": ["permission denied"]})
    created = root.post("/v1/auth/token/create", json={"policies": ["default"]}).json()["auth"][
        "client_token"
    ]
    with server.client(created) as holder:  # the default policy grants sys/wrapping/unwrap
        assert holder.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]}).json()["data"] == {
            "a": 1
        }


def test_wrap_ttl_header_values(root: httpx.Client) -> None:
    key = _key()
    root.post(f"/v1/secret/data/{key}", json={"data": {"a": "b"}}).raise_for_status()
    zero = root.get(f"/v1/secret/data/{key}", headers={"X-Vault-Wrap-TTL": "0"})
    assert zero.json()["data"]["data"] == {"a": "b"}
    assert _wrap(root, "GET", f"secret/data/{key}", "1.5s")["ttl"] == 1
    assert _wrap(root, "GET", f"secret/data/{key}", "120")["ttl"] == 120
    for value, error in (
        ("-5", "error parsing X-Vault-Wrap-TTL header: requested wrap ttl cannot be negative"),
        ("abc", 'error parsing X-Vault-Wrap-TTL header: time: invalid duration "abc"'),
    ):
        bad = root.get(f"/v1/secret/data/{key}", headers={"X-Vault-Wrap-TTL": value})
        assert (bad.status_code, bad.json()) == (400, {"errors": [error]})


def test_what_is_not_wrapped(root: httpx.Client) -> None:
    wrap = {"X-Vault-Wrap-TTL": "60"}
    written = root.post(f"/v1/cubbyhole/{_key()}", json={"a": "b"}, headers=wrap)
    assert (written.status_code, written.content) == (204, b"")
    missing = root.get(f"/v1/secret/data/{_key()}", headers=wrap)
    assert (missing.status_code, missing.json()) == (404, {"errors": []})
    empty_list = root.request("LIST", f"/v1/cubbyhole/{_key()}/", headers=wrap)
    assert (empty_list.status_code, empty_list.json()) == (404, {"errors": ["unsupported path"]})
    error = root.get("/v1/nomount/x", headers=wrap)
    assert error.status_code == 404


def test_a_wrapped_listing_unwraps_to_its_keys(root: httpx.Client) -> None:
    key = _key()
    root.post(f"/v1/cubbyhole/{key}/a", json={"x": "y"}).raise_for_status()
    info = _wrap(root, "LIST", f"cubbyhole/{key}/")
    assert info["creation_path"] == f"cubbyhole/{key}/"
    assert root.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]}).json()["data"] == {
        "keys": ["a"]
    }


def test_max_wrapping_ttl_in_a_policy_forces_wrapping(server: RunningServer, root: httpx.Client) -> None:
    key, policy = _key(), _key()
    root.post(f"/v1/secret/data/{key}", json={"data": {"a": "b"}}).raise_for_status()
    rules = f'path "secret/data/{key}" {{\n  capabilities = ["read"]\n  max_wrapping_ttl = "60s"\n}}'
    root.put(f"/v1/sys/policies/acl/{policy}", json={"policy": rules}).raise_for_status()
    token = root.post("/v1/auth/token/create", json={"policies": [policy]}).json()["auth"]["client_token"]
    with server.client(token) as client:
        assert client.get(f"/v1/secret/data/{key}").status_code == 403
        assert client.get(f"/v1/secret/data/{key}", headers={"X-Vault-Wrap-TTL": "2m"}).status_code == 403
        info = _wrap(client, "GET", f"secret/data/{key}", "30s")
    assert root.post("/v1/sys/wrapping/unwrap", json={"token": info["token"]}).json()["data"]["data"] == {
        "a": "b"
    }


def test_the_response_wrapping_policy_is_readable_but_not_listed_or_writable(root: httpx.Client) -> None:
    policy = root.get("/v1/sys/policies/acl/response-wrapping").json()["data"]
    assert 'path "sys/wrapping/unwrap"' in policy["policy"]
    assert "response-wrapping" not in root.request("LIST", "/v1/sys/policies/acl").json()["data"]["keys"]
    refused = root.put("/v1/sys/policies/acl/response-wrapping", json={"policy": 'path "*" {}'})
    assert (refused.status_code, refused.json()) == (
        400,
        {"errors": ['cannot update "response-wrapping" policy']},
    )
