"""Vault's audit entry format: which fields exist, which are hashed, and the device options."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest

from strongroom.audit import AuditAuth, AuditInput, FormatOptions
from strongroom.audit.entry import request_line, response_line
from strongroom.audit.hashing import hash_structure
from strongroom.crypto.hmac import identified_hmac
from strongroom.errors import InvalidRequestError
from strongroom.logical import Auth, LeaseOptions, Operation, Request, Response
from strongroom.logical.request import Connection

SALT = b"salt"


def h(value: str) -> str:
    return identified_hmac(SALT, value)


def parsed(line: bytes) -> Any:
    """A line's entry, after checking it is one line of orjson's own encoding of that entry (the line is
    spliced from encoded members: it must be what encoding the entry whole gives)."""
    assert line.endswith(b"}\n")
    assert line.count(b"\n") == 1
    entry = orjson.loads(line)
    assert orjson.dumps(entry) + b"\n" == line
    return entry


def request_entry(audit: AuditInput, options: FormatOptions, hasher: Any, now: float) -> Any:
    return parsed(request_line(audit, options, hasher, now))


def response_entry(audit: AuditInput, options: FormatOptions, hasher: Any, now: float) -> Any:
    return parsed(response_line(audit, options, hasher, now))


def test_strings_are_hashed_everything_else_kept() -> None:
    data = {"password": "hunter2", "n": 5, "f": 1.5, "b": True, "nul": None, "l": ["x", 1], "m": {"k": "v"}}
    assert hash_structure(data, h) == {
        "password": h("hunter2"), "n": 5, "f": 1.5, "b": True, "nul": None, "l": [h("x"), 1],
        "m": {"k": h("v")},
    }  # fmt: skip


def test_exempt_keys_apply_at_any_depth_and_to_lists_under_them() -> None:
    data = {"data": {"user": "alice", "password": "pw"}, "user": ["a", "b"]}
    assert hash_structure(data, h, ("user",)) == {
        "data": {"user": "alice", "password": h("pw")},
        "user": ["a", "b"],
    }
    nested = {"user": ("a", ["b", {"k": "c", "user": "d"}], None), "keys": ["e", 1]}
    assert hash_structure(nested, h, ("user",)) == {
        "user": ["a", ["b", {"k": h("c"), "user": "d"}], None],
        "keys": [h("e"), 1],
    }


AUDIT = AuditInput(
    request=Request(
        operation=Operation.CREATE,
        path="secret/data/foo",
        data={"data": {"password": "hunter2"}},
        id="req-1",
        client_token="s.token",
        connection=Connection("127.0.0.1", 5000),
    ),
    mount_point="secret/",
    mount_type="kv",
    mount_accessor="kv_1234",
    auth=AuditAuth(
        accessor="acc",
        display_name="token",
        policies=("root",),
        token_policies=("root",),
        token_type="service",
        token_issue_time="2024-01-01T00:00:00Z",
    ),
    response=Response(data={"version": 1, "deletion_time": ""}),
)


def test_request_entry_has_vaults_shape_and_hashes() -> None:
    entry = request_entry(AUDIT, FormatOptions(), h, 1_700_000_000.5)
    assert entry == {
        "time": "2023-11-14T22:13:20.5Z",
        "type": "request",
        "auth": {
            "client_token": h("s.token"), "accessor": h("acc"), "display_name": "token", "policies": ["root"],
            "token_policies": ["root"], "token_type": "service", "token_issue_time": "2024-01-01T00:00:00Z",
        },
        "request": {
            "id": "req-1", "operation": "create", "mount_point": "secret/", "mount_type": "kv",
            "mount_accessor": "kv_1234", "mount_class": "secret", "client_token": h("s.token"),
            "client_token_accessor": h("acc"), "namespace": {"id": "root"}, "path": "secret/data/foo",
            "data": {"data": {"password": h("hunter2")}}, "remote_address": "127.0.0.1", "remote_port": 5000,
        },
    }  # fmt: skip


def test_response_entry_hashes_data_and_issued_token_but_not_metadata() -> None:
    auth = Auth(
        client_token="s.new", accessor="acc2", policies=("default",), token_policies=("default",),
        metadata={"team": "a"}, display_name="token", lease=LeaseOptions(ttl=3600),
    )  # fmt: skip
    audit = replace(AUDIT, response=Response(auth=auth, warnings=("w",)))
    entry = response_entry(audit, FormatOptions(), h, 0)
    assert entry["type"] == "response"
    assert entry["response"] == {
        "auth": {
            "client_token": h("s.new"), "accessor": h("acc2"), "display_name": "token",
            "policies": ["default"], "token_policies": ["default"], "metadata": {"team": "a"},
            "token_type": "service", "token_ttl": 3600,
        },
        "mount_point": "secret/", "mount_type": "kv", "mount_accessor": "kv_1234", "mount_class": "secret",
        "warnings": ["w"],
    }  # fmt: skip


def test_request_member_leaves_out_empty_fields_and_keeps_the_namespace() -> None:
    bare = AuditInput(request=Request(operation=Operation.READ, path="sys/health", wrap_ttl=60))
    assert request_entry(bare, FormatOptions(), h, 0)["request"] == {
        "operation": "read", "namespace": {"id": "root"}, "path": "sys/health", "wrap_ttl": 60,
    }  # fmt: skip
    raw = AuditInput(request=AUDIT.request.evolve(data={"k": ["v", 1]}), auth=AUDIT.auth)
    assert request_entry(raw, FormatOptions(log_raw=True), h, 0)["request"]["data"] == {"k": ["v", 1]}


def test_hmac_accessor_false_and_log_raw() -> None:
    plain = request_entry(AUDIT, FormatOptions(hmac_accessor=False), h, 0)
    assert plain["auth"]["accessor"] == "acc"
    assert plain["request"]["client_token"] == h("s.token")
    assert plain["request"]["client_token_accessor"] == "acc"
    raw = request_entry(AUDIT, FormatOptions(log_raw=True), h, 0)
    assert raw["request"]["client_token"] == "s.token"
    assert raw["request"]["client_token_accessor"] == "acc"
    assert raw["request"]["data"] == {"data": {"password": "hunter2"}}


def test_error_entry_and_elided_list() -> None:
    refused = AuditInput(request=AUDIT.request, error="permission denied")
    assert request_entry(refused, FormatOptions(), h, 0)["error"] == "permission denied"
    response = response_entry(refused, FormatOptions(), h, 0)
    assert response["response"]["data"] == {"error": h("permission denied")}
    assert response["auth"] == {"token_type": "default"}
    listing = AuditInput(
        request=AUDIT.request.evolve(operation=Operation.LIST),
        response=Response(data={"keys": ["a", "b", "c"]}),
    )
    assert response_entry(listing, FormatOptions(elide_list_responses=True), h, 0)["response"]["data"] == {
        "keys": 3
    }


def test_prefix_and_one_line() -> None:
    line = request_line(AUDIT, FormatOptions(prefix="@cee: "), h, 0)
    assert line.startswith(b'@cee: {"time":"1970-01-01T00:00:00Z","type":"request","auth":{')
    assert parsed(line.removeprefix(b"@cee: "))["request"]["id"] == "req-1"


def test_entries_keep_vaults_member_order_with_an_error() -> None:
    refused = AuditInput(request=AUDIT.request, auth=AUDIT.auth, error='denied "x"\n')
    assert list(request_entry(refused, FormatOptions(), h, 0)) == ["time", "type", "auth", "request", "error"]
    response = response_entry(refused, FormatOptions(), h, 0)
    assert list(response) == ["time", "type", "auth", "request", "response", "error"]
    assert response["error"] == 'denied "x"\n'


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "xml"}, "unknown format type 'xml': only \"json\" is supported"),
        ({"log_raw": "maybe"}, "unable to parse 'log_raw': invalid boolean value 'maybe'"),
    ],
)
def test_bad_format_options(options: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        FormatOptions.parse(options)
    assert caught.value.errors == (message,)
