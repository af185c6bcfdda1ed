"""Error paths over real HTTP: tokens, unknown routes and methods, bad bodies, oversized bodies, bad paths."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.servers import RunningServer

MAX_BODY = 32 * 1024 * 1024


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def anonymous(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.address, timeout=30) as client:
        yield client


def _raw(server: RunningServer, request: bytes) -> bytes:
    """Send bytes as they are (httpx would normalise the path) and read the whole answer."""
    address = urlsplit(server.address)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- tokens ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["secret/data/x", "sys/mounts", "sys/policies/acl", "auth/token/lookup-self", "cubbyhole/x"]
)
def test_no_token_is_403(anonymous: httpx.Client, path: str) -> None:
    response = anonymous.get(f"/v1/{path}")
    assert response.status_code == 403
    assert response.json() == {"errors": ["permission denied"]}


@pytest.mark.parametrize("headers", [{"X-Vault-Token": "bogus"}, {"Authorization": "Bearer bogus"}])
def test_a_bad_token_is_403(anonymous: httpx.Client, headers: dict[str, str]) -> None:
    response = anonymous.get("/v1/secret/data/x", headers=headers)
    assert response.status_code == 403
    assert response.json() == {"errors": ["permission denied"]}


def test_a_bearer_token_is_accepted(anonymous: httpx.Client, server: RunningServer) -> None:
    response = anonymous.get("/v1/sys/mounts", headers={"Authorization": f"Bearer {server.root_token}"})
    assert response.status_code == 200
    assert "secret/" in response.json()["data"]


def test_unknown_route_is_403_without_a_token_and_404_with_one(
    anonymous: httpx.Client, root: httpx.Client
) -> None:
    assert anonymous.get("/v1/nomount/x").status_code == 403
    response = root.get("/v1/nomount/x")
    assert response.status_code == 404
    assert response.json() == {"errors": ['no handler for route "nomount/x". route entry not found.']}


def test_outside_v1_is_404(root: httpx.Client) -> None:
    for path in ("/v2/secret/data/x", "/v1", "/v1x/sys/mounts"):
        response = root.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"errors": []}


def test_missing_secret_is_404_with_no_errors(root: httpx.Client) -> None:
    response = root.get(f"/v1/secret/data/{_name('missing')}")
    assert response.status_code == 404
    assert response.json() == {"errors": []}
    listed = root.request("LIST", f"/v1/secret/metadata/{_name('missing')}/")
    assert listed.status_code == 404
    assert listed.json() == {"errors": []}


# --- methods --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("PUT", "sys/mounts"), ("DELETE", "sys/policies/acl")])
def test_unsupported_operation_is_405(root: httpx.Client, method: str, path: str) -> None:
    response = root.request(method, f"/v1/{path}")
    assert response.status_code == 405
    assert response.json() == {"errors": ["1 error occurred:\n\t* unsupported operation\n\n"]}


@pytest.mark.parametrize("method", ["TRACE", "BREW"])
def test_unknown_http_method_is_405(root: httpx.Client, method: str) -> None:
    assert root.request(method, "/v1/secret/data/x").status_code == 405


# --- bodies ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [b"{bad", b'{"data": ', b"\xff\xfe", b"[1, 2]", b'"string"'])
def test_malformed_json_is_400(root: httpx.Client, body: bytes) -> None:
    response = root.post(f"/v1/secret/data/{_name('bad')}", content=body)
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error.startswith("failed to decode JSON input: ")


def test_an_empty_body_is_an_empty_object(root: httpx.Client) -> None:
    response = root.post("/v1/auth/token/create", content=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["auth"]["policies"] == ["root"]


def test_patch_needs_merge_patch_content_type(root: httpx.Client) -> None:
    path = f"/v1/secret/data/{_name('patch')}"
    assert root.post(path, json={"data": {"a": "1"}}).status_code == 200
    body = b'{"data": {"b": "2"}}'
    wrong = root.patch(path, content=body, headers={"Content-Type": "application/json"})
    assert wrong.status_code == 415
    assert wrong.json() == {
        "errors": ["PATCH requires Content-Type of application/merge-patch+json, provided application/json"]
    }
    missing = root.patch(path, content=body, headers={"Content-Type": ""})
    assert missing.status_code == 400
    assert missing.json() == {"errors": ["mime: no media type"]}
    patched = root.patch(
        path, content=b'{"data": {"b": "2"}}', headers={"Content-Type": "application/merge-patch+json"}
    )
    assert patched.status_code == 200
    assert root.get(path).json()["data"]["data"] == {"a": "1", "b": "2"}


def test_a_declared_oversized_body_is_413_before_it_is_read(server: RunningServer) -> None:
    # Only the headers are sent: strongroom refuses on Content-Length alone (OpenBao waits for the body).
    answer = _raw(
        server,
        b"POST /v1/secret/data/big HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\n"
        + f"Content-Length: {MAX_BODY + 1}\r\nConnection: close\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b'{"errors":["http: request body too large"]}' in answer


def test_a_streamed_oversized_body_is_413(root: httpx.Client) -> None:
    chunk = b" " * (1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(MAX_BODY // len(chunk) + 1):
            yield chunk

    try:
        response = root.post("/v1/secret/data/big", content=body())
    except httpx.WriteError:  # the server may close the connection before the upload ends
        return
    assert response.status_code == 413
    assert response.json() == {"errors": ["http: request body too large"]}


def test_a_body_just_under_the_limit_is_read(root: httpx.Client) -> None:
    body = b'{"data": {"k": "v"}}' + b" " * (MAX_BODY - 64)
    response = root.post(f"/v1/secret/data/{_name('near')}", content=body)
    assert response.status_code == 200
    assert response.json()["data"]["version"] == 1


# --- paths ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw_path", [b"/v1/secret/data/../../sys/mounts", b"/v1/secret/data/a/../b", b"/v1/sys/../secret/data/x"]
)
def test_dot_dot_paths_are_never_served(server: RunningServer, root: httpx.Client, raw_path: bytes) -> None:
    root.post("/v1/secret/data/b", json={"data": {"dotdot": "must-not-leak"}})
    answer = _raw(
        server,
        b"GET " + raw_path + b" HTTP/1.1\r\nHost: x\r\nX-Vault-Token: root\r\nConnection: close\r\n\r\n",
    )
    status = int(answer.split(b" ", 2)[1])
    assert status in (307, 400)  # OpenBao redirects to the cleaned path; strongroom refuses
    assert b"must-not-leak" not in answer
    assert b'"secret/"' not in answer


def test_control_characters_in_a_path_are_refused(root: httpx.Client) -> None:
    response = root.get("/v1/secret/data/a%00b")
    assert response.status_code in (400, 404)


def test_a_wrapping_request_is_never_answered_unwrapped(server: RunningServer) -> None:
    answer = httpx.post(
        f"{server.address}/v1/auth/token/create",
        json={"policies": ["default"]},
        headers={"X-Vault-Token": server.root_token, "X-Vault-Wrap-TTL": "5m"},
    )
    assert answer.status_code == 200
    assert answer.json()["wrap_info"]["ttl"] == 300
    assert "client_token" not in answer.text
