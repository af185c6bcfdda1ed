"""FrameworkBackend: routing, 404 versus 405, warnings, help, OpenAPI, existence checks, and the harness."""

from __future__ import annotations

from typing import Any

import pytest

from strongroom.errors import InvalidRequestError, NotFoundError, UnsupportedOperationError
from strongroom.framework import Field, FieldData, FieldType, FrameworkBackend, Path
from strongroom.framework.path import compile_pattern
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Backend, BackendConfig, Operation, Request, Response


async def echo(request: Request, fields: FieldData) -> Response | None:
    return Response(data={"name": fields.get("name"), "ttl": fields.get("ttl"), "raw": dict(fields.raw)})


async def echo_raw(request: Request, fields: FieldData) -> Response | None:
    return Response(data={"raw": dict(fields.raw)})


async def nothing(request: Request, fields: FieldData) -> Response | None:
    return None


async def exists_if_stored(request: Request, fields: FieldData) -> bool:
    assert request.storage is not None
    return await request.storage.get(fields.get("name")) is not None


async def store(request: Request, fields: FieldData) -> Response | None:
    assert request.storage is not None
    await request.storage.put(fields.get("name"), b"x")
    return Response(data={"operation": str(request.operation)})


ROLES = Path(
    "roles/{name}",
    fields={"ttl": Field(FieldType.DURATION, "How long."), "name": Field(description="The role name.")},
    operations={
        Operation.READ: echo,
        Operation.CREATE: store,
        Operation.UPDATE: store,
        Operation.DELETE: nothing,
    },
    existence_check=exists_if_stored,
    synopsis="Manage roles.",
    description="Roles are templates.",
)
LIST_ROLES = Path("roles/?", operations={Operation.LIST: echo_raw}, synopsis="List roles.")
FREE = Path("free/{rest*}", operations={Operation.UPDATE: echo_raw}, any_data=True, synopsis="Anything.")
CONFIG = Path("config", fields={"ttl": Field(FieldType.DURATION)}, operations={Operation.UPDATE: echo_raw})


async def factory(config: BackendConfig) -> Backend:
    return FrameworkBackend([CONFIG, ROLES, LIST_ROLES, FREE], help="A test backend.")


@pytest.fixture
async def harness() -> BackendHarness:
    return await BackendHarness.create(factory, "test")


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("config", "config", {}),
        ("config", "config/", None),
        ("roles/{name}", "roles/web", {"name": "web"}),
        ("roles/{name}", "roles/", None),
        ("roles/{name}", "roles/a/b", None),
        ("data/{path*}", "data/", {"path": ""}),
        ("data/{path*}", "data/a/b/", {"path": "a/b/"}),
        ("roles/?", "roles", {}),
        ("roles/?", "roles/", {}),
        ("a.b", "axb", None),
    ],
)
def test_pattern_matching(pattern: str, path: str, expected: dict[str, str] | None) -> None:
    assert Path(pattern).match(path) == expected


def test_compiled_pattern() -> None:
    regex, names = compile_pattern("roles/{name}/keys/{rest*}")
    assert regex.pattern == "^roles/(?P<name>[^/]+)/keys/(?P<rest>.*)$"
    assert names == ("name", "rest")


async def test_first_match_wins_and_captures_become_fields(harness: BackendHarness) -> None:
    response = await harness.read("roles/web", ttl="1h")
    assert response is not None
    assert response.data == {"name": "web", "ttl": 3600, "raw": {"ttl": "1h", "name": "web"}}
    assert response.warnings == ()


async def test_unknown_path_is_404_and_unknown_operation_is_405(harness: BackendHarness) -> None:
    with pytest.raises(NotFoundError) as caught:
        await harness.read("nope")
    assert caught.value.errors == ("1 error occurred:\n\t* unsupported path\n\n",)
    with pytest.raises(UnsupportedOperationError):
        await harness.request(Operation.PATCH, "roles/web", {"a": 1})
    assert harness.backend.has_route("roles/web")
    assert harness.backend.has_route("roles/")
    assert not harness.backend.has_route("nope")


async def test_unknown_fields_warning_sorted(harness: BackendHarness) -> None:
    response = await harness.write("config", {"ttl": 5, "zeta": 1, "alpha": 2})
    assert response is not None
    assert response.warnings == ("Endpoint ignored these unrecognized parameters: [alpha zeta]",)


async def test_any_data_path_has_no_warning_and_raw_has_everything(harness: BackendHarness) -> None:
    response = await harness.write("free/x/y", {"whatever": 1})
    assert response is not None
    assert response.warnings == ()
    assert response.data is not None
    assert response.data["raw"] == {"whatever": 1, "rest": "x/y"}


async def test_none_from_handler_stays_none(harness: BackendHarness) -> None:
    assert await harness.delete("roles/web", {"stray": 1}) is None


async def test_bad_value_is_400_with_vault_wording(harness: BackendHarness) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("config", {"ttl": "abc"})
    assert caught.value.errors == (
        'Field validation failed: error converting input for field "ttl": time: invalid duration "abc"',
    )


async def test_bad_value_on_existence_checked_path_has_no_prefix(harness: BackendHarness) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("roles/web", {"ttl": "abc"})
    assert caught.value.errors == ('error converting input for field "ttl": time: invalid duration "abc"',)


async def test_existence_check_flips_update_to_create(harness: BackendHarness) -> None:
    first = await harness.write("roles/web", {})
    second = await harness.write("roles/web", {})
    assert first is not None
    assert first.data == {"operation": "create"}
    assert second is not None
    assert second.data == {"operation": "update"}


async def test_exists_is_none_without_a_check(harness: BackendHarness) -> None:
    request = harness.make_request(Operation.UPDATE, "config", {})
    assert await harness.backend.exists(request) is None
    assert await harness.backend.exists(harness.make_request(Operation.UPDATE, "nope")) is None
    assert await harness.backend.exists(harness.make_request(Operation.UPDATE, "roles/x")) is False


async def test_help_text(harness: BackendHarness) -> None:
    response = await harness.help("roles/web")
    assert response is not None
    assert response.data is not None
    assert response.data["help"] == (
        "Request:        roles/web\n"
        "Matching Route: ^roles/(?P<name>[^/]+)$\n"
        "\n"
        "Manage roles.\n"
        "\n"
        "## PARAMETERS\n"
        "\n"
        "    name (string)\n"
        "\n"
        "        The role name.\n"
        "\n"
        "    ttl (duration (sec))\n"
        "\n"
        "        How long.\n"
        "\n"
        "## DESCRIPTION\n"
        "\n"
        "Roles are templates."
    )
    document = response.data["openapi"]
    assert document["openapi"] == "3.0.2"
    assert list(document["paths"]) == ["/roles/{name}"]


async def test_help_at_the_mount_root_describes_the_backend_and_lists_every_route(
    harness: BackendHarness,
) -> None:
    response = await harness.help("")
    assert response is not None
    assert response.data is not None
    help_text = response.data["help"]
    assert help_text.startswith("## DESCRIPTION\n\nA test backend.\n\n## PATHS\n")
    assert help_text.endswith(
        "    ^config$\n\n"
        "    ^free/(?P<rest>.*)$\n        Anything.\n\n"
        "    ^roles/(?P<name>[^/]+)$\n        Manage roles.\n\n"
        "    ^roles/?$\n        List roles.\n"
    )
    assert list(response.data["openapi"]["paths"]) == ["/config", "/roles/{name}", "/roles/", "/free/{rest}"]


def test_openapi_paths_shape() -> None:
    backend = FrameworkBackend([CONFIG, ROLES, LIST_ROLES, FREE])
    paths: dict[str, Any] = backend.openapi_paths()
    assert list(paths) == ["/config", "/roles/{name}", "/roles/", "/free/{rest}"]
    roles = paths["/roles/{name}"]
    assert roles["description"] == "Manage roles."
    assert roles["x-vault-createSupported"] is True
    assert roles["parameters"] == [
        {
            "name": "name",
            "description": "The role name.",
            "in": "path",
            "schema": {"type": "string"},
            "required": True,
        }
    ]
    assert roles["get"] == {
        "summary": "Manage roles.",
        "operationId": "read-roles-name",
        "responses": {"200": {"description": "OK"}},
    }
    assert roles["post"]["operationId"] == "write-roles-name"
    assert roles["post"]["requestBody"] == {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "ttl": {"type": "integer", "format": "seconds", "description": "How long."}
                    },
                }
            }
        },
    }
    assert roles["delete"]["responses"] == {"204": {"description": "empty body"}}
    assert paths["/roles/"]["get"]["parameters"] == [
        {
            "name": "list",
            "description": "Must be set to `true`",
            "in": "query",
            "schema": {"type": "string"},
            "required": True,
        }
    ]
    assert "x-vault-createSupported" not in paths["/config"]


async def test_harness_list_adds_trailing_slash(harness: BackendHarness) -> None:
    response = await harness.list("roles")
    assert response is not None
    assert response.data is not None
    assert response.data["raw"] == {}


async def test_initialize_and_cleanup_hooks() -> None:
    calls: list[str] = []

    async def on_init() -> None:
        calls.append("init")

    async def on_clean() -> None:
        calls.append("clean")

    backend = FrameworkBackend([CONFIG], on_initialize=on_init, on_cleanup=on_clean, per_token_storage=True)
    await backend.initialize()
    await backend.cleanup()
    assert calls == ["init", "clean"]
    assert backend.per_token_storage is True


FOLDING = FrameworkBackend(
    [
        Path("users/{name}/keys/{key}", fields={"name": Field(FieldType.LOWERCASE_STRING)}, operations={}),
        Path("users/{name}", fields={"name": Field(FieldType.LOWERCASE_STRING)}, operations={}),
        Path("acl/{name*}", fields={"name": Field(FieldType.TRIMMED_LOWERCASE_STRING)}, operations={}),
        Path("plain/{name}", operations={}),
    ]
)


@pytest.mark.parametrize(
    ("path", "canonical"),
    [
        ("users/ADMIN", "users/admin"),
        # Only the declared capture folds; the other segments stay as written.
        ("users/Bob/keys/KEY", "users/bob/keys/KEY"),
        ("acl/ Admin ", "acl/admin"),
        ("acl/A/B", "acl/a/b"),
        # A name that would fold to nothing is left for the handler to refuse.
        ("acl/ ", "acl/ "),
        ("plain/ADMIN", "plain/ADMIN"),
        ("unknown/ADMIN", "unknown/ADMIN"),
    ],
)
def test_canonical_path_folds_the_captures_declared_as_folding(path: str, canonical: str) -> None:
    assert FOLDING.canonical_path(path) == canonical
    # Folding is idempotent: the canonical path is its own canonical path.
    assert FOLDING.canonical_path(canonical) == canonical
