"""Differential test of small mount and KV details: auth mount options, the "generic" and "kv-v1" types,
`listing_visibility` on tune reads, and when KV v2 prunes versions after max_versions is lowered.

Runs on the session servers, on mounts of its own on each; every answer is compared with OpenBao's.
"""

from __future__ import annotations

from typing import Any

from tests.interop.differential import Intended, Step, assert_alike, run
from tests.servers import RunningServer

KV = "diffkvprune"


def post(name: str, path: str, body: Any = None) -> Step:
    return Step(name, "POST", f"/v1/{path}", body={} if body is None else body)


def get(name: str, path: str) -> Step:
    return Step(name, "GET", f"/v1/{path}")


def delete(name: str, path: str) -> Step:
    return Step(name, "DELETE", f"/v1/{path}")


MOUNT_STEPS: list[Step] = [
    post("enable auth without options", "sys/auth/diffup1", {"type": "userpass"}),
    get("read auth without options", "sys/auth/diffup1"),
    post("enable auth with null options", "sys/auth/diffup2", {"type": "userpass", "options": None}),
    get("read auth with null options", "sys/auth/diffup2"),
    post("enable auth with empty options", "sys/auth/diffup3", {"type": "userpass", "options": {}}),
    get("read auth with empty options", "sys/auth/diffup3"),
    post("enable transit without options", "sys/mounts/difftr1", {"type": "transit"}),
    get("read transit without options", "sys/mounts/difftr1"),
    post("enable transit with null options", "sys/mounts/difftr2", {"type": "transit", "options": None}),
    get("read transit with null options", "sys/mounts/difftr2"),
    post("transit refuses a version", "sys/mounts/difftr3", {"type": "transit", "options": {"version": "1"}}),
    post("enable generic", "sys/mounts/diffgen", {"type": "generic"}),
    get("read generic mount", "sys/mounts/diffgen"),
    get("read generic tune", "sys/mounts/diffgen/tune"),
    post("write to generic", "diffgen/foo", {"a": "b"}),
    get("read from generic", "diffgen/foo"),
    Step("list generic", "LIST", "/v1/diffgen/"),
    post("generic refuses a version", "sys/mounts/diffg2", {"type": "generic", "options": {"version": "2"}}),
    post("enable kv-v1", "sys/mounts/diffkv1", {"type": "kv-v1"}),
    get("read kv-v1 mount", "sys/mounts/diffkv1"),
    post("tune listing_visibility", "sys/mounts/diffgen/tune", {"listing_visibility": "unauth"}),
    get("read tune with listing_visibility", "sys/mounts/diffgen/tune"),
    post("tune auth listing_visibility", "sys/auth/diffup1/tune", {"listing_visibility": "unauth"}),
    get("read auth tune with listing_visibility", "sys/auth/diffup1/tune"),
    post("tune listing_visibility hidden", "sys/mounts/diffgen/tune", {"listing_visibility": "hidden"}),
    get("read tune hidden", "sys/mounts/diffgen/tune"),
    delete("disable generic", "sys/mounts/diffgen"),
    delete("disable kv-v1", "sys/mounts/diffkv1"),
    delete("disable transit 1", "sys/mounts/difftr1"),
    delete("disable transit 2", "sys/mounts/difftr2"),
    delete("disable auth 1", "sys/auth/diffup1"),
    delete("disable auth 2", "sys/auth/diffup2"),
    delete("disable auth 3", "sys/auth/diffup3"),
]

PRUNE_STEPS: list[Step] = [
    post("enable kv v2", f"sys/mounts/{KV}", {"type": "kv", "options": {"version": "2"}}),
    *(post(f"write version {n}", f"{KV}/data/s", {"data": {"n": n}}) for n in range(1, 6)),
    post("lower max_versions", f"{KV}/metadata/s", {"max_versions": 2}),
    get("metadata keeps every version", f"{KV}/metadata/s"),
    get("oldest version still readable", f"{KV}/data/s?version=1"),
    post("write after lowering", f"{KV}/data/s", {"data": {"n": 6}}),
    get("metadata pruned on write", f"{KV}/metadata/s"),
    get("pruned version gone", f"{KV}/data/s?version=1"),
    get("kept version readable", f"{KV}/data/s?version=5"),
    post("lower mount max_versions", f"{KV}/config", {"max_versions": 1}),
    post("write other", f"{KV}/data/t", {"data": {"n": 1}}),
    post("write other again", f"{KV}/data/t", {"data": {"n": 2}}),
    get("other metadata pruned by mount config", f"{KV}/metadata/t"),
    get("first key unchanged by mount config", f"{KV}/metadata/s"),
    delete("disable kv v2", f"sys/mounts/{KV}"),
]

INTENDED: list[Intended] = []


def test_mount_details_match_openbao(server: RunningServer, bao: RunningServer) -> None:
    assert_alike(MOUNT_STEPS, run(server, MOUNT_STEPS), run(bao, MOUNT_STEPS), INTENDED)


def test_kv_v2_prunes_at_the_next_write_as_openbao(server: RunningServer, bao: RunningServer) -> None:
    assert_alike(PRUNE_STEPS, run(server, PRUNE_STEPS), run(bao, PRUNE_STEPS), INTENDED)
