"""KV v2 metadata, listing, and the answer to unversioned paths, through BackendHarness."""

from __future__ import annotations

import pytest

from strongroom.builtin.registry import SECRETS_ENGINES
from strongroom.errors import UnsupportedOperationError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Operation, Response
from strongroom.util.clock import ManualClock, rfc3339
from tests.engines.kv.support import START, T0, body, error_of


async def test_metadata_read_after_data_write(kv: BackendHarness) -> None:
    await kv.write("data/foo", {"data": {"a": 1}})
    assert body(await kv.read("metadata/foo")) == {
        "cas_required": False,
        "created_time": T0,
        "current_metadata_version": 0,
        "current_version": 1,
        "custom_metadata": None,
        "delete_version_after": "0s",
        "max_versions": 0,
        "metadata_cas_required": False,
        "oldest_version": 0,
        "updated_time": T0,
        "versions": {"1": {"created_time": T0, "deletion_time": "", "destroyed": False}},
    }
    assert await kv.read("metadata/missing") is None


async def test_metadata_write_creates_and_bumps(kv: BackendHarness, clock: ManualClock) -> None:
    settings = {"max_versions": 2, "cas_required": True, "delete_version_after": "1h"}
    assert await kv.write("metadata/m", {**settings, "custom_metadata": {"owner": "me", "n": 5}}) is None
    meta = body(await kv.read("metadata/m"))
    assert meta["custom_metadata"] == {"n": "5", "owner": "me"}
    assert meta["delete_version_after"] == "1h0m0s"
    assert meta["current_metadata_version"] == 1
    assert meta["current_version"] == 0
    assert meta["versions"] == {}
    clock.advance(3)
    await kv.write("metadata/m", {"max_versions": 3})
    meta = body(await kv.read("metadata/m"))
    assert meta["current_metadata_version"] == 2
    assert meta["updated_time"] == rfc3339(START + 3)
    assert meta["created_time"] == T0
    written = body(await kv.write("data/m", {"data": {"v": 1}, "options": {"cas": 0}}))
    assert written["custom_metadata"] == {"n": "5", "owner": "me"}
    assert written["deletion_time"] == rfc3339(START + 3 + 3600)


async def test_metadata_write_without_settings_is_a_noop(kv: BackendHarness) -> None:
    assert await kv.write("metadata/m2", {}) is None
    assert await kv.read("metadata/m2") is None


async def test_metadata_validation(kv: BackendHarness) -> None:
    assert await error_of(kv.write("metadata/m", {"custom_metadata": {"": "x", "k": ""}})) == (
        "2 errors occurred:\n"
        '\t* custom_metadata validation failed: length of key "" is 0 but must be 0 < len(key) <= 128\n'
        '\t* custom_metadata validation failed: length of value for key "k" is 0 '
        "but must be 0 < len(value) <= 512\n"
        "\n",
    )
    assert await error_of(kv.write("metadata/m", {"custom_metadata": {"a": [1]}})) == (
        "custom_metadata validation failed: '' expected type 'string', "
        "got unconvertible type '[]interface {}'",
    )
    assert await error_of(kv.write("metadata/m", {"delete_version_after": "-5s"})) == (
        "error converting input for field \"delete_version_after\": cannot provide negative value '-5'",
    )
    await kv.write("metadata/m", {"max_versions": -1})
    assert body(await kv.read("metadata/m"))["max_versions"] == 4294967295


async def test_cas_required_warning(kv: BackendHarness) -> None:
    await kv.write("config", {"cas_required": True})
    response = await kv.write("metadata/m", {"cas_required": False})
    assert response is not None
    assert response.warnings == (
        '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
    )


async def test_metadata_check_and_set(kv: BackendHarness) -> None:
    assert await error_of(kv.write("metadata/c", {"max_versions": 3, "metadata_cas": 1})) == (
        "metadata_cas must be 0 when creating new metadata",
    )
    await kv.write("metadata/c", {"max_versions": 3, "metadata_cas": 0})
    await kv.write("metadata/c", {"metadata_cas_required": True})
    assert await error_of(kv.write("metadata/c", {"max_versions": 4})) == (
        "metadata check-and-set parameter required for this call",
    )
    assert await error_of(kv.write("metadata/c", {"max_versions": 4, "metadata_cas": 1})) == (
        "metadata check-and-set parameter does not match the current version",
    )
    assert await kv.write("metadata/c", {"max_versions": 4, "metadata_cas": 2}) is None
    assert body(await kv.read("metadata/c"))["max_versions"] == 4


async def test_metadata_patch(kv: BackendHarness, clock: ManualClock) -> None:
    missing = await kv.patch("metadata/nope", {"max_versions": 5})
    assert missing is not None
    assert missing.status == 404
    assert missing.data is None
    await kv.write("metadata/m", {"max_versions": 2, "custom_metadata": {"owner": "me", "n": "5"}})
    clock.advance(2)
    assert (
        await kv.patch("metadata/m", {"custom_metadata": {"owner": None, "x": "y"}, "max_versions": 5})
        is None
    )
    meta = body(await kv.read("metadata/m"))
    assert meta["custom_metadata"] == {"n": "5", "x": "y"}
    assert meta["max_versions"] == 5
    assert meta["current_metadata_version"] == 2
    assert meta["updated_time"] == rfc3339(START + 2)


async def test_metadata_delete_removes_everything(kv: BackendHarness) -> None:
    await kv.write("data/d", {"data": {"v": 1}})
    await kv.write("data/d", {"data": {"v": 2}})
    assert await kv.delete("metadata/d") is None
    assert await kv.read("metadata/d") is None
    assert await kv.read("data/d") is None
    assert kv.storage.data == {}
    assert await kv.delete("metadata/d") is None


async def test_list(kv: BackendHarness) -> None:
    for path in ("d", "d/sub", "m", "p"):
        await kv.write(f"data/{path}", {"data": {"v": 1}})
    assert body(await kv.list("metadata/")) == {"keys": ["d", "d/", "m", "p"]}
    assert body(await kv.list("metadata/d")) == {"keys": ["sub"]}
    assert body(await kv.list("metadata/", after="d/", limit="1")) == {"keys": ["m"]}
    assert body(await kv.list("metadata/zz")) == {}
    with pytest.raises(UnsupportedOperationError):
        await kv.list("data/")


@pytest.mark.parametrize(
    ("operation", "command"),
    [
        (Operation.READ, "get"),
        (Operation.UPDATE, "put"),
        (Operation.LIST, "list"),
        (Operation.DELETE, "delete"),
        (Operation.PATCH, "patch"),
    ],
)
async def test_unversioned_paths_answer_404_with_hint(
    kv: BackendHarness, operation: Operation, command: str
) -> None:
    path = "foo/" if operation is Operation.LIST else "foo"
    response = await kv.request(operation, path, {"a": 1})
    assert response == Response(
        status=404,
        warnings=(
            "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API "
            f"endpoints to use. If using the OpenBao CLI, use 'bao kv {command}' for this operation.",
        ),
    )


async def test_help_and_openapi(kv: BackendHarness) -> None:
    help_body = body(await kv.help("config"))
    assert help_body["help"].startswith(
        "Request:        config\nMatching Route: ^config$\n\nConfigures settings"
    )
    paths = kv.backend.openapi_paths()
    assert list(paths) == [
        "/config",
        "/data/{path}",
        "/metadata/{path}",
        "/delete/{path}",
        "/undelete/{path}",
        "/destroy/{path}",
        "/subkeys/{path}",
        "/{path}",
    ]
    assert set(paths["/data/{path}"]) >= {"get", "post", "patch", "delete", "parameters"}


async def test_one_write_is_two_puts(kv: BackendHarness) -> None:
    await kv.write("data/x", {"data": {"a": 1}})
    assert sorted(k.split("/")[0] for k in kv.storage.data) == ["metadata", "versions"]


async def test_unknown_version_is_a_config_error() -> None:
    from strongroom.errors import ConfigError

    with pytest.raises(ConfigError):
        await BackendHarness.create(SECRETS_ENGINES["kv"], "kv", options={"version": "3"})
