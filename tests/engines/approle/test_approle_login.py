"""AppRole logins: what the Auth carries, and every refusal, through BackendHarness."""

from __future__ import annotations

import pytest
from tests.engines.approle.conftest import login, role_id, secret_id

from strongroom.errors import InvalidRequestError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import Auth, LeaseOptions, LoginAlias
from strongroom.util.clock import ManualClock

INVALID = ("invalid role or secret ID",)


async def refused(harness: BackendHarness, address: str = "127.0.0.1", **data: str) -> tuple[str, ...]:
    with pytest.raises(InvalidRequestError) as caught:
        await login(harness, address, **data)
    return caught.value.errors


async def test_a_login_answers_the_auth_the_core_turns_into_a_token(harness: BackendHarness) -> None:
    await harness.write(
        "role/web",
        {"token_policies": "dev,ops", "token_ttl": "10m", "token_max_ttl": "1h", "token_num_uses": 5},
    )
    secret, _ = await secret_id(harness, "web", metadata='{"env":"prod"}')
    the_role_id = await role_id(harness, "web")
    response = await login(harness, role_id=the_role_id, secret_id=secret)
    assert response is not None
    assert response.auth == Auth(
        policies=("dev", "ops"),
        token_policies=("dev", "ops"),
        metadata={"env": "prod", "role_name": "web"},
        display_name="",
        lease=LeaseOptions(ttl=600, max_ttl=3600, renewable=True),
        num_uses=5,
        # The role leaves the type to the auth mount; the core resolves "default" when it issues the token.
        token_type="default",
        internal={"role_name": "web"},
        # The core finds the entity by the role ID, as Vault's AppRole names its alias.
        alias=LoginAlias(name=the_role_id, metadata={"env": "prod", "role_name": "web"}),
    )
    assert response.auth.client_token == ""
    assert harness.backend.special_paths.unauthenticated == ("login",)


async def test_role_and_secret_mistakes_get_one_answer(harness: BackendHarness) -> None:
    await harness.write("role/web")
    await harness.write("role/other")
    rid = await role_id(harness, "web")
    other_secret, _ = await secret_id(harness, "other")
    assert await refused(harness, role_id=rid, secret_id="bad") == INVALID
    assert await refused(harness, role_id="bad", secret_id="bad") == INVALID
    assert await refused(harness, role_id=rid, secret_id=other_secret) == INVALID
    assert await refused(harness, role_id=rid) == ("missing secret_id",)
    assert await refused(harness, role_id=" ") == ("missing role_id",)


async def test_num_uses_are_spent_and_the_last_use_deletes_the_secret_id(harness: BackendHarness) -> None:
    clock = harness.clock
    assert isinstance(clock, ManualClock)
    await harness.write("role/web", {"secret_id_num_uses": 2})
    rid = await role_id(harness, "web")
    secret, _ = await secret_id(harness, "web")
    clock.advance(5)
    assert await login(harness, role_id=rid, secret_id=secret) is not None
    lookup = await harness.write("role/web/secret-id/lookup", {"secret_id": secret})
    assert lookup is not None
    assert lookup.data is not None
    assert lookup.data["secret_id_num_uses"] == 1
    assert lookup.data["last_updated_time"] == "2023-11-14T22:13:25Z"
    assert await login(harness, role_id=rid, secret_id=secret) is not None
    assert await harness.write("role/web/secret-id/lookup", {"secret_id": secret}) is None
    assert await refused(harness, role_id=rid, secret_id=secret) == INVALID
    assert sorted(key.split("/")[0] for key in harness.storage.data) == ["role", "role_id", "salt"]


async def test_an_expired_secret_id_is_refused(harness: BackendHarness) -> None:
    clock = harness.clock
    assert isinstance(clock, ManualClock)
    await harness.write("role/web", {"secret_id_ttl": 60})
    rid = await role_id(harness, "web")
    secret, _ = await secret_id(harness, "web")
    clock.advance(59)
    assert await login(harness, role_id=rid, secret_id=secret) is not None
    clock.advance(1)
    assert await refused(harness, role_id=rid, secret_id=secret) == INVALID


async def test_secret_id_cidrs_are_checked_against_the_caller(harness: BackendHarness) -> None:
    await harness.write("role/web")
    rid = await role_id(harness, "web")
    unlimited, _ = await secret_id(harness, "web", cidr_list="10.0.0.0/8")
    limited, _ = await secret_id(harness, "web", cidr_list="10.0.0.0/8", num_uses=2)
    assert await refused(harness, role_id=rid, secret_id=unlimited) == (
        'source address "127.0.0.1" unauthorized through CIDR restrictions on the secret ID',
    )
    assert await refused(harness, role_id=rid, secret_id=limited) == (
        'source address "127.0.0.1" unauthorized by CIDR restrictions on the secret ID: %!w(<nil>)',
    )
    # A refused login spends no use.
    lookup = await harness.write("role/web/secret-id/lookup", {"secret_id": limited})
    assert lookup is not None
    assert lookup.data is not None
    assert lookup.data["secret_id_num_uses"] == 2
    assert await login(harness, "10.1.2.3", role_id=rid, secret_id=limited) is not None
    assert await refused(harness, "", role_id=rid, secret_id=unlimited) == (
        "failed to get connection information",
    )


async def test_role_cidrs_are_checked_with_or_without_a_secret_id(harness: BackendHarness) -> None:
    await harness.write("role/web", {"secret_id_bound_cidrs": "10.0.0.0/8"})
    await harness.write("role/open", {"bind_secret_id": False, "secret_id_bound_cidrs": "127.0.0.0/8"})
    rid, open_rid = await role_id(harness, "web"), await role_id(harness, "open")
    secret, _ = await secret_id(harness, "web", num_uses=1)
    message = ('source address "127.0.0.1" unauthorized by CIDR restrictions on the role: %!w(<nil>)',)
    assert await refused(harness, role_id=rid, secret_id=secret) == message
    assert await login(harness, "10.9.9.9", role_id=rid, secret_id=secret) is not None
    assert await refused(harness, "10.9.9.9", role_id=rid, secret_id=secret) == INVALID
    response = await login(harness, role_id=open_rid, secret_id="ignored")
    assert response is not None
    assert response.auth is not None
    assert response.auth.metadata == {"role_name": "open"}
    assert await refused(harness, "192.168.0.1", role_id=open_rid) == (
        'source address "192.168.0.1" unauthorized by CIDR restrictions on the role: %!w(<nil>)',
    )


async def test_token_bound_cidrs_come_from_the_secret_id_else_the_role(harness: BackendHarness) -> None:
    await harness.write("role/web", {"token_bound_cidrs": "127.0.0.1,10.0.0.0/8"})
    rid = await role_id(harness, "web")
    plain, _ = await secret_id(harness, "web")
    narrowed, _ = await secret_id(harness, "web", token_bound_cidrs="10.1.0.0/16")
    for secret, expected in ((plain, ("127.0.0.1", "10.0.0.0/8")), (narrowed, ("10.1.0.0/16",))):
        response = await login(harness, role_id=rid, secret_id=secret)
        assert response is not None
        assert response.auth is not None
        assert response.auth.bound_cidrs == expected
    await harness.write("role/web", {"token_strictly_bind_ip": True})
    response = await login(harness, "10.7.7.7", role_id=rid, secret_id=plain)
    assert response is not None
    assert response.auth is not None
    assert response.auth.bound_cidrs == ("10.7.7.7",)


async def test_a_changed_role_id_retires_the_old_one(harness: BackendHarness) -> None:
    await harness.write("role/web")
    old = await role_id(harness, "web")
    secret, _ = await secret_id(harness, "web")
    await harness.write("role/web/role-id", {"role_id": "new-id"})
    assert await refused(harness, role_id=old, secret_id=secret) == INVALID
    assert await login(harness, role_id="new-id", secret_id=secret) is not None


async def test_batch_roles_yield_batch_tokens(harness: BackendHarness) -> None:
    response = await harness.write("role/web", {"token_type": "default-batch"})
    assert response is not None
    assert response.warnings == ("default-batch has no useful meaning; adjusting to batch",)
    secret, _ = await secret_id(harness, "web")
    logged_in = await login(harness, role_id=await role_id(harness, "web"), secret_id=secret)
    assert logged_in is not None
    assert logged_in.auth is not None
    assert logged_in.auth.token_type == "batch"


async def test_a_role_changed_between_logins_acts_on_the_next_one(harness: BackendHarness) -> None:
    await harness.write("role/web", {"token_policies": "dev", "token_ttl": "10m"})
    secret, _ = await secret_id(harness, "web")
    rid = await role_id(harness, "web")
    first = await login(harness, role_id=rid, secret_id=secret)
    await harness.write("role/web", {"token_policies": "ops", "token_ttl": "20m"})
    second = await login(harness, role_id=rid, secret_id=secret)
    assert first is not None
    assert first.auth is not None
    assert second is not None
    assert second.auth is not None
    assert (first.auth.policies, first.auth.lease.ttl) == (("dev",), 600)
    assert (second.auth.policies, second.auth.lease.ttl) == (("ops",), 1200)
