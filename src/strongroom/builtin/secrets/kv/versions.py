"""KV v2's rules as pure functions: versioning, pruning, check-and-set, deletion times, views, patches.

Layer: builtin domain logic. Imports the kv models and util only (never the framework), so every rule here is
testable without a request. Error strings are OpenBao's, word for word.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from strongroom.builtin.secrets.kv.models import KeyMetadata, KVConfig, VersionMeta
from strongroom.util.clock import rfc3339
from strongroom.util.durations import format_duration
from strongroom.util.frozen import replace

DEFAULT_MAX_VERSIONS = 10

MAX_CUSTOM_METADATA_KEYS = 64
MAX_CUSTOM_METADATA_KEY_LENGTH = 128
MAX_CUSTOM_METADATA_VALUE_LENGTH = 512
CUSTOM_METADATA_ERROR_PREFIX = "custom_metadata validation failed"


class KVRuleError(ValueError):
    """A request breaks a KV rule; the message is OpenBao's client-facing text."""


def timestamp(value: float | None) -> str:
    """OpenBao's rendering of an optional time: "" when unset."""
    return "" if value is None else rfc3339(value)


def new_metadata(now: float) -> KeyMetadata:
    """The metadata of a key that has none yet."""
    return KeyMetadata(created_time=now, updated_time=now)


def deletion_time(created: float, config: KVConfig, meta: KeyMetadata) -> float | None:
    """When a version written at `created` reads as deleted: the shorter positive delete_version_after."""
    if config.delete_version_after < 0:
        return None
    candidates = [d for d in (config.delete_version_after, meta.delete_version_after) if d > 0]
    return created + min(candidates) if candidates else None


def add_version(
    meta: KeyMetadata, created: float, deletes_at: float | None, config: KVConfig
) -> tuple[KeyMetadata, list[int]]:
    """`meta` with a new current version, and the version numbers pruned by max_versions (oldest first).

    The key's own max_versions wins when set, else the mount's, else 10; exactly OpenBao's arithmetic,
    including its oldest_version bookkeeping.
    """
    current = meta.current_version + 1
    versions = dict(meta.versions)
    versions[current] = VersionMeta(created_time=created, deletion_time=deletes_at)
    limit = meta.max_versions or config.max_versions or DEFAULT_MAX_VERSIONS
    oldest = meta.oldest_version
    pruned: list[int] = []
    if current - oldest >= limit:
        last_to_delete = current - limit
        pruned = [n for n in range(oldest, last_to_delete + 1) if n in versions]
        for number in pruned:
            del versions[number]
        oldest = last_to_delete + 1
    updated = replace(
        meta, versions=versions, current_version=current, oldest_version=oldest, updated_time=created
    )
    return updated, pruned


def check_cas(supplied: bool, options: Mapping[str, Any], config: KVConfig, meta: KeyMetadata) -> None:
    """Enforce options.cas against the current version, and cas_required of the mount or the key."""
    if supplied and "cas" in options:
        cas = _weak_int(options["cas"])
        if cas is None:
            raise KVRuleError("error parsing check-and-set parameter")
        if cas != meta.current_version:
            raise KVRuleError("check-and-set parameter did not match the current version")
    elif config.cas_required or meta.cas_required:
        raise KVRuleError("check-and-set parameter required for this call")


def check_metadata_cas(supplied: bool, cas: int, config: KVConfig, meta: KeyMetadata | None) -> None:
    """Enforce metadata_cas against the current metadata version (0 when the metadata is new)."""
    if meta is None:
        if supplied and cas != 0:
            raise KVRuleError("metadata_cas must be 0 when creating new metadata")
        return
    if supplied:
        if cas != meta.current_metadata_version:
            raise KVRuleError("metadata check-and-set parameter does not match the current version")
    elif config.metadata_cas_required or meta.metadata_cas_required:
        raise KVRuleError("metadata check-and-set parameter required for this call")


def _weak_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text == "":
            return 0
        try:
            return int(text, 0)
        except ValueError:
            return None
    return None


def version_view(meta: KeyMetadata, number: int, vm: VersionMeta) -> dict[str, Any]:
    """The per-version metadata block of data reads and writes."""
    return {
        "created_time": timestamp(vm.created_time),
        "custom_metadata": None if meta.custom_metadata is None else dict(meta.custom_metadata),
        "deletion_time": timestamp(vm.deletion_time),
        "destroyed": vm.destroyed,
        "version": number,
    }


def metadata_view(meta: KeyMetadata) -> dict[str, Any]:
    """The body of `metadata/<path>` reads."""
    return {
        "cas_required": meta.cas_required,
        "created_time": timestamp(meta.created_time),
        "current_metadata_version": meta.current_metadata_version,
        "current_version": meta.current_version,
        "custom_metadata": None if meta.custom_metadata is None else dict(meta.custom_metadata),
        "delete_version_after": format_duration(meta.delete_version_after),
        "max_versions": meta.max_versions,
        "metadata_cas_required": meta.metadata_cas_required,
        "oldest_version": meta.oldest_version,
        "updated_time": timestamp(meta.updated_time),
        "versions": {
            str(n): {
                "created_time": timestamp(v.created_time),
                "deletion_time": timestamp(v.deletion_time),
                "destroyed": v.destroyed,
            }
            for n, v in sorted(meta.versions.items())
        },
    }


def config_view(config: KVConfig) -> dict[str, Any]:
    """The body of `config` reads."""
    return {
        "cas_required": config.cas_required,
        "delete_version_after": format_duration(config.delete_version_after),
        "max_versions": config.max_versions,
        "metadata_cas_required": config.metadata_cas_required,
    }


def soft_delete(meta: KeyMetadata, numbers: Iterable[int], now: float) -> KeyMetadata:
    """Mark versions deleted now; missing, destroyed or already deleted versions are left alone."""
    versions = dict(meta.versions)
    for number in numbers:
        vm = versions.get(number)
        if vm is None or vm.destroyed or vm.is_deleted(now):
            continue
        versions[number] = replace(vm, deletion_time=now)
    return replace(meta, versions=versions)


def undelete(meta: KeyMetadata, numbers: Iterable[int], now: float, config: KVConfig) -> KeyMetadata:
    """Restore versions that are not destroyed; a delete_version_after in force starts again from `now`."""
    versions = dict(meta.versions)
    restarts_at = deletion_time(now, config, meta)
    for number in numbers:
        vm = versions.get(number)
        if vm is not None and not vm.destroyed:
            versions[number] = replace(vm, deletion_time=restarts_at)
    return replace(meta, versions=versions)


def destroy(meta: KeyMetadata, numbers: Iterable[int]) -> tuple[KeyMetadata, list[int]]:
    """Mark versions destroyed; returns the numbers whose data must be removed from storage."""
    versions = dict(meta.versions)
    destroyed: list[int] = []
    for number in numbers:
        vm = versions.get(number)
        if vm is None:
            continue
        versions[number] = replace(vm, destroyed=True)
        destroyed.append(number)
    return replace(meta, versions=versions), destroyed


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge recursively, null removes a key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def subkeys(data: Mapping[str, Any], depth: int) -> dict[str, Any]:
    """The key structure of `data`: leaves become None; depth 0 is unlimited, 1 is the top level only."""

    def walk(node: Mapping[str, Any], level: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in node.items():
            if isinstance(value, Mapping) and value and (depth == 0 or level < depth):
                result[key] = walk(value, level + 1)
            else:
                result[key] = None
        return result

    return walk(data, 1)


def parse_custom_metadata(raw: Mapping[str, Any], *, drop_nulls: bool) -> dict[str, str]:
    """custom_metadata as strings (weakly converted, like OpenBao); nulls dropped for PATCH."""
    parsed: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            if drop_nulls:
                continue
            parsed[key] = ""
        elif isinstance(value, bool):
            parsed[key] = "1" if value else "0"
        elif isinstance(value, int | float | str):
            parsed[key] = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        else:
            kind = "map[string]interface {}" if isinstance(value, Mapping) else "[]interface {}"
            raise KVRuleError(
                f"{CUSTOM_METADATA_ERROR_PREFIX}: '' expected type 'string', got unconvertible type '{kind}'"
            )
    return parsed


def validate_custom_metadata(custom: Mapping[str, str]) -> None:
    """OpenBao's limits on custom_metadata, every violation reported at once in go-multierror's format."""
    prefix = CUSTOM_METADATA_ERROR_PREFIX
    if len(custom) > MAX_CUSTOM_METADATA_KEYS:
        limit = MAX_CUSTOM_METADATA_KEYS
        _raise_all([f"{prefix}: payload must contain at most {limit} keys, provided {len(custom)}"])
    errors: list[str] = []
    for key, value in sorted(custom.items()):
        if not 0 < len(key) <= MAX_CUSTOM_METADATA_KEY_LENGTH:
            errors.append(
                f"{prefix}: length of key {_go_quote(key)} is {len(key)} "
                f"but must be 0 < len(key) <= {MAX_CUSTOM_METADATA_KEY_LENGTH}"
            )
        if not 0 < len(value) <= MAX_CUSTOM_METADATA_VALUE_LENGTH:
            errors.append(
                f"{prefix}: length of value for key {_go_quote(key)} is {len(value)} "
                f"but must be 0 < len(value) <= {MAX_CUSTOM_METADATA_VALUE_LENGTH}"
            )
        if not key.isprintable():
            errors.append(f"{prefix}: key {_go_quote(key)} ({key}) contains unprintable characters")
        if not value.isprintable():
            errors.append(f"{prefix}: value for key {_go_quote(key)} contains unprintable characters")
    if errors:
        _raise_all(errors)


def _raise_all(errors: list[str]) -> None:
    count = "1 error occurred" if len(errors) == 1 else f"{len(errors)} errors occurred"
    raise KVRuleError(f"{count}:\n" + "".join(f"\t* {e}\n" for e in errors) + "\n")


def _go_quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
