"""An in-memory SecretSource over dicts (test data, not a mock) and a render helper."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from strongroom.agent.template import Template


def kv2(data: Mapping[str, Any], version: int = 1) -> dict[str, Any]:
    """A KV v2 read response as Vault returns it."""
    return {
        "request_id": "req-1",
        "lease_id": "",
        "lease_duration": 0,
        "renewable": False,
        "data": {"data": dict(data), "metadata": {"version": version, "destroyed": False}},
        "warnings": None,
    }


def kv1(data: Mapping[str, Any], lease_duration: int = 2764800) -> dict[str, Any]:
    """A KV v1 read response as Vault returns it."""
    return {
        "request_id": "req-2",
        "lease_id": "",
        "lease_duration": lease_duration,
        "renewable": False,
        "data": dict(data),
    }


class MemorySource:
    """Implements the SecretSource Protocol over dicts and records writes."""

    def __init__(
        self,
        reads: Mapping[str, Mapping[str, Any]] | None = None,
        lists: Mapping[str, list[str]] | None = None,
        writes: Mapping[str, Callable[[Mapping[str, Any]], Mapping[str, Any] | None]] | None = None,
    ) -> None:
        self.reads = dict(reads or {})
        self.lists = dict(lists or {})
        self.writers = dict(writes or {})
        self.written: list[tuple[str, dict[str, Any]]] = []
        self.read_count = 0

    async def read(self, path: str) -> Mapping[str, Any] | None:
        self.read_count += 1
        return self.reads.get(path)

    async def write(self, path: str, data: Mapping[str, Any]) -> Mapping[str, Any] | None:
        self.written.append((path, dict(data)))
        writer = self.writers.get(path)
        return None if writer is None else writer(data)

    async def list(self, path: str) -> list[str]:
        return list(self.lists.get(path, []))


FIXED_NOW = datetime(2024, 3, 9, 7, 5, 4, 120000, tzinfo=UTC)


async def render(text: str, src: MemorySource | None = None, **kwargs: Any) -> str:
    options = {k: kwargs.pop(k) for k in ("left_delim", "right_delim", "error_on_missing_key") if k in kwargs}
    template = Template(text, name="t.ctmpl", **options)
    rendered = await template.render(src, now=lambda: FIXED_NOW, **kwargs)
    return rendered.text
