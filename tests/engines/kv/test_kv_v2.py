"""KV v2 through BackendHarness: bodies, statuses and error strings as OpenBao 2.x gives them."""

from __future__ import annotations

import pytest

from strongroom.errors import UnsupportedOperationError
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock, rfc3339
from tests.engines.kv.support import START, T0, body, error_of


async def test_write_then_read(kv: BackendHarness) -> None:
    written = await kv.write("data/app/db", {"data": {"a": 1, "b": {"c": "d"}}})
    meta = {
        "created_time": T0,
        "custom_metadata": None,
        "deletion_time": "",
        "destroyed": False,
        "version": 1,
    }
    assert body(written) == meta
    assert body(await kv.read("data/app/db")) == {"data": {"a": 1, "b": {"c": "d"}}, "metadata": meta}


async def test_missing_secret_reads_none(kv: BackendHarness) -> None:
    assert await kv.read("data/missing") is None
    await kv.write("data/x", {"data": {"a": 1}})
    assert await kv.read("data/x", version="7") is None


async def test_read_by_version(kv: BackendHarness, clock: ManualClock) -> None:
    await kv.write("data/x", {"data": {"v": 1}})
    clock.advance(1)
    await kv.write("data/x", {"data": {"v": 2}})
    assert body(await kv.read("data/x", version="1"))["data"] == {"v": 1}
    assert body(await kv.read("data/x"))["metadata"]["version"] == 2
    assert await error_of(kv.read("data/x", version="abc")) == (
        'Field validation failed: error converting input for field "version": '
        "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
    )


async def test_write_errors(kv: BackendHarness) -> None:
    assert await error_of(kv.write("data/x", {"a": 2})) == ("no data provided",)
    # Validated by the existence check, which OpenBao reports without "Field validation failed: ".
    assert await error_of(kv.write("data/x", {"data": "str"})) == (
        'error converting input for field "data": '
        "'' expected type 'map[string]interface {}', got unconvertible type 'string'",
    )
    assert await error_of(kv.write("data/", {"data": {"a": 1}})) == ("cannot write to a path ending in '/'",)


async def test_unknown_parameter_warning(kv: BackendHarness) -> None:
    response = await kv.write("data/x", {"data": {"a": 3}, "zzz": 1})
    assert response is not None
    assert response.warnings == ("Endpoint ignored these unrecognized parameters: [zzz]",)


async def test_check_and_set(kv: BackendHarness) -> None:
    assert body(await kv.write("data/x", {"data": {"a": 1}, "options": {"cas": 0}}))["version"] == 1
    assert await error_of(kv.write("data/x", {"data": {"a": 2}, "options": {"cas": 0}})) == (
        "check-and-set parameter did not match the current version",
    )
    assert await error_of(kv.write("data/x", {"data": {"a": 2}, "options": {"cas": "x"}})) == (
        "error parsing check-and-set parameter",
    )
    assert body(await kv.write("data/x", {"data": {"a": 2}, "options": {"cas": "1"}}))["version"] == 2


async def test_cas_required_by_mount_and_by_key(kv: BackendHarness) -> None:
    await kv.write("config", {"cas_required": True})
    assert await error_of(kv.write("data/x", {"data": {"a": 1}})) == (
        "check-and-set parameter required for this call",
    )
    await kv.write("config", {"cas_required": False})
    await kv.write("metadata/y", {"cas_required": True})
    assert await error_of(kv.write("data/y", {"data": {"a": 1}})) == (
        "check-and-set parameter required for this call",
    )
    assert body(await kv.write("data/y", {"data": {"a": 1}, "options": {"cas": 0}}))["version"] == 1


async def test_soft_delete_reads_404_with_metadata(kv: BackendHarness, clock: ManualClock) -> None:
    await kv.write("data/x", {"data": {"a": 1}})
    clock.advance(5)
    assert await kv.delete("data/x") is None
    response = await kv.read("data/x")
    assert response is not None
    assert response.status == 404
    assert response.data == {
        "data": None,
        "metadata": {
            "created_time": T0,
            "custom_metadata": None,
            "deletion_time": rfc3339(START + 5),
            "destroyed": False,
            "version": 1,
        },
    }
    assert await kv.delete("data/missing") is None


async def test_destroyed_reads_404(kv: BackendHarness) -> None:
    await kv.write("data/x", {"data": {"a": 1}})
    assert await kv.write("destroy/x", {"versions": [1]}) is None
    response = await kv.read("data/x")
    assert response is not None
    assert response.status == 404
    assert body(response)["metadata"]["destroyed"] is True
    assert body(response)["data"] is None
    assert [k for k in kv.storage.data if k.startswith("versions/")] == []


async def test_delete_undelete_destroy_versions(kv: BackendHarness, clock: ManualClock) -> None:
    await kv.write("data/d", {"data": {"v": 1}})
    await kv.write("data/d", {"data": {"v": 2}})
    clock.advance(1)
    assert await kv.write("delete/d", {"versions": [1, 7]}) is None
    assert await kv.write("delete/d", {"versions": "2"}) is None
    versions = body(await kv.read("metadata/d"))["versions"]
    assert versions["1"]["deletion_time"] == rfc3339(START + 1)
    assert versions["2"]["deletion_time"] == rfc3339(START + 1)
    assert await kv.write("undelete/d", {"versions": [1, 2]}) is None
    assert body(await kv.read("data/d", version="1"))["data"] == {"v": 1}
    await kv.write("destroy/d", {"versions": [2]})
    await kv.write("undelete/d", {"versions": [2]})
    versions = body(await kv.read("metadata/d"))["versions"]
    assert versions["2"] == {"created_time": T0, "deletion_time": "", "destroyed": True}
    assert await error_of(kv.write("delete/d", {})) == ("No version number provided",)
    assert await error_of(kv.write("undelete/d", {})) == ("No version number provided",)
    assert await error_of(kv.write("destroy/d", {})) == ("no version number provided",)
    assert await kv.write("destroy/nope", {"versions": [1]}) is None
    assert await error_of(kv.write("delete/d", {"versions": ["x"]})) == (
        'Field validation failed: error converting input for field "versions": decoding failed due to the '
        "following error(s):\n\n'[0]' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
    )
    with pytest.raises(UnsupportedOperationError):
        await kv.read("delete/d")


async def test_undelete_restarts_delete_version_after(kv: BackendHarness, clock: ManualClock) -> None:
    await kv.write("metadata/t", {"delete_version_after": "3h"})
    await kv.write("data/t", {"data": {"v": 1}})
    assert body(await kv.read("data/t"))["metadata"]["deletion_time"] == rfc3339(START + 3 * 3600)
    clock.advance(60)
    await kv.delete("data/t")
    clock.advance(60)
    await kv.write("undelete/t", {"versions": [1]})
    restored = body(await kv.read("data/t"))
    assert restored["data"] == {"v": 1}
    assert restored["metadata"]["deletion_time"] == rfc3339(START + 120 + 3 * 3600)


async def test_patch_merges_and_requires_existing(kv: BackendHarness, clock: ManualClock) -> None:
    missing = await kv.patch("data/nope", {"data": {"a": 1}})
    assert missing is not None
    assert missing.status == 404
    assert missing.data is None
    assert missing.raw_body == b""
    await kv.write("data/p", {"data": {"a": 1, "b": {"c": 2, "d": 3}, "e": [1]}})
    clock.advance(1)
    patched = await kv.patch("data/p", {"data": {"a": None, "b": {"c": None, "x": 1}}})
    assert body(patched)["version"] == 2
    assert body(patched)["created_time"] == rfc3339(START + 1)
    assert body(await kv.read("data/p"))["data"] == {"b": {"d": 3, "x": 1}, "e": [1]}
    assert await error_of(kv.patch("data/p", {"options": {"cas": 1}})) == ("no data provided",)
    assert await error_of(kv.patch("data/p", {"data": {"z": 1}, "options": {"cas": 1}})) == (
        "check-and-set parameter did not match the current version",
    )
    await kv.delete("data/p")
    deleted = await kv.patch("data/p", {"data": {"z": 1}})
    assert deleted is not None
    assert deleted.status == 404
    assert body(deleted)["version"] == 2
    assert body(deleted)["deletion_time"] == rfc3339(START + 1)


async def test_subkeys(kv: BackendHarness) -> None:
    await kv.write("data/s", {"data": {"a": 1, "b": {"c": 2, "d": {"e": 3}}, "f": {}}})
    meta = body(await kv.read("data/s"))["metadata"]
    assert body(await kv.read("subkeys/s")) == {
        "metadata": meta,
        "subkeys": {"a": None, "b": {"c": None, "d": {"e": None}}, "f": None},
    }
    assert body(await kv.read("subkeys/s", depth="1"))["subkeys"] == {"a": None, "b": None, "f": None}
    assert body(await kv.read("subkeys/s", depth="2"))["subkeys"] == {
        "a": None,
        "b": {"c": None, "d": None},
        "f": None,
    }
    assert await kv.read("subkeys/s", version="9") is None
    assert await kv.read("subkeys/nope") is None
    await kv.delete("data/s")
    deleted = await kv.read("subkeys/s")
    assert deleted is not None
    assert deleted.status == 404
    assert body(deleted)["subkeys"] is None


async def test_max_versions_prunes_oldest(kv: BackendHarness) -> None:
    await kv.write("metadata/ov", {"max_versions": 2})
    oldest = []
    for n in range(3):
        await kv.write("data/ov", {"data": {"n": n}})
        oldest.append(body(await kv.read("metadata/ov"))["oldest_version"])
    assert oldest == [0, 1, 2]
    assert sorted(body(await kv.read("metadata/ov"))["versions"]) == ["2", "3"]
    assert await kv.read("data/ov", version="1") is None
    assert len([k for k in kv.storage.data if k.startswith("versions/")]) == 2


async def test_key_max_versions_wins_over_mount(kv: BackendHarness) -> None:
    await kv.write("config", {"max_versions": 3})
    await kv.write("metadata/k", {"max_versions": 5})
    for n in range(6):
        await kv.write("data/k", {"data": {"n": n}})
    meta = body(await kv.read("metadata/k"))
    assert meta["oldest_version"] == 2
    assert sorted(meta["versions"], key=int) == ["2", "3", "4", "5", "6"]


async def test_default_max_versions_is_ten(kv: BackendHarness) -> None:
    for n in range(11):
        await kv.write("data/k", {"data": {"n": n}})
    assert len(body(await kv.read("metadata/k"))["versions"]) == 10


async def test_delete_version_after(kv: BackendHarness, clock: ManualClock) -> None:
    await kv.write("config", {"delete_version_after": "1h"})
    await kv.write("metadata/t", {"delete_version_after": "30m"})
    written = body(await kv.write("data/t", {"data": {"a": 1}}))
    assert written["deletion_time"] == rfc3339(START + 1800)
    assert body(await kv.read("data/t"))["data"] == {"a": 1}
    clock.advance(1800)
    response = await kv.read("data/t")
    assert response is not None
    assert response.status == 404
    await kv.write("config", {"delete_version_after": -1})
    assert body(await kv.write("data/t", {"data": {"a": 2}}))["deletion_time"] == ""


async def test_config(kv: BackendHarness) -> None:
    assert body(await kv.read("config")) == {
        "cas_required": False,
        "delete_version_after": "0s",
        "max_versions": 0,
        "metadata_cas_required": False,
    }
    assert await kv.write("config", {"max_versions": "5", "delete_version_after": "1h30m"}) is None
    assert body(await kv.read("config")) == {
        "cas_required": False,
        "delete_version_after": "1h30m0s",
        "max_versions": 5,
        "metadata_cas_required": False,
    }
    await kv.write("config", {"delete_version_after": "-1s"})
    assert body(await kv.read("config"))["delete_version_after"] == "-1s"
    assert await error_of(kv.write("config", {"max_versions": "abc"})) == (
        'Field validation failed: error converting input for field "max_versions": '
        "'' cannot parse value as 'int': strconv.ParseInt: invalid syntax",
    )
    assert await error_of(kv.write("config", {"cas_required": "maybe"})) == (
        'Field validation failed: error converting input for field "cas_required": '
        "'' cannot parse value as 'bool': strconv.ParseBool: invalid syntax",
    )
