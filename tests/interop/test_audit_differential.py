"""The same requests against strongroom and OpenBao, each with a file audit device: the entries' key sets
and which fields are HMAC'd must match, apart from the differences listed below.

Both get the device from their dev config (`audit "file" "file" {...}`): neither enables audit devices
through the API unless told to.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.servers import RunningServer, bao_dev_server, strongroom_dev_server

# Fields OpenBao writes that strongroom does not: its plugin versions, the client ID (entity activity),
# and the ACL's granting policies.
BAO_ONLY = {"client_id", "mount_running_version", "mount_running_plugin_version", "policy_results"}


def declared(log: Path) -> str:
    """A dev-server config declaring one file audit device writing to `log`."""
    return f'audit "file" "file" {{\n  options {{\n    file_path = "{log}"\n  }}\n}}\n'


@pytest.fixture(scope="module")
def bao_audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    workdir = tmp_path_factory.mktemp("bao-audit")
    log = workdir / "audit.log"
    with bao_dev_server(workdir, config=declared(log)) as server:
        yield server, log


@pytest.fixture(scope="module")
def strongroom_audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    workdir = tmp_path_factory.mktemp("sr-audit")
    log = workdir / "audit.log"
    with strongroom_dev_server(workdir, config=declared(log)) as server:
        yield server, log


def shape(value: Any) -> Any:
    """Keys kept, leaves replaced by what they are: "hmac" for a hashed string, else the JSON type."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items() if k not in BAO_ONLY}
    if isinstance(value, list):
        return [shape(v) for v in value]
    if isinstance(value, str):
        return "hmac" if value.startswith("hmac-sha256:") else "str"
    return type(value).__name__


REQUESTS = [
    ("PUT", "secret/data/diff", {"data": {"password": "hunter2", "n": 5, "b": True, "l": ["x", 1]}}),
    ("GET", "secret/data/diff", None),
    ("PUT", "auth/token/create", {"policies": ["default"], "meta": {"team": "a"}, "ttl": "1h"}),
]


def run(server: RunningServer, log: Path, token: str = "") -> dict[tuple[str, str, str], Any]:
    with server.client(token or None) as client:
        for method, path, body in REQUESTS:
            assert client.request(method, f"/v1/{path}", json=body).status_code == 200
        assert client.get("/v1/secret/data/diff", headers={"X-Vault-Token": "bad"}).status_code == 403
    found: dict[tuple[str, str, str], Any] = {}
    for line in log.read_bytes().splitlines():
        entry = orjson.loads(line)
        request = entry["request"]
        found[(entry["type"], request["operation"], request["path"] + ("!" if "error" in entry else ""))] = (
            entry
        )
    return found


def test_entries_match_openbao(
    bao_audited: tuple[RunningServer, Path], strongroom_audited: tuple[RunningServer, Path]
) -> None:
    theirs = run(*bao_audited)
    ours = run(*strongroom_audited)
    for key in [
        ("request", "create", "secret/data/diff"),
        ("response", "create", "secret/data/diff"),
        ("request", "read", "secret/data/diff"),
        ("response", "read", "secret/data/diff"),
        ("request", "update", "auth/token/create"),
        ("response", "update", "auth/token/create"),
        ("request", "read", "secret/data/diff!"),
        ("response", "read", "secret/data/diff!"),
    ]:
        expected, actual = shape(theirs[key]), shape(ours[key])
        # OpenBao leaves the mount accessor out until its router has run (so out of request entries and
        # refused requests); strongroom always names the mount it resolved.
        for side in (expected, actual):
            side["request"].pop("mount_accessor", None)
            side.get("response", {}).pop("mount_accessor", None)
        # Known deviations: OpenBao keeps KV's time.Time values readable; strongroom's are strings, hashed.
        for side in (expected, actual):
            for part in ("data",):
                data = side.get("response", {}).get(part, {})
                for nested in (data, data.get("metadata", {}) if isinstance(data, dict) else {}):
                    if isinstance(nested, dict) and "created_time" in nested:
                        nested["created_time"] = "time"
            # Error texts differ in wrapping ("1 error occurred" in OpenBao's response entries).
            if "error" in side:
                side["error"] = "str"
        assert actual == expected, key
