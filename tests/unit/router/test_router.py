"""Longest-prefix routing, and the routes it remembers following every change of the mount table."""

from __future__ import annotations

from typing import Any, cast

from strongroom.logical import Backend
from strongroom.router import MountEntry
from strongroom.router.router import ROUTES_KEPT, Router
from strongroom.util.frozen import replace

KV = cast(Backend, object())
OTHER = cast(Backend, object())


def entry(path: str, **changes: Any) -> MountEntry:
    return replace(MountEntry(path=path, type="kv", uuid="u-" + path, accessor="kv_" + path), **changes)


def test_longest_prefix_wins_and_relative_paths() -> None:
    router = Router()
    router.mount(entry("secret/"), KV)
    router.mount(entry("secret/team/"), OTHER)
    route = router.route("secret/team/db")
    assert route is not None
    assert (route.backend, route.relative_path) == (OTHER, "db")
    route = router.route("secret/other")
    assert route is not None
    assert (route.backend, route.relative_path) == (KV, "other")
    assert router.route("nothing/here") is None


def test_every_mount_table_change_is_seen_at_once() -> None:
    router = Router()
    assert router.route("secret/a") is None  # remembered as unrouted...
    router.mount(entry("secret/"), KV)
    first = router.route("secret/a")  # ...and forgotten on mount
    assert first is not None
    assert first.backend is KV
    router.replace_entry(entry("secret/", description="tuned"))
    tuned = router.route("secret/a")
    assert tuned is not None
    assert tuned.entry.description == "tuned"
    router.unmount("secret/")
    assert router.route("secret/a") is None


def test_remembered_routes_stay_bounded() -> None:
    router = Router()
    router.mount(entry("secret/"), KV)
    for i in range(ROUTES_KEPT + 10):
        route = router.route(f"secret/k{i}")
        assert route is not None
        assert route.relative_path == f"k{i}"
    assert len(router._routes) <= ROUTES_KEPT
