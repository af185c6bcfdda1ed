"""Audit devices over real HTTP: Vault-shaped entries, no plaintext secret, fail closed, SIGHUP reopen."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.servers import API_AUDIT, RunningServer, bao_dev_server, strongroom_dev_server


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with strongroom_dev_server(tmp_path_factory.mktemp("audit-dev"), config=API_AUDIT) as server:
        yield server


def enable(client: httpx.Client, path: str, options: dict[str, str], kind: str = "file") -> None:
    answer = client.put(f"/v1/sys/audit/{path}", json={"type": kind, "options": options})
    assert answer.status_code == 204, answer.text


def entries(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


def test_entries_hold_no_plaintext_secret_and_every_hash(dev: RunningServer, tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    with dev.client() as client:
        enable(client, "grep", {"file_path": str(log)})
        try:
            password = "correct-horse-battery-staple"
            assert client.put("/v1/secret/data/app", json={"data": {"password": password}}).status_code == 200
            assert client.get("/v1/secret/data/app").json()["data"]["data"]["password"] == password
            created = client.post("/v1/auth/token/create", json={"policies": ["default"]}).json()["auth"]
            new_token, accessor = created["client_token"], created["accessor"]
            with dev.client(new_token) as limited:
                assert limited.get("/v1/auth/token/lookup-self").status_code == 200
            hashes = {
                value: client.put("/v1/sys/audit-hash/grep", json={"input": value}).json()["data"]["hash"]
                for value in (password, new_token, accessor, dev.root_token)
            }
        finally:
            assert client.delete("/v1/sys/audit/grep").status_code == 204
    text = log.read_text()
    for value, hashed in hashes.items():
        assert hashed in text
        # The dev root token "root" is also the root policy's name, which Vault leaves readable.
        assert value == dev.root_token or value not in text
    assert new_token not in text
    assert password not in text
    assert os.stat(log).st_mode & 0o777 == 0o600
    found = [e for e in entries(log) if e["request"]["path"] == "secret/data/app"]  # type: ignore[index]
    assert [e["type"] for e in found] == ["request", "response", "request", "response"]
    write = found[0]
    assert set(write) == {"time", "type", "auth", "request"}
    assert write["request"]["data"] == {"data": {"password": hashes[password]}}  # type: ignore[index]
    assert write["request"]["client_token"] == hashes[dev.root_token]  # type: ignore[index]
    assert write["request"]["namespace"] == {"id": "root"}  # type: ignore[index]
    read = found[3]
    assert read["response"]["data"]["data"] == {"password": hashes[password]}  # type: ignore[index]
    token_create = next(
        e
        for e in entries(log)
        if e["type"] == "response" and e["request"]["path"] == "auth/token/create"  # type: ignore[index]
    )
    assert token_create["response"]["auth"]["client_token"] == hashes[new_token]  # type: ignore[index]
    assert token_create["response"]["auth"]["accessor"] == hashes[accessor]  # type: ignore[index]


def test_sys_audit_listing_hash_and_errors(dev: RunningServer, tmp_path: Path) -> None:
    with dev.client() as client:
        enable(client, "listed", {"file_path": str(tmp_path / "a.log"), "hmac_accessor": "false"})
        try:
            listing = client.get("/v1/sys/audit").json()
            assert listing["data"]["listed/"] == {
                "type": "file", "description": "", "local": False, "path": "listed/",
                "options": {"file_path": str(tmp_path / "a.log"), "hmac_accessor": "false"},
            }  # fmt: skip
            bad = client.put(
                "/v1/sys/audit/listed/sub", json={"type": "file", "options": {"file_path": "/tmp/x"}}
            )
            assert (bad.status_code, bad.json()) == (400, {"errors": ["path already in use"]})
            empty = client.put("/v1/sys/audit-hash/listed", json={"input": ""})
            assert empty.status_code == 400
            assert empty.json() == {"errors": ['the "input" parameter is empty']}
            unknown = client.put("/v1/sys/audit-hash/nope", json={"input": "x"})
            assert (unknown.status_code, unknown.json()) == (
                400,
                {"errors": ['unknown audit backend "nope/"']},
            )
        finally:
            client.delete("/v1/sys/audit/listed")
        assert client.get("/v1/sys/audit").json()["data"] == {}


def _mount_tmpfs(target: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    argv = ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(target)]
    done = subprocess.run(argv, check=False, capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.decode().strip()}")


def _fill(disk: Path) -> int:
    """Write to the tmpfs until it refuses; the errno it refused with."""
    with (disk / "filler").open("ab", buffering=0) as filler:
        try:
            while True:
                filler.write(b"\0" * 4096)
        except OSError as exc:
            return exc.errno or 0


def _put_until_refused(client: httpx.Client, prefix: str) -> tuple[str, httpx.Response]:
    """The audit file's last page may still take a few entries: write new paths until one is refused."""
    for n in range(50):
        answer = client.put(f"/v1/secret/data/{prefix}{n}", json={"data": {"v": "1"}})
        if answer.status_code != 200:
            return f"{prefix}{n}", answer
    raise AssertionError("no request was refused on a full disk")


def test_fails_closed_on_a_full_disk_and_stores_nothing(dev: RunningServer, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    _mount_tmpfs(disk)
    try:
        with dev.client() as client:
            enable(client, "full", {"file_path": str(disk / "audit.log")})
            assert _fill(disk) == errno.ENOSPC
            path, refused = _put_until_refused(client, "fail-closed")
            assert (refused.status_code, refused.json()) == (500, {"errors": ["internal error"]})
            assert client.get("/v1/sys/audit").status_code == 500
            (disk / "filler").unlink()
            assert client.get(f"/v1/secret/data/{path}").status_code == 404
            enable(client, "working", {"file_path": str(tmp_path / "working.log")})
            assert _fill(disk) == errno.ENOSPC
            for n in range(5):
                accepted = client.put(f"/v1/secret/data/with-second{n}", json={"data": {"v": "2"}})
                assert accepted.status_code == 200
            assert client.get("/v1/secret/data/with-second4").json()["data"]["data"] == {"v": "2"}
            devices = client.get("/v1/sys/audit-status").json()["data"]["devices"]
            assert devices["full/"]["healthy"] is False
            assert devices["full/"]["consecutive_failures"] >= 5
            assert devices["full/"]["last_failure"]
            assert devices["working/"]["healthy"] is True
            assert devices["working/"]["failures"] == 0
            (disk / "filler").unlink()
            assert client.put("/v1/secret/data/recovered", json={"data": {"v": "3"}}).status_code == 200
            assert client.get("/v1/sys/audit-status").json()["data"]["devices"]["full/"]["healthy"] is True
            assert client.delete("/v1/sys/audit/full").status_code == 204
            assert client.delete("/v1/sys/audit/working").status_code == 204
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_socket_peer_that_never_reads_does_not_block_requests(dev: RunningServer, tmp_path: Path) -> None:
    import socket

    peer = socket.socket()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    peer.bind(("127.0.0.1", 0))
    peer.listen(1)
    address = f"127.0.0.1:{peer.getsockname()[1]}"
    try:
        with dev.client() as client:
            enable(
                client, "sock", {"address": address, "write_timeout": "1s", "log_raw": "true"}, kind="socket"
            )
            enable(client, "beside", {"file_path": str(tmp_path / "beside.log")})
            try:
                blob = "x" * 4_000_000
                for n in range(3):
                    started = time.monotonic()
                    answer = client.put(f"/v1/secret/data/big{n}", json={"data": {"blob": blob}})
                    assert answer.status_code == 200
                    assert time.monotonic() - started < 10  # without the timeout: blocked for good
            finally:
                client.delete("/v1/sys/audit/sock")
                client.delete("/v1/sys/audit/beside")
    finally:
        peer.close()


def test_sighup_reopens_the_file_after_rotation(dev: RunningServer, tmp_path: Path) -> None:
    log = tmp_path / "rotate.log"
    with dev.client() as client:
        enable(client, "rotate", {"file_path": str(log)})
        try:
            client.get("/v1/sys/audit")
            log.rename(tmp_path / "rotate.log.1")
            client.get("/v1/sys/mounts")
            os.kill(dev.process.pid, signal.SIGHUP)
            deadline = time.monotonic() + 5
            while not log.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            client.get("/v1/sys/policies/acl?list=true")
        finally:
            client.delete("/v1/sys/audit/rotate")
    old = [e["request"]["path"] for e in entries(tmp_path / "rotate.log.1")]  # type: ignore[index]
    new = [e["request"]["path"] for e in entries(log)]  # type: ignore[index]
    assert "sys/mounts" in old
    assert "sys/policies/acl" not in old
    assert "sys/policies/acl/" in new or "sys/policies/acl" in new
    assert os.stat(log).st_mode & 0o777 == 0o600


def test_logins_leave_no_plaintext_password_or_token(dev: RunningServer, tmp_path: Path) -> None:
    log = tmp_path / "login-audit.log"
    password = "login-pass-" + os.urandom(6).hex()
    with dev.client() as client:
        client.post("/v1/sys/auth/audited-up", json={"type": "userpass"}).raise_for_status()
        client.post("/v1/auth/audited-up/users/carol", json={"password": password}).raise_for_status()
        client.post("/v1/sys/auth/audited-ar", json={"type": "approle"}).raise_for_status()
        client.post("/v1/auth/audited-ar/role/r", json={"token_policies": "default"}).raise_for_status()
        role_id = client.get("/v1/auth/audited-ar/role/r/role-id").json()["data"]["role_id"]
        secret_id = client.post("/v1/auth/audited-ar/role/r/secret-id").json()["data"]["secret_id"]
        enable(client, "logins", {"file_path": str(log)})
        try:
            up = httpx.post(f"{dev.address}/v1/auth/audited-up/login/carol", json={"password": password})
            ar = httpx.post(
                f"{dev.address}/v1/auth/audited-ar/login", json={"role_id": role_id, "secret_id": secret_id}
            )
            tokens = [up.json()["auth"]["client_token"], ar.json()["auth"]["client_token"]]
            hashes = {
                value: client.put("/v1/sys/audit-hash/logins", json={"input": value}).json()["data"]["hash"]
                for value in (password, secret_id, *tokens)
            }
        finally:
            assert client.delete("/v1/sys/audit/logins").status_code == 204
            client.delete("/v1/sys/auth/audited-up")
            client.delete("/v1/sys/auth/audited-ar")
    text = log.read_text()
    for value, hashed in hashes.items():
        assert value not in text
        assert hashed in text
    login = next(
        e
        for e in entries(log)
        if e["type"] == "response" and e["request"]["path"] == "auth/audited-up/login/carol"  # type: ignore[index]
    )
    assert login["response"]["auth"]["client_token"] == hashes[tokens[0]]  # type: ignore[index]
    assert login["request"]["data"] == {"password": hashes[password]}  # type: ignore[index]


def _identity_auth(server: RunningServer, log: Path) -> dict[str, object]:
    """The `auth` of the audit entry for a KV read by a user whose entity holds a policy."""
    with server.client("root") as root:
        enable(root, "id-file", {"file_path": str(log)})
        root.post("/v1/sys/auth/id-up", json={"type": "userpass"}).raise_for_status()
        root.post("/v1/auth/id-up/users/u", json={"password": "pw"}).raise_for_status()
        root.put("/v1/sys/policies/acl/id-p1", json={"policy": 'path "secret/*" {capabilities=["read"]}'})
        with httpx.Client(base_url=server.address) as anonymous:
            auth = anonymous.post("/v1/auth/id-up/login/u", json={"password": "pw"}).json()["auth"]
        entity = auth["entity_id"]
        root.post(f"/v1/identity/entity/id/{entity}", json={"policies": ["id-p1"]}).raise_for_status()
        with server.client(auth["client_token"]) as user:
            user.get("/v1/secret/data/id-audit")
        root.delete(f"/v1/identity/entity/id/{entity}").raise_for_status()
        root.delete("/v1/sys/auth/id-up").raise_for_status()
        root.delete("/v1/sys/audit/id-file").raise_for_status()
    [read] = [
        e for e in entries(log) if e["type"] == "request" and e["request"]["path"] == "secret/data/id-audit"
    ]  # type: ignore[index]
    found = dict(read["auth"])  # type: ignore[arg-type]
    return {k: found.get(k) for k in ("policies", "token_policies", "identity_policies")}


def test_request_entries_list_identity_policies_as_openbao(dev: RunningServer, tmp_path: Path) -> None:
    (tmp_path / "bao").mkdir()
    with bao_dev_server(tmp_path / "bao", config=API_AUDIT) as bao:
        theirs = _identity_auth(bao, tmp_path / "bao.log")
    ours = _identity_auth(dev, tmp_path / "ours.log")
    assert (
        ours
        == theirs
        == {
            "policies": ["default", "id-p1"],
            "token_policies": ["default"],
            "identity_policies": ["id-p1"],
        }
    )
