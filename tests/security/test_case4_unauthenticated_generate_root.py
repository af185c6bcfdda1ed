"""Case 4 of the security review: root generation and rekey without a token (HCSEC-2026-08 / CVE-2026-5807,
HCSEC-2025-11 / CVE-2025-4656).

Black-box over real HTTP, the same requests to strongroom's dev server and to OpenBao 2.7.2's, which must
answer alike: by default nobody without a token can start, feed or cancel a root generation or a rekey, and
the authenticated sys/generate-root-token/* and sys/rotate/root/* answer only to a token whose policy allows
them. A vulnerable server answers 200/204 to the tokenless requests, and the tests fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import RunningServer, bao_server, free_port, sqlite_config, strongroom_config_server

UNSUPPORTED = {"errors": ["unsupported operation"]}
DENIED = {"errors": ["permission denied"]}
DENIED_TO_A_TOKEN = {"errors": ["1 error occurred:\n\t* permission denied\n\n"]}


@pytest.fixture(params=["strongroom", "openbao"])
def target(request: pytest.FixtureRequest) -> RunningServer:
    """The server under test: ours, then OpenBao as the reference."""
    server: RunningServer = request.getfixturevalue("server" if request.param == "strongroom" else "bao")
    return server


@pytest.fixture
def anonymous(target: RunningServer) -> Iterator[httpx.Client]:
    """A client that sends no token at all."""
    with httpx.Client(base_url=target.address, timeout=10) as client:
        yield client


@pytest.fixture
def root(target: RunningServer) -> Iterator[httpx.Client]:
    """A root-token client that cancels any attempt a test left behind."""
    with target.client() as client:
        yield client
        client.delete("/v1/sys/generate-root-token/attempt").raise_for_status()
        client.delete("/v1/sys/rotate/root/init").raise_for_status()


def token_with(root: httpx.Client, name: str, policy: str) -> str:
    """A token whose only policy (besides default) is `policy`, stored as `name`."""
    root.put(f"/v1/sys/policies/acl/{name}", json={"policy": policy}).raise_for_status()
    created = root.post("/v1/auth/token/create", json={"policies": [name]})
    created.raise_for_status()
    return str(created.json()["auth"]["client_token"])


@pytest.mark.parametrize("method", ["GET", "PUT", "POST", "DELETE"])
@pytest.mark.parametrize("path", ["generate-root/attempt", "generate-root/update", "rekey/init",
                                  "rekey/update", "rekey/verify"])  # fmt: skip
def test_unauthenticated_endpoints_are_off_by_default(
    anonymous: httpx.Client, root: httpx.Client, method: str, path: str
) -> None:
    body = {"key": "00" * 33, "nonce": "x"} if method in ("PUT", "POST") else None
    for client in (anonymous, root):
        answer = client.request(method, f"/v1/sys/{path}", json=body)
        assert (answer.status_code, answer.json()) == (405, UNSUPPORTED)


def test_unauthenticated_recovery_rekey_is_off_by_default(anonymous: httpx.Client) -> None:
    answer = anonymous.put(
        "/v1/sys/rekey-recovery-key/init", json={"secret_shares": 1, "secret_threshold": 1}
    )
    assert (answer.status_code, answer.json()) == (404, {"errors": ["unsupported path"]})


def test_no_token_cannot_cancel_or_restart_an_operators_attempt(
    anonymous: httpx.Client, root: httpx.Client
) -> None:
    started = root.put("/v1/sys/generate-root-token/attempt", json={})
    assert started.status_code == 200, started.text
    nonce = started.json()["data"]["nonce"]
    for method, path in [
        ("DELETE", "generate-root/attempt"), ("PUT", "generate-root/attempt"),
        ("DELETE", "generate-root-token/attempt"), ("PUT", "generate-root-token/attempt"),
        ("PUT", "generate-root-token/update"), ("GET", "generate-root-token/attempt"),
    ]:  # fmt: skip
        answer = anonymous.request(method, f"/v1/sys/{path}", json={"key": "00" * 33, "nonce": nonce})
        expected = (403, DENIED) if path.startswith("generate-root-token") else (405, UNSUPPORTED)
        assert (answer.status_code, answer.json()) == expected, (method, path)
    status = root.get("/v1/sys/generate-root-token/attempt").json()["data"]
    assert (status["started"], status["nonce"], status["progress"]) == (True, nonce, 0)
    assert root.delete("/v1/sys/generate-root-token/attempt").status_code == 204
    assert root.get("/v1/sys/generate-root-token/attempt").json()["data"]["started"] is False


def test_authenticated_endpoints_follow_the_acl(root: httpx.Client, target: RunningServer) -> None:
    nothing = token_with(root, "case4-nothing", 'path "secret/*" { capabilities = ["read"] }')
    operator = token_with(
        root,
        "case4-operator",
        'path "sys/generate-root-token/*" { capabilities = ["read", "update", "delete"] }\n'
        'path "sys/rotate/root/*" { capabilities = ["read", "update", "delete"] }',
    )
    with target.client(nothing) as stranger, target.client(operator) as allowed:
        for method, path in [
            ("GET", "generate-root-token/attempt"), ("PUT", "generate-root-token/attempt"),
            ("DELETE", "generate-root-token/attempt"), ("PUT", "generate-root-token/update"),
            ("GET", "rotate/root/init"), ("PUT", "rotate/root/init"), ("DELETE", "rotate/root/init"),
        ]:  # fmt: skip
            answer = stranger.request(method, f"/v1/sys/{path}", json={})
            assert (answer.status_code, answer.json()) == (403, DENIED_TO_A_TOKEN), (method, path)
        # OpenBao asks for the path's capabilities, not sudo: the key shares are what authorize the result.
        idle = allowed.get("/v1/sys/generate-root-token/attempt")
        assert idle.status_code == 200
        assert sorted(idle.json()["data"]) == [
            "complete",
            "otp",
            "otp_length",
            "progress",
            "required",
            "started",
        ]
        started = allowed.put("/v1/sys/generate-root-token/attempt", json={}).json()["data"]
        assert sorted(started) == [
            "complete", "nonce", "otp", "otp_length", "pgp_fingerprint", "progress", "required", "started",
        ]  # fmt: skip
        assert len(started["otp"]) == started["otp_length"]
        again = allowed.put("/v1/sys/generate-root-token/attempt", json={})
        assert again.status_code == 400
        missing = allowed.put("/v1/sys/generate-root-token/update", json={"nonce": started["nonce"]})
        assert (missing.status_code, missing.json()) == (400, {"errors": ["key is required"]})
        assert allowed.delete("/v1/sys/generate-root-token/attempt").status_code == 204
        rotate = allowed.put("/v1/sys/rotate/root/init", json={"secret_shares": 3, "secret_threshold": 2})
        assert rotate.status_code == 200, rotate.text
        assert {k: rotate.json()["data"][k] for k in ("started", "n", "t", "progress")} == {
            "started": True, "n": 3, "t": 2, "progress": 0,
        }  # fmt: skip
        twice = allowed.put("/v1/sys/rotate/root/init", json={"secret_shares": 3, "secret_threshold": 2})
        assert (twice.status_code, twice.json()) == (400, {"errors": ["rotation already in progress"]})
        assert allowed.delete("/v1/sys/rotate/root/init").status_code == 204
        idle_rotate = allowed.get("/v1/sys/rotate/root/init").json()["data"]
        assert idle_rotate == {"started": False, "t": 0, "n": 0, "required": 1}


def test_decode_token_needs_no_token_and_checks_its_inputs(anonymous: httpx.Client) -> None:
    empty = anonymous.put("/v1/sys/decode-token", json={})
    assert (empty.status_code, empty.json()) == (
        400,
        {"errors": ["provided 'encoded_token' or 'otp' is empty"]},
    )
    decoded = anonymous.put("/v1/sys/decode-token", json={"encoded_token": "AAAA", "otp": "abc"})
    assert decoded.json()["data"] == {"token": "abc"}


@pytest.mark.parametrize("kind", ["strongroom", "openbao"])
def test_a_sealed_server_answers_sealed(tmp_path: Path, kind: str) -> None:
    port = free_port()
    with (
        strongroom_config_server(tmp_path, sqlite_config(tmp_path, port), port)
        if kind == "strongroom"
        else bao_server(tmp_path, unauthed_keyholders=False)
    ) as server:
        for method, path in [("PUT", "generate-root/attempt"), ("DELETE", "generate-root/attempt"),
                             ("PUT", "rekey/init")]:  # fmt: skip
            answer = httpx.request(method, f"{server.address}/v1/sys/{path}", json={})
            assert (answer.status_code, answer.json()) == (503, {"errors": ["Vault is sealed"]})


@pytest.mark.parametrize("path", ["generate-root/attempt/", "rekey/init/"])
def test_a_trailing_slash_does_not_reopen_them(
    anonymous: httpx.Client, root: httpx.Client, path: str
) -> None:
    for method in ("PUT", "DELETE"):
        answer = anonymous.request(method, f"/v1/sys/{path}", json={})
        assert answer.status_code in (400, 403, 405), (method, answer.text)
    assert root.get("/v1/sys/generate-root-token/attempt").json()["data"]["started"] is False
    assert root.get("/v1/sys/rotate/root/init").json()["data"]["started"] is False
