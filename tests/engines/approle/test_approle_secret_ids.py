"""AppRole secret IDs through BackendHarness: issue, list, look up, destroy, tidy, and their storage."""

from __future__ import annotations

import base64

import pytest
from tests.engines.approle.conftest import secret_id

from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from strongroom.framework.testing import BackendHarness
from strongroom.util.clock import ManualClock


async def test_a_secret_id_is_issued_and_looked_up_without_itself(harness: BackendHarness) -> None:
    await harness.write("role/web", {"secret_id_num_uses": 3, "secret_id_ttl": "10m"})
    response = await harness.write(
        "role/web/secret-id",
        {"metadata": '{"env":"prod"}', "cidr_list": "127.0.0.1/32", "token_bound_cidrs": "10.0.0.0/8"},
    )
    assert response is not None
    assert response.data is not None
    secret, accessor = response.data["secret_id"], response.data["secret_id_accessor"]
    assert (response.data["secret_id_num_uses"], response.data["secret_id_ttl"]) == (3, 600)
    assert len(secret) == 36
    assert len(accessor) == 36
    expected = {
        "cidr_list": ["127.0.0.1/32"],
        "creation_time": "2023-11-14T22:13:20Z",
        "expiration_time": "2023-11-14T22:23:20Z",
        "last_updated_time": "2023-11-14T22:13:20Z",
        "metadata": {"env": "prod"},
        "secret_id_accessor": accessor,
        "secret_id_num_uses": 3,
        "secret_id_ttl": 600,
        "token_bound_cidrs": ["10.0.0.0/8"],
    }
    lookup = await harness.write("role/web/secret-id/lookup", {"secret_id": secret})
    assert lookup is not None
    assert lookup.data == expected
    by_accessor = await harness.write("role/web/secret-id-accessor/lookup", {"secret_id_accessor": accessor})
    assert by_accessor is not None
    assert by_accessor.data == expected
    listed = await harness.list("role/web/secret-id")
    assert listed is not None
    assert listed.data == {"keys": [accessor]}


async def test_secret_ids_and_accessors_are_stored_only_as_salted_hashes(harness: BackendHarness) -> None:
    await harness.write("role/web")
    secret, accessor = await secret_id(harness, "web")
    custom = "my-very-own-secret"
    await harness.write("role/web/custom-secret-id", {"secret_id": custom})
    everything = b"".join(key.encode() + value for key, value in harness.storage.data.items())
    assert secret.encode() not in everything
    assert custom.encode() not in everything
    assert accessor.encode() in everything  # inside its entry, where lookups and listings read it
    assert not any(accessor in key for key in harness.storage.data)
    assert len(harness.storage.data["salt"]) == 32


async def test_secret_id_limits_must_stay_within_the_roles(harness: BackendHarness) -> None:
    await harness.write("role/web", {"secret_id_num_uses": 2, "secret_id_ttl": "10m"})
    refusals = [
        ({"num_uses": 3}, "num_uses cannot be higher than the role's secret_id_num_uses"),
        ({"num_uses": 0}, "num_uses cannot be higher than the role's secret_id_num_uses"),
        ({"num_uses": -1}, "num_uses cannot be negative"),
        ({"ttl": "1h"}, "ttl cannot be longer than the role's secret_id_ttl"),
        ({"ttl": 0}, "ttl cannot be longer than the role's secret_id_ttl"),
        ({"cidr_list": "bogus"}, "failed to validate CIDR blocks: invalid CIDR address: bogus"),
        (
            {"token_bound_cidrs": "1.2.3.4"},
            "failed to validate token CIDR blocks: invalid CIDR address: 1.2.3.4",
        ),
        (
            {"metadata": "notjson"},
            "failed to parse metadata: failed to parse the input: invalid <key,value> format",
        ),
        ({"metadata": '{"x":""}'}, 'failed to parse metadata: invalid value for key "x"'),
    ]
    for body, message in refusals:
        with pytest.raises(InvalidRequestError) as caught:
            await harness.write("role/web/secret-id", body)
        assert caught.value.errors == (message,), body
    response = await harness.write("role/web/secret-id", {"num_uses": 1, "ttl": "1m"})
    assert response is not None
    assert response.data is not None
    assert (response.data["secret_id_num_uses"], response.data["secret_id_ttl"]) == (1, 60)


async def test_secret_id_cidrs_must_lie_within_the_roles(harness: BackendHarness) -> None:
    await harness.write(
        "role/web", {"secret_id_bound_cidrs": "127.0.0.0/8", "token_bound_cidrs": "127.0.0.1"}
    )
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web/secret-id", {"cidr_list": "10.0.0.0/8"})
    assert caught.value.errors == (
        'failed to verify subset relationship between CIDR blocks on the role ["127.0.0.0/8"] and CIDR '
        'blocks on the secret ID ["10.0.0.0/8"]: %!w(<nil>)',
    )
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web/secret-id", {"token_bound_cidrs": "127.0.0.0/8"})
    assert caught.value.errors == (
        'failed to verify subset relationship between CIDR blocks on the role ["127.0.0.1/32"] and CIDR '
        'blocks on the secret ID ["127.0.0.0/8"]: %!w(<nil>)',
    )
    await secret_id(harness, "web", cidr_list="127.0.0.1/32", token_bound_cidrs="127.0.0.1/32")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b, c = d", {"a": "b", "c": "d"}),
        (base64.b64encode(b'{"x":"y"}').decode(), {"x": "y"}),
        ('{"k": "v"}', {"k": "v"}),
        ("", {}),
    ],
)
async def test_metadata_forms(harness: BackendHarness, text: str, expected: dict[str, str]) -> None:
    await harness.write("role/web")
    secret, _ = await secret_id(harness, "web", metadata=text)
    lookup = await harness.write("role/web/secret-id/lookup", {"secret_id": secret})
    assert lookup is not None
    assert lookup.data is not None
    assert lookup.data["metadata"] == expected


async def test_custom_secret_ids(harness: BackendHarness) -> None:
    await harness.write("role/web")
    response = await harness.write("role/web/custom-secret-id", {"secret_id": "mine"})
    assert response is not None
    assert response.data is not None
    assert response.data["secret_id"] == "mine"
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web/custom-secret-id", {"secret_id": "mine"})
    assert caught.value.errors == ("failed to store secret_id: SecretID is already registered",)
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web/custom-secret-id", {})
    assert caught.value.errors == ("missing secret_id",)
    await harness.write("role/other")
    await harness.write("role/other/custom-secret-id", {"secret_id": "mine"})


async def test_secret_ids_need_a_role_that_binds_them(harness: BackendHarness) -> None:
    with pytest.raises(NotFoundError) as caught:
        await harness.write("role/nope/secret-id")
    assert caught.value.errors == ('role "nope" does not exist',)
    for path, body in (
        ("role/nope/secret-id/lookup", {"secret_id": "x"}),
        ("role/nope/secret-id/destroy", {"secret_id": "x"}),
        ("role/nope/secret-id-accessor/lookup", {"secret_id_accessor": "x"}),
        ("role/nope/secret-id-accessor/destroy", {"secret_id_accessor": "x"}),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            await harness.write(path, body)
        assert caught.value.errors == ('role "nope" does not exist',)
    with pytest.raises(InvalidRequestError):
        await harness.list("role/nope/secret-id")
    await harness.write("role/open", {"bind_secret_id": False, "secret_id_bound_cidrs": "127.0.0.1/32"})
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/open/secret-id")
    assert caught.value.errors == ("bind_secret_id is not set on the role",)


async def test_destroy_by_secret_id_and_by_accessor(harness: BackendHarness) -> None:
    await harness.write("role/web")
    await harness.write("role/other")
    first, _ = await secret_id(harness, "web")
    _, second_accessor = await secret_id(harness, "web")
    assert await harness.write("role/web/secret-id/destroy", {"secret_id": first}) is None
    assert await harness.write("role/web/secret-id/lookup", {"secret_id": first}) is None
    assert await harness.write("role/web/secret-id/destroy", {"secret_id": "unknown"}) is None
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web/secret-id/destroy", {})
    assert caught.value.errors == ("missing secret_id",)

    # An accessor names a secret ID of one role only.
    other = await harness.write(
        "role/other/secret-id-accessor/lookup", {"secret_id_accessor": second_accessor}
    )
    assert other is None
    with pytest.raises(PermissionDeniedError) as denied:
        await harness.write("role/other/secret-id-accessor/destroy", {"secret_id_accessor": second_accessor})
    assert denied.value.errors == ("invalid secret id accessor",)

    assert (
        await harness.delete("role/web/secret-id-accessor/destroy", {"secret_id_accessor": second_accessor})
        is None
    )
    missing = await harness.write(
        "role/web/secret-id-accessor/lookup", {"secret_id_accessor": second_accessor}
    )
    assert missing is not None
    assert (missing.status, missing.data) == (
        404,
        {"error": f'failed to find accessor entry for secret_id_accessor: "{second_accessor}"'},
    )
    with pytest.raises(InvalidRequestError) as caught:
        await harness.write("role/web/secret-id-accessor/destroy", {"secret_id_accessor": second_accessor})
    assert caught.value.errors == (
        f'failed to find accessor entry for secret_id_accessor: "{second_accessor}"',
    )
    assert sorted(key.split("/")[0] for key in harness.storage.data) == [
        "role",
        "role",
        "role_id",
        "role_id",
        "salt",
    ]


async def test_expired_secret_ids_vanish_and_tidy_removes_them(harness: BackendHarness) -> None:
    clock = harness.clock
    assert isinstance(clock, ManualClock)
    await harness.write("role/web", {"secret_id_ttl": 60})
    short, short_accessor = await secret_id(harness, "web", ttl=30)
    long, _ = await secret_id(harness, "web")
    clock.advance(31)
    assert await harness.write("role/web/secret-id/lookup", {"secret_id": short}) is None
    assert (
        await harness.write("role/web/secret-id-accessor/lookup", {"secret_id_accessor": short_accessor})
        is None
    )
    listed = await harness.list("role/web/secret-id")
    assert listed is not None
    assert listed.data is not None
    assert len(listed.data["keys"]) == 2

    tidy = await harness.write("tidy/secret-id")
    assert tidy is not None
    assert tidy.status == 202
    assert tidy.warnings == (
        "Tidy operation successfully started. Any information from the operation will be printed to "
        "OpenBao's server logs.",
    )
    listed = await harness.list("role/web/secret-id")
    assert listed is not None
    assert listed.data is not None
    assert len(listed.data["keys"]) == 1
    assert await harness.write("role/web/secret-id/lookup", {"secret_id": long}) is not None


async def test_a_ttl_over_the_mounts_maximum_is_capped(harness: BackendHarness) -> None:
    await harness.write("role/web", {"secret_id_ttl": "99999h"})
    response = await harness.write("role/web/secret-id")
    assert response is not None
    assert response.data is not None
    assert response.data["secret_id_ttl"] == 32 * 24 * 3600
