"""The HTTP client against httpx's in-memory transport: requests sent, responses decoded, errors raised."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from strongroom.client import (
    Client,
    ClientError,
    TransportError,
    address_from_env,
    read_token_file,
    store_token,
    token_from_env,
)

Handler = Callable[[httpx.Request], httpx.Response]


def make(handler: Handler, token: str | None = "s.secret-token") -> Client:
    return Client("http://vault.test:8200/", token, transport=httpx.MockTransport(handler), namespace="team")


def test_read_sends_token_and_namespace_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"a": "1"}})

    assert make(handler).read("secret/data/x", {"version": "2"}) == {"data": {"a": "1"}}
    request = seen[0]
    assert (request.method, str(request.url)) == ("GET", "http://vault.test:8200/v1/secret/data/x?version=2")
    assert request.headers["X-Vault-Token"] == "s.secret-token"
    assert request.headers["X-Vault-Namespace"] == "team"


def test_read_404_is_none_unless_it_carries_warnings() -> None:
    assert make(lambda _: httpx.Response(404, json={"errors": []})).read("x") is None
    warned = {"data": None, "warnings": ["deleted"]}
    assert make(lambda _: httpx.Response(404, json=warned)).read("x") == warned


def test_list_is_a_get_with_list_true_and_write_puts_json() -> None:
    seen: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url.query, "ascii"), request.content))
        return httpx.Response(204)

    client = make(handler)
    assert client.list("secret/metadata") is None
    assert client.write("secret/data/x", {"data": {"a": 1}}) is None
    assert seen == [("GET", "list=true", b""), ("PUT", "", b'{"data":{"a":1}}')]


def test_patch_is_a_json_merge_patch() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {}})

    make(handler).patch("secret/data/x", {"data": {"b": "2"}})
    assert seen[0].method == "PATCH"
    assert seen[0].headers["Content-Type"] == "application/merge-patch+json"
    assert json.loads(seen[0].content) == {"data": {"b": "2"}}


def test_error_status_raises_vault_style_message_without_the_token() -> None:
    client = make(lambda _: httpx.Response(403, json={"errors": ["permission denied"]}))
    with pytest.raises(ClientError) as caught:
        client.write("sys/mounts/x", {"type": "kv"})
    assert (caught.value.status, caught.value.errors) == (403, ["permission denied"])
    assert str(caught.value) == (
        "Error making API request.\n\nURL: PUT http://vault.test:8200/v1/sys/mounts/x\n"
        "Code: 403. Errors:\n\n* permission denied"
    )
    assert "s.secret-token" not in str(caught.value)
    assert "s.secret-token" not in repr(client)


def test_a_non_json_error_body_becomes_the_error_text() -> None:
    with pytest.raises(ClientError) as caught:
        make(lambda _: httpx.Response(502, text="bad gateway")).read("x")
    assert (caught.value.status, caught.value.errors) == (502, ["bad gateway"])


def test_connection_failure_is_a_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(TransportError) as caught:
        make(handler).read("sys/health")
    assert caught.value.status == 0
    assert str(caught.value) == 'Get "http://vault.test:8200/v1/sys/health": connection refused'


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, {"data": {"path": "secret/", "options": {"version": "2"}}}, ("secret/", 2)),
        (200, {"data": {"path": "kv/", "options": None}}, ("kv/", 1)),
        (200, {"data": {"path": "old/", "options": {"version": "1"}}}, ("old/", 1)),
        (404, {"errors": []}, ("", 1)),
    ],
)
def test_kv_mount_info(status: int, body: dict[str, object], expected: tuple[str, int]) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return httpx.Response(status, json=body)

    assert make(handler).kv_mount_info("secret/db/creds") == expected
    assert seen == ["/v1/sys/internal/ui/mounts/secret/db/creds"]


def test_environment_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert address_from_env({}) == "http://127.0.0.1:8200"
    assert address_from_env({"BAO_ADDR": "http://b", "VAULT_ADDR": "http://v"}) == "http://v"
    assert address_from_env({"STRONGROOM_ADDR": "http://s", "VAULT_ADDR": "http://v"}) == "http://s"
    assert token_from_env({"BAO_TOKEN": "b", "VAULT_TOKEN": "v"}) == "v"
    assert token_from_env({}) is None
    store_token("from-file")
    assert token_from_env({}) == "from-file"
    assert token_from_env({"STRONGROOM_TOKEN": "env"}) == "env"


def test_token_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "token"
    store_token("first", path)
    store_token("second", path)
    assert read_token_file(path) == "second"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["token"]
