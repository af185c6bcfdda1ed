"""Which KV requests publish which events, with which metadata (never values)."""

from __future__ import annotations

import pytest

from strongroom.events import SOURCES
from strongroom.events.kv import Described, describe
from strongroom.logical import Operation

V2 = {"version": "2"}


@pytest.mark.parametrize(
    ("path", "operation", "event_type", "metadata"),
    [
        ("data/app/db", Operation.UPDATE, "kv-v2/data-write",
         {"data_path": "secret/data/app/db", "path": "secret/data/app/db", "current_version": "4"}),
        ("data/app/db", Operation.CREATE, "kv-v2/data-write",
         {"data_path": "secret/data/app/db", "path": "secret/data/app/db", "current_version": "4"}),
        ("data/app/db", Operation.PATCH, "kv-v2/data-patch",
         {"data_path": "secret/data/app/db", "path": "secret/data/app/db", "current_version": "4"}),
        ("data/app/db", Operation.DELETE, "kv-v2/data-delete", {"path": "secret/data/app/db"}),
        ("delete/app/db", Operation.UPDATE, "kv-v2/delete", {"path": "secret/delete/app/db"}),
        ("undelete/app/db", Operation.UPDATE, "kv-v2/undelete",
         {"data_path": "secret/data/app/db", "path": "secret/undelete/app/db"}),
        ("destroy/app/db", Operation.UPDATE, "kv-v2/destroy", {"path": "secret/destroy/app/db"}),
        ("metadata/app/db", Operation.UPDATE, "kv-v2/metadata-write",
         {"data_path": "secret/data/app/db", "path": "secret/metadata/app/db"}),
        ("metadata/app/db", Operation.PATCH, "kv-v2/metadata-patch",
         {"data_path": "secret/data/app/db", "path": "secret/metadata/app/db"}),
        ("metadata/app/db", Operation.DELETE, "kv-v2/metadata-delete", {"path": "secret/metadata/app/db"}),
        ("config", Operation.UPDATE, "kv-v2/config-write",
         {"data_path": "secret/config", "path": "secret/config"}),
    ],
)  # fmt: skip
def test_kv_v2_events(path: str, operation: Operation, event_type: str, metadata: dict[str, str]) -> None:
    described = describe("secret/", V2, path, operation, {"version": 4, "created_time": "x"})
    assert described is not None
    name = event_type.split("/", 1)[1]
    assert described.event_type == event_type
    assert dict(described.metadata) == {"modified": "true", "operation": name, **metadata}


def test_kv_v2_event_is_read_checked_on_the_data_path() -> None:
    assert describe("kv/", V2, "destroy/a", Operation.UPDATE, None) == Described(
        "kv-v2/destroy", {"modified": "true", "operation": "destroy", "path": "kv/destroy/a"}, "kv/data/a"
    )


@pytest.mark.parametrize(
    ("path", "operation"),
    [
        ("data/a", Operation.READ),
        ("metadata/", Operation.LIST),
        ("subkeys/a", Operation.READ),
        ("versions/a", Operation.UPDATE),
        ("data", Operation.UPDATE),
        ("config", Operation.READ),
    ],
)
def test_reads_and_unknown_paths_publish_nothing(path: str, operation: Operation) -> None:
    assert describe("secret/", V2, path, operation, None) is None


def test_response_values_never_reach_the_metadata() -> None:
    described = describe("secret/", V2, "data/a", Operation.UPDATE, {"version": 1, "password": "hunter2"})
    assert described is not None
    assert "hunter2" not in repr(described)


@pytest.mark.parametrize("options", [None, {}, {"version": "1"}])
def test_kv_v1_events(options: dict[str, str] | None) -> None:
    assert describe("kv/", options, "app/db", Operation.CREATE, {"value": "s3cr3t"}) == Described(
        "kv-v1/write",
        {"modified": "true", "operation": "write", "path": "kv/app/db", "data_path": "kv/app/db"},
        "kv/app/db",
    )
    assert describe("kv/", options, "app/db", Operation.DELETE, None) == Described(
        "kv-v1/delete", {"modified": "true", "operation": "delete", "path": "kv/app/db"}, "kv/app/db"
    )
    assert describe("kv/", options, "app/db", Operation.READ, None) is None


def test_only_kv_publishes() -> None:
    assert set(SOURCES) == {"kv"}
