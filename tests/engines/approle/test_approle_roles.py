"""AppRole roles, their per-field paths and role IDs, through BackendHarness."""

from __future__ import annotations

import pytest
from tests.engines.approle.conftest import role_id

from strongroom.errors import InvalidRequestError, NotFoundError, UnsupportedOperationError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Operation

DEFAULT_ROLE = {
    "bind_secret_id": True,
    "local_secret_ids": False,
    "secret_id_bound_cidrs": None,
    "secret_id_num_uses": 0,
    "secret_id_ttl": 0,
    "token_bound_cidrs": [],
    "token_explicit_max_ttl": 0,
    "token_max_ttl": 0,
    "token_no_default_policy": False,
    "token_num_uses": 0,
    "token_period": 0,
    "token_policies": [],
    "token_strictly_bind_ip": False,
    "token_ttl": 0,
    "token_type": "default",
}


async def test_a_role_is_created_with_vaults_defaults(harness: BackendHarness) -> None:
    assert await harness.backend.exists(harness.make_request(Operation.UPDATE, "role/web")) is False
    assert await harness.write("role/web") is None
    response = await harness.read("role/web")
    assert response is not None
    assert response.data == DEFAULT_ROLE
    assert response.warnings == ()
    assert await harness.backend.exists(harness.make_request(Operation.UPDATE, "role/web")) is True


async def test_every_field_is_stored_and_legacy_fields_fill_the_token_ones(harness: BackendHarness) -> None:
    response = await harness.write(
        "role/Full",
        {
            "policies": "a,b",
            "period": "1h",
            "secret_id_num_uses": 3,
            "secret_id_ttl": "10m",
            "token_ttl": "5m",
            "token_max_ttl": "1h",
            "secret_id_bound_cidrs": "127.0.0.1/32,10.0.0.0/8",
            "token_bound_cidrs": ["127.0.0.1", "10.0.0.0/8"],
            "local_secret_ids": True,
            "token_type": "default-service",
        },
    )
    assert response is not None
    assert response.warnings == ("default-service has no useful meaning; adjusting to service",)
    read = await harness.read("role/FULL")
    assert read is not None
    assert read.data == DEFAULT_ROLE | {
        "local_secret_ids": True,
        "period": 3600,
        "policies": ["a", "b"],
        "secret_id_bound_cidrs": ["127.0.0.1/32", "10.0.0.0/8"],
        "secret_id_num_uses": 3,
        "secret_id_ttl": 600,
        "token_bound_cidrs": ["127.0.0.1", "10.0.0.0/8"],
        "token_max_ttl": 3600,
        "token_period": 3600,
        "token_policies": ["a", "b"],
        "token_ttl": 300,
        "token_type": "service",
    }
    listed = await harness.list("role")
    assert listed is not None
    assert listed.data == {"keys": ["full"]}


async def test_the_token_field_wins_over_its_legacy_twin(harness: BackendHarness) -> None:
    await harness.write("role/web", {"policies": "old"})
    await harness.write("role/web", {"token_policies": "x", "policies": "y"})
    read = await harness.read("role/web")
    assert read is not None
    assert read.data is not None
    assert (read.data["token_policies"], read.data["policies"]) == (["x"], ["x"])
    await harness.write("role/web", {"token_policies": "z"})
    read = await harness.read("role/web")
    assert read is not None
    assert read.data is not None
    assert read.data["token_policies"] == ["z"]
    assert "policies" not in read.data


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"bind_secret_id": False}, "at least one constraint should be enabled on the role"),
        ({"secret_id_bound_cidrs": "bogus"}, "failed to validate CIDR blocks: invalid CIDR address: bogus"),
        (
            {"secret_id_bound_cidrs": "127.0.0.1"},
            "failed to validate CIDR blocks: invalid CIDR address: 127.0.0.1",
        ),
        ({"secret_id_num_uses": -1}, "secret_id_num_uses cannot be negative"),
        (
            {"period": "9999h"},
            'period of "9999h0m0s" is greater than the backend\'s maximum lease TTL of "768h0m0s"',
        ),
        ({"token_ttl": "2h", "token_max_ttl": "1h"}, "'token_ttl' cannot be greater than 'token_max_ttl'"),
        ({"token_type": "bogus"}, "invalid 'token_type' value \"bogus\""),
    ],
)
async def test_bad_role_writes_are_refused(
    harness: BackendHarness, body: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web", body)
    assert caught.value.errors == (message,)
    assert await harness.read("role/web") is None


async def test_refusals_that_need_an_existing_role(harness: BackendHarness) -> None:
    await harness.write("role/web")
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web", {"local_secret_ids": True})
    assert caught.value.errors == ("local_secret_ids can only be modified during role creation",)
    response = await harness.write("role/web", {"token_max_ttl": "9999h"})
    assert response is not None
    assert response.warnings == (
        "token_max_ttl is greater than the backend mount's maximum TTL value; issued tokens' max TTL value "
        "will be truncated",
    )


@pytest.mark.parametrize("name", ["-bad", "bad-", "a b", "x" * 4097])
async def test_names_vault_would_not_route_are_unsupported_paths(harness: BackendHarness, name: str) -> None:
    with pytest.raises((NotFoundError, InvalidRequestError)) as caught:
        await harness.write(f"role/{name}")
    if len(name) > 4096:
        assert caught.value.errors == ("role_name is longer than maximum of 4096 bytes",)
    else:
        assert caught.value.errors == ("1 error occurred:\n\t* unsupported path\n\n",)
    assert await harness.write("role/a.b_c-d") is None


async def test_role_ids_are_unique_and_can_be_chosen(harness: BackendHarness) -> None:
    await harness.write("role/pinned", {"role_id": "pinned-id"})
    assert await role_id(harness, "pinned") == "pinned-id"
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/other", {"role_id": "pinned-id"})
    assert caught.value.errors == ("role_id already in use",)
    await harness.write("role/other")
    generated = await role_id(harness, "other")
    assert len(generated) == 36
    assert generated != "pinned-id"
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/other/role-id", {"role_id": "pinned-id"})
    assert caught.value.errors == ("role_id already in use",)
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/other/role-id", {})
    assert caught.value.errors == ("missing role_id",)
    assert await harness.write("role/other/role-id", {"role_id": "fresh"}) is None
    assert await role_id(harness, "other") == "fresh"
    with pytest.raises(UnsupportedOperationError):
        await harness.delete("role/other/role-id")
    with pytest.raises(NotFoundError):
        await harness.write("role/nope/role-id", {"role_id": "x"})
    assert await harness.read("role/nope/role-id") is None


async def test_deleting_a_role_removes_it_and_its_index(harness: BackendHarness) -> None:
    await harness.write("role/web", {"role_id": "web-id"})
    await harness.write("role/web/secret-id")
    assert await harness.delete("role/web") is None
    assert await harness.delete("role/web") is None
    assert await harness.read("role/web") is None
    listed = await harness.list("role")
    assert listed is not None
    assert listed.data == {"keys": []}
    assert sorted(harness.storage.data) == ["salt"]
    await harness.write("role/again", {"role_id": "web-id"})


async def test_field_paths_read_update_and_reset(harness: BackendHarness) -> None:
    await harness.write(
        "role/web",
        {"policies": "a", "period": "1h", "token_ttl": 60, "token_max_ttl": 120, "secret_id_ttl": 30},
    )

    async def field(segment: str) -> object:
        response = await harness.read(f"role/web/{segment}")
        assert response is not None
        return response.data

    assert await field("policies") == {"policies": ["a"], "token_policies": ["a"]}
    assert await field("period") == {"period": 3600, "token_period": 3600}
    assert await field("token-ttl") == {"token_ttl": 60}
    assert await field("token-max-ttl") == {"token_max_ttl": 120}
    assert await field("secret-id-ttl") == {"secret_id_ttl": 30}
    assert await field("secret-id-num-uses") == {"secret_id_num_uses": 0}
    assert await field("token-num-uses") == {"token_num_uses": 0}
    assert await field("local-secret-ids") == {"local_secret_ids": False}
    assert await field("secret-id-bound-cidrs") == {"secret_id_bound_cidrs": None}
    assert await field("token-bound-cidrs") == {"token_bound_cidrs": None}

    await harness.write("role/web/policies", {"token_policies": "p1"})
    assert await field("policies") == {"token_policies": ["p1"]}
    await harness.write("role/web/period", {"token_period": "2m"})
    assert await field("period") == {"token_period": 120}
    await harness.write("role/web/secret-id-num-uses", {"secret_id_num_uses": 4})
    await harness.write("role/web/token-num-uses", {"token_num_uses": 2})
    await harness.write("role/web/secret-id-bound-cidrs", {"secret_id_bound_cidrs": "10.0.0.0/8"})
    await harness.write("role/web/token-bound-cidrs", {"token_bound_cidrs": "10.1.2.3"})
    assert await field("secret-id-num-uses") == {"secret_id_num_uses": 4}
    assert await field("token-num-uses") == {"token_num_uses": 2}
    assert await field("secret-id-bound-cidrs") == {"secret_id_bound_cidrs": ["10.0.0.0/8"]}
    assert await field("token-bound-cidrs") == {"token_bound_cidrs": ["10.1.2.3"]}

    for segment in ("policies", "period", "token-ttl", "token-max-ttl", "secret-id-ttl", "secret-id-num-uses",
                    "token-num-uses", "secret-id-bound-cidrs", "token-bound-cidrs"):  # fmt: skip
        assert await harness.delete(f"role/web/{segment}") is None
    read = await harness.read("role/web")
    assert read is not None
    assert read.data == DEFAULT_ROLE


@pytest.mark.parametrize(
    ("segment", "body", "message"),
    [
        ("policies", {}, "missing token_policies"),
        ("period", {}, "missing period"),
        ("token-ttl", {}, "missing token_ttl"),
        ("token-ttl", {"token_ttl": "2h"}, "token_ttl should not be greater than token_max_ttl"),
        ("token-max-ttl", {"token_max_ttl": 1}, "token_max_ttl should be greater than or equal to token_ttl"),
        ("secret-id-num-uses", {"secret_id_num_uses": -2}, "secret_id_num_uses cannot be negative"),
        ("token-num-uses", {"token_num_uses": -2}, "token_num_uses cannot be negative"),
        ("secret-id-bound-cidrs", {"secret_id_bound_cidrs": ""}, "missing bound_cidr_list"),
        (
            "secret-id-bound-cidrs",
            {"secret_id_bound_cidrs": "x"},
            "failed to validate CIDR blocks: invalid CIDR address: x",
        ),
        (
            "token-bound-cidrs",
            {"token_bound_cidrs": "bogus"},
            'failed to parse token_bound_cidrs: error parsing address "bogus": Unable to convert "bogus" to '
            "an IPv4 or IPv6 address, or a UNIX Socket",
        ),
        (
            "period",
            {"period": "9999h"},
            'period of "9999h0m0s" is greater than the backend\'s maximum lease TTL of "768h0m0s"',
        ),
    ],
)
async def test_field_path_refusals(
    harness: BackendHarness, segment: str, body: dict[str, object], message: str
) -> None:
    await harness.write("role/web", {"token_ttl": 60, "token_max_ttl": 3600})
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write(f"role/web/{segment}", body)
    assert caught.value.errors == (message,)


async def test_field_paths_of_a_missing_role(harness: BackendHarness) -> None:
    assert await harness.read("role/nope/token-ttl") is None
    assert await harness.delete("role/nope/token-ttl") is None
    with pytest.raises(NotFoundError):
        await harness.write("role/nope/token-ttl", {"token_ttl": 5})
    with pytest.raises(UnsupportedOperationError):
        await harness.write("role/nope/local-secret-ids", {})


async def test_removing_the_last_constraint_is_refused(harness: BackendHarness) -> None:
    await harness.write("role/web", {"bind_secret_id": False, "secret_id_bound_cidrs": "10.0.0.0/8"})
    with pytest.raises(InvalidRequestError) as caught:
        await harness.delete("role/web/secret-id-bound-cidrs")
    assert caught.value.errors == ("at least one constraint should be enabled on the role",)
