"""The audit broker: devices, salts kept in storage, fail-closed fan-out, per-device timeouts, counters."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest

from strongroom.audit import (
    API_CREATION_REFUSED,
    AuditAuth,
    AuditBroker,
    AuditFailedError,
    AuditInput,
    DeviceSpec,
)
from strongroom.audit.broker import (
    AUTH_MEMO_SIZE,
    DECLARED_DISABLE_REFUSED,
    HMAC_MEMO_MAX_VALUE,
    HMAC_MEMO_SIZE,
    PARTS_MEMO_SIZE,
)
from strongroom.crypto.hmac import identified_hmac
from strongroom.errors import InvalidRequestError
from strongroom.logical import InmemStorage, Operation, Request

AUDIT = AuditInput(
    request=Request(
        operation=Operation.UPDATE, path="secret/data/x", data={"v": "s3cret"}, client_token="s.t"
    )
)


def file_spec(path: str, target: Path | str, **options: str) -> DeviceSpec:
    return DeviceSpec(path=path, type="file", options={"file_path": str(target), **options})


def lines(path: Path) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines()]


async def test_file_device_records_request_and_response_with_0600(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("file", tmp_path / "audit.log"))
    await broker.log_request(AUDIT)
    await broker.log_response(AUDIT)
    entries = lines(tmp_path / "audit.log")
    assert [e["type"] for e in entries] == ["request", "response"]
    assert b"s3cret" not in (tmp_path / "audit.log").read_bytes()
    assert entries[0]["request"]["data"] == {"v": broker.hash("file", "s3cret")}  # type: ignore[index]
    assert stat.S_IMODE(os.stat(tmp_path / "audit.log").st_mode) == 0o600
    assert broker.list() == {
        "file/": {"type": "file", "description": "", "options": {"file_path": str(tmp_path / "audit.log")},
                  "local": False, "path": "file/"},
    }  # fmt: skip
    assert broker.counters()["file/"].writes == 2


async def test_no_devices_means_nothing_to_fail() -> None:
    broker = AuditBroker(InmemStorage())
    await broker.load()
    assert not broker.active
    await broker.log_request(AUDIT)


async def test_fails_closed_when_no_device_records(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("full", "/dev/full", mode="0000"))
    with pytest.raises(AuditFailedError):
        await broker.log_request(AUDIT)
    assert broker.counters()["full/"].failures == 1
    await broker.enable(file_spec("good", tmp_path / "good.log"))
    await broker.log_request(AUDIT)
    assert len(lines(tmp_path / "good.log")) == 1
    assert broker.counters()["full/"].failures == 2


async def test_salt_survives_reload_and_dies_with_the_device(tmp_path: Path) -> None:
    storage = InmemStorage()
    broker = AuditBroker(storage, allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("file", tmp_path / "a.log"))
    first = broker.hash("file", "value")
    again = AuditBroker(storage)
    await again.load()
    assert again.hash("file/", "value") == first
    assert first.startswith("hmac-sha256:")
    assert len(first) == len("hmac-sha256:") + 64
    await again.disable("file")
    assert again.list() == {}
    with pytest.raises(InvalidRequestError, match='unknown audit backend "file/"'):
        again.hash("file", "value")
    assert [k for k in storage.data if k.endswith("/salt")] == []


async def test_remembered_hmacs_match_fresh_ones_and_stay_bounded(tmp_path: Path) -> None:
    storage = InmemStorage()
    broker = AuditBroker(storage, allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("file", tmp_path / "a.log"))
    salt = next(value for key, value in storage.data.items() if key.endswith("/salt"))
    values = ["s3cret", "s3cret", "x" * (HMAC_MEMO_MAX_VALUE + 1)] + [
        f"v{i}" for i in range(HMAC_MEMO_SIZE + 5)
    ]
    for value in [*values, *values]:
        assert broker.hash("file", value) == identified_hmac(salt, value)
    await broker.disable("file")
    await broker.enable(file_spec("file", tmp_path / "b.log"))  # a new salt: nothing remembered carries over
    assert broker.hash("file", "s3cret") != identified_hmac(salt, "s3cret")


async def test_response_entry_reuses_request_parts_only_for_the_same_request(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("file", tmp_path / "audit.log"))
    await broker.log_request(AUDIT)
    await broker.log_response(AUDIT)
    # Same request ID, another request: its response entry shows its own data, not the kept parts.
    changed = AuditInput(request=replace(AUDIT.request, data={"v": "other"}))
    await broker.log_request(AUDIT)
    await broker.log_response(changed)
    # Request entries whose responses never come stay bounded; the latest one's parts are still reused.
    for i in range(PARTS_MEMO_SIZE + 5):
        await broker.log_request(AuditInput(request=replace(AUDIT.request, id=f"r{i}")))
    entries = lines(tmp_path / "audit.log")
    assert entries[1]["request"] == entries[0]["request"]
    assert entries[3]["request"]["data"] == {"v": broker.hash("file", "other")}  # type: ignore[index]
    assert entries[3]["auth"] == entries[2]["auth"]
    assert len(broker._enabled[0]._parts) == PARTS_MEMO_SIZE


async def test_a_tokens_auth_member_is_reused_only_while_its_description_is_equal(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("file", tmp_path / "audit.log"))
    first = AuditAuth(accessor="acc", policies=("a",), token_policies=("a",), token_type="service")
    renamed = replace(first, policies=("a", "b"), identity_policies=("b",))
    for auth in (first, replace(first), renamed, first):
        await broker.log_request(replace(AUDIT, auth=auth))
    other = AuditInput(request=replace(AUDIT.request, client_token="s.other"), auth=first)
    await broker.log_request(other)
    for i in range(AUTH_MEMO_SIZE + 5):
        await broker.log_request(AuditInput(request=replace(AUDIT.request, client_token=f"s.{i}")))
    entries = lines(tmp_path / "audit.log")
    auths = [e["auth"] for e in entries[:5]]
    assert auths[0] == auths[1] == auths[3] != auths[2]
    assert auths[2]["policies"] == ["a", "b"]  # type: ignore[index]
    assert auths[4]["client_token"] == broker.hash("file", "s.other")  # type: ignore[index]
    assert auths[0]["client_token"] == broker.hash("file", "s.t")  # type: ignore[index]
    assert len(broker._enabled[0]._auths) == AUTH_MEMO_SIZE


async def test_a_lone_device_that_times_out_fails_the_request(tmp_path: Path) -> None:
    peer = socket.socket()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    peer.bind(("127.0.0.1", 0))
    peer.listen(1)  # never accepted, never read: the kernel buffers fill and then the sender blocks
    try:
        broker = AuditBroker(InmemStorage(), allow_api_creation=True)
        await broker.load()
        options = {"address": f"127.0.0.1:{peer.getsockname()[1]}", "write_timeout": "1s", "log_raw": "true"}
        await broker.enable(DeviceSpec(path="sock", type="socket", options=options))
        big = AuditInput(request=AUDIT.request.evolve(data={"blob": "x" * 8_000_000}))
        refusals = 0
        for _ in range(3):  # the first line may still fit the kernel buffers
            try:
                await broker.log_request(big)
            except AuditFailedError:
                refusals += 1
        assert refusals >= 1
        assert broker.counters()["sock/"].last_failure == "write timed out"
        broker.close()
    finally:
        peer.close()


async def test_api_creation_refused_unless_allowed(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage())
    await broker.load()
    with pytest.raises(InvalidRequestError) as caught:
        await broker.enable(file_spec("file", tmp_path / "a.log"))
    assert caught.value.errors == (API_CREATION_REFUSED,)


async def test_declared_devices_are_always_there_and_keep_their_salt(tmp_path: Path) -> None:
    storage = InmemStorage()
    declared = [file_spec("cfg", tmp_path / "cfg.log")]
    broker = AuditBroker(storage, declared=declared)
    await broker.load()
    salt_hash = broker.hash("cfg", "v")
    with pytest.raises(InvalidRequestError) as caught:
        await broker.disable("cfg/")
    assert caught.value.errors == (DECLARED_DISABLE_REFUSED,)
    restarted = AuditBroker(storage, declared=declared)
    await restarted.load()
    assert restarted.hash("cfg", "v") == salt_hash
    removed = AuditBroker(storage)
    await removed.load()
    assert removed.list() == {}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (DeviceSpec(path="x", type="nope"), 'unknown backend type: "nope"'),
        (DeviceSpec(path="x", type="file"), "file_path is required"),
        (DeviceSpec(path="x", type="file", options={"file_path": "rel.log"}),
         "file_path must be an absolute path"),
        (DeviceSpec(path="x", type="socket"), "address is required"),
        (DeviceSpec(path="x", type="socket", options={"address": "h:1", "socket_type": "sctp"}),
         "unknown socket_type 'sctp': expected tcp, udp or unix"),
        (DeviceSpec(path="x", type="file", options={"file_path": "/nonexistent-dir/a.log"}),
         "sanity check failed; unable to open audit device: No such file or directory"),
        (DeviceSpec(path="/", type="file"), "backend path must be specified"),
    ],
)  # fmt: skip
async def test_bad_devices_are_refused(spec: DeviceSpec, message: str) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    with pytest.raises(InvalidRequestError) as caught:
        await broker.enable(spec)
    assert caught.value.errors == (message,)


async def test_overlapping_paths_refused(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("a/b", tmp_path / "1.log"))
    with pytest.raises(InvalidRequestError, match="path already in use"):
        await broker.enable(file_spec("a", tmp_path / "2.log"))


async def test_reopen_after_rotation_writes_a_new_file(tmp_path: Path) -> None:
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    await broker.enable(file_spec("file", tmp_path / "audit.log"))
    await broker.log_request(AUDIT)
    (tmp_path / "audit.log").rename(tmp_path / "audit.log.1")
    await broker.log_request(AUDIT)
    broker.reopen()
    await broker.log_request(AUDIT)
    assert len(lines(tmp_path / "audit.log.1")) == 2
    assert len(lines(tmp_path / "audit.log")) == 1


async def test_a_peer_that_never_reads_times_out_while_another_device_records(tmp_path: Path) -> None:
    peer = socket.socket()
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    peer.bind(("127.0.0.1", 0))
    peer.listen(1)  # never accepted, never read: the kernel buffers fill and then the sender blocks
    address = f"127.0.0.1:{peer.getsockname()[1]}"
    try:
        broker = AuditBroker(InmemStorage(), allow_api_creation=True)
        await broker.load()
        options = {"address": address, "write_timeout": "1s", "log_raw": "true"}
        await broker.enable(DeviceSpec(path="sock", type="socket", options=options))
        await broker.enable(file_spec("file", tmp_path / "a.log"))
        big = AuditInput(request=AUDIT.request.evolve(data={"blob": "x" * 8_000_000}))
        for _ in range(3):
            started = time.monotonic()
            await broker.log_request(big)
            assert time.monotonic() - started < 8  # without the 1 s timeout it would block for good
        assert broker.counters()["sock/"].failures >= 1
        assert broker.counters()["file/"].writes == 3
        broker.close()
    finally:
        peer.close()


async def test_socket_device_delivers_lines(tmp_path: Path) -> None:
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.readline())
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        broker = AuditBroker(InmemStorage(), allow_api_creation=True)
        await broker.load()
        await broker.enable(DeviceSpec(path="s", type="socket", options={"address": f"127.0.0.1:{port}"}))
        await broker.log_request(AUDIT)
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.01)
        broker.close()
    assert orjson.loads(received[0])["type"] == "request"


async def test_syslog_device_refused_without_a_syslog_socket() -> None:
    if Path("/dev/log").exists():
        pytest.skip("this host has a syslog socket at /dev/log")
    broker = AuditBroker(InmemStorage(), allow_api_creation=True)
    await broker.load()
    with pytest.raises(InvalidRequestError, match="sanity check failed; unable to open audit device"):
        await broker.enable(DeviceSpec(path="syslog", type="syslog"))
