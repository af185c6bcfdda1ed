"""Which KV requests publish which events: one declarative table per KV version, after Vault's kv plugin.

Layer: events. Imports logical (Operation) and the standard library.

Invariant: metadata holds only paths, the operation name, "modified" and version numbers; the request's
data and the response's values are never copied into an event.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from strongroom.logical import Operation

_WRITES = frozenset({Operation.CREATE, Operation.UPDATE})


@dataclass(frozen=True, slots=True)
class Rule:
    """A request family that publishes an event: `family` is the first path segment ("" for KV v1's
    whole path), `name` the event's name within the plugin ("data-write")."""

    family: str
    operations: frozenset[Operation]
    name: str
    # Whether the event's metadata names data_path (Vault's table lists it for some types only).
    shows_data_path: bool
    # Whether the response's "version" becomes current_version (writes of a new version).
    shows_version: bool = False


KV_V2: tuple[Rule, ...] = (
    Rule("data", _WRITES, "data-write", shows_data_path=True, shows_version=True),
    Rule("data", frozenset({Operation.PATCH}), "data-patch", shows_data_path=True, shows_version=True),
    Rule("data", frozenset({Operation.DELETE}), "data-delete", shows_data_path=False),
    Rule("delete", _WRITES, "delete", shows_data_path=False),
    Rule("undelete", _WRITES, "undelete", shows_data_path=True),
    Rule("destroy", _WRITES, "destroy", shows_data_path=False),
    Rule("metadata", _WRITES, "metadata-write", shows_data_path=True),
    Rule("metadata", frozenset({Operation.PATCH}), "metadata-patch", shows_data_path=True),
    Rule("metadata", frozenset({Operation.DELETE}), "metadata-delete", shows_data_path=False),
    Rule("config", _WRITES, "config-write", shows_data_path=True),
)

KV_V1: tuple[Rule, ...] = (
    Rule("", _WRITES, "write", shows_data_path=True),
    Rule("", frozenset({Operation.DELETE}), "delete", shows_data_path=False),
)

_FAMILY = re.compile(r"^(data|delete|undelete|destroy|metadata)/(.+)$")


@dataclass(frozen=True, slots=True)
class Described:
    """An event a KV request publishes: its type, its metadata, and the API path whose read capability
    decides who may receive it."""

    event_type: str
    metadata: Mapping[str, str]
    read_path: str


def describe(
    mount_path: str,
    options: Mapping[str, str] | None,
    path: str,
    operation: Operation,
    response_data: Mapping[str, Any] | None,
) -> Described | None:
    """The event a successful KV request publishes, or None for one that changes nothing (reads, lists,
    and paths no rule names). `path` is mount-relative; `mount_path` ends in "/"."""
    version = str((options or {}).get("version", "1") or "1")
    if version == "2":
        return _describe_v2(mount_path, path, operation, response_data)
    return _describe_v1(mount_path, path, operation)


def _describe_v2(
    mount_path: str, path: str, operation: Operation, response_data: Mapping[str, Any] | None
) -> Described | None:
    if path == "config":
        family, key = "config", ""
    else:
        found = _FAMILY.match(path)
        if found is None:
            return None
        family, key = found.group(1), found.group(2)
    rule = _rule(KV_V2, family, operation)
    if rule is None:
        return None
    full = mount_path + path
    data_path = mount_path + ("config" if family == "config" else f"data/{key}")
    metadata = {"modified": "true", "operation": rule.name, "path": full}
    if rule.shows_data_path:
        metadata["data_path"] = data_path
    version = (response_data or {}).get("version")
    if rule.shows_version and isinstance(version, int) and not isinstance(version, bool):
        metadata["current_version"] = str(version)
    return Described(event_type=f"kv-v2/{rule.name}", metadata=metadata, read_path=data_path)


def _describe_v1(mount_path: str, path: str, operation: Operation) -> Described | None:
    rule = _rule(KV_V1, "", operation)
    if rule is None or not path:
        return None
    full = mount_path + path
    metadata = {"modified": "true", "operation": rule.name, "path": full}
    if rule.shows_data_path:
        metadata["data_path"] = full
    return Described(event_type=f"kv-v1/{rule.name}", metadata=metadata, read_path=full)


def _rule(rules: tuple[Rule, ...], family: str, operation: Operation) -> Rule | None:
    return next((r for r in rules if r.family == family and operation in r.operations), None)
