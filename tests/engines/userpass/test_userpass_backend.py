"""userpass through BackendHarness: users, legacy fields, login, lockout (with a manual clock), rehash."""

from __future__ import annotations

import dataclasses

import pytest
from argon2.profiles import CHEAPEST

from strongroom.builtin.auth.userpass.backend import UserpassBackend, make_userpass_factory
from strongroom.builtin.auth.userpass.passwords import PRODUCTION_PARAMETERS, Passwords
from strongroom.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from strongroom.framework.testing import BackendHarness
from strongroom.logical import BackendConfig, Connection, Operation, UserLockoutConfig
from strongroom.logical.backend import StaticSystemView
from strongroom.logical.storage import InmemStorage, get_json
from strongroom.util.clock import ManualClock

FAST = make_userpass_factory(CHEAPEST)


async def harness(lockout: UserLockoutConfig | None = None) -> BackendHarness:
    storage, clock = InmemStorage(), ManualClock()
    config = BackendConfig(
        storage=storage, mount_type="userpass", system=StaticSystemView(lockout=lockout), clock=clock
    )
    backend = UserpassBackend(config, Passwords(CHEAPEST))
    return BackendHarness(backend, storage, clock, "auth/userpass/")


@pytest.fixture
async def up() -> BackendHarness:
    return await harness()


async def login(up: BackendHarness, name: str, password: str, address: str = "127.0.0.1") -> object:
    request = up.make_request(Operation.UPDATE, f"login/{name}", {"password": password})
    return await up.backend.handle(request.evolve(connection=Connection(remote_address=address)))


async def test_create_read_never_returns_password(up: BackendHarness) -> None:
    assert (
        await up.write("users/Alice", {"password": "s3cret", "token_policies": "a,b", "token_ttl": "1h"})
        is None
    )
    response = await up.read("users/alice")
    assert response is not None
    assert response.data is not None
    assert dict(response.data) == {
        "token_bound_cidrs": [],
        "token_explicit_max_ttl": 0,
        "token_max_ttl": 0,
        "token_no_default_policy": False,
        "token_num_uses": 0,
        "token_period": 0,
        "token_policies": ["a", "b"],
        "token_strictly_bind_ip": False,
        "token_ttl": 3600,
        "token_type": "default",
    }
    stored = await get_json(up.storage, "user/alice")
    assert stored["password_hash"].startswith("$argon2id$")
    assert all(b"s3cret" not in value for value in up.storage.data.values())


async def test_legacy_fields_map_to_token_fields(up: BackendHarness) -> None:
    await up.write(
        "users/bob",
        {"password": "x", "policies": "P3, a", "ttl": 60, "max_ttl": "2h", "bound_cidrs": "127.0.0.1/32"},
    )
    response = await up.read("users/bob")
    assert response is not None
    assert response.data is not None
    data = dict(response.data)
    assert (data["policies"], data["token_policies"]) == (["a", "p3"], ["a", "p3"])
    assert (data["ttl"], data["token_ttl"], data["max_ttl"], data["token_max_ttl"]) == (60, 60, 7200, 7200)
    assert (data["bound_cidrs"], data["token_bound_cidrs"]) == (["127.0.0.1"], ["127.0.0.1"])
    # A token_* name replaces its legacy twin, which is then no longer shown.
    await up.write("users/bob", {"token_policies": "p4", "token_bound_cidrs": "10.0.0.0/8"})
    response = await up.read("users/bob")
    assert response is not None
    assert response.data is not None
    data = dict(response.data)
    assert "policies" not in data
    assert "bound_cidrs" not in data
    assert (data["token_policies"], data["token_bound_cidrs"], data["ttl"]) == (["p4"], ["10.0.0.0/8"], 60)


async def test_validation_errors(up: BackendHarness) -> None:
    bad_cidr = (
        'error parsing address "nope": Unable to convert "nope" to an IPv4 or IPv6 address, or a UNIX Socket'
    )
    no_hash = "password_hash is not supported by this server: send the password, which is stored as argon2id"
    cases = [
        ({}, "must provide either password or password_hash"),
        ({"password": ""}, "must provide either password or password_hash"),
        ({"password": "x", "token_type": "weird"}, "invalid 'token_type' value \"weird\""),
        ({"password": "x", "token_ttl": "2h", "token_max_ttl": "1h"},
         "'token_ttl' cannot be greater than 'token_max_ttl'"),
        ({"password": "x", "token_bound_cidrs": "nope"}, bad_cidr),
        ({"password_hash": "$2a$10$abc"}, no_hash),
    ]  # fmt: skip
    for body, message in cases:
        with pytest.raises(InvalidRequestError) as caught:
            await up.write("users/carol", body)
        assert caught.value.errors == (message,)
    assert await up.read("users/carol") is None
    with pytest.raises(NotFoundError):
        await up.write("users/a.b-c_d@e", {"password": "x"})


async def test_list_delete_password_and_policies(up: BackendHarness) -> None:
    empty = await up.list("users")
    assert empty is not None
    assert dict(empty.data or {}) == {}
    for name in ("zed", "Amy"):
        await up.write(f"users/{name}", {"password": "pw"})
    listed = await up.list("users")
    assert listed is not None
    assert dict(listed.data or {}) == {"keys": ["amy", "zed"]}

    with pytest.raises(InvalidRequestError, match=r"^username does not exist$"):
        await up.write("users/nobody/password", {"password": "y"})
    with pytest.raises(InvalidRequestError, match=r"^username does not exist$"):
        await up.write("users/nobody/policies", {"policies": "a"})
    with pytest.raises(InvalidRequestError, match=r"^must provide either password or password_hash$"):
        await up.write("users/amy/password", {})
    await up.write("users/amy/password", {"password": "new"})
    with pytest.raises(InvalidRequestError, match=r"^invalid username or password$"):
        await login(up, "amy", "pw")
    assert (await login(up, "amy", "new")) is not None

    await up.write("users/amy/policies", {"policies": "B,a"})
    read = await up.read("users/amy")
    assert read is not None
    assert read.data is not None
    assert (read.data["policies"], read.data["token_policies"]) == (["a", "b"], ["a", "b"])

    assert await up.delete("users/AMY") is None
    assert await up.read("users/amy") is None
    listed = await up.list("users")
    assert listed is not None
    assert dict(listed.data or {}) == {"keys": ["zed"]}


async def test_login_answers_an_auth_without_a_token(up: BackendHarness) -> None:
    await up.write(
        "users/alice", {"password": "pw", "token_policies": "dev", "token_ttl": "30m", "token_max_ttl": "1h"}
    )
    response = await login(up, "ALICE", "pw")
    auth = response.auth  # type: ignore[attr-defined]
    assert auth.client_token == ""
    assert (auth.policies, auth.display_name, dict(auth.metadata)) == (
        ("dev",),
        "alice",
        {"username": "alice"},
    )
    assert (auth.lease.ttl, auth.lease.max_ttl, auth.lease.renewable) == (1800, 3600, True)


async def test_wrong_password_and_unknown_user_same_error(up: BackendHarness) -> None:
    await up.write("users/alice", {"password": "pw"})
    errors = []
    for name in ("alice", "nobody"):
        with pytest.raises(InvalidRequestError) as caught:
            await login(up, name, "wrong")
        errors.append(caught.value.errors)
    assert errors == [("invalid username or password",)] * 2
    with pytest.raises(InvalidRequestError, match=r"^missing password$"):
        await login(up, "alice", "")


async def test_bound_cidrs_refuse_other_addresses(up: BackendHarness) -> None:
    await up.write("users/alice", {"password": "pw", "token_bound_cidrs": "10.0.0.0/8"})
    with pytest.raises(PermissionDeniedError):
        await login(up, "alice", "pw", address="127.0.0.1")
    response = await login(up, "alice", "pw", address="10.1.2.3")
    assert response.auth.bound_cidrs == ("10.0.0.0/8",)  # type: ignore[attr-defined]


async def test_default_lockout_after_five_failures_for_fifteen_minutes(up: BackendHarness) -> None:
    await up.write("users/alice", {"password": "pw"})
    for _ in range(5):
        with pytest.raises(InvalidRequestError, match=r"^invalid username or password$"):
            await login(up, "alice", "wrong")
    with pytest.raises(PermissionDeniedError) as caught:
        await login(up, "alice", "pw")
    assert caught.value.errors == ("permission denied",)
    assert await up.backend.locked_users() == ["alice"]  # type: ignore[attr-defined]
    assert isinstance(up.clock, ManualClock)
    up.clock.advance(899)
    with pytest.raises(PermissionDeniedError):
        await login(up, "alice", "pw")
    up.clock.advance(2)
    assert (await login(up, "alice", "pw")) is not None
    assert await up.backend.locked_users() == []  # type: ignore[attr-defined]
    assert await get_json(up.storage, "lockout/alice") is None


async def test_unknown_users_are_not_locked(up: BackendHarness) -> None:
    for _ in range(7):
        with pytest.raises(InvalidRequestError):
            await login(up, "ghost", "wrong")
    assert await up.backend.locked_users() == []  # type: ignore[attr-defined]


async def test_counter_resets_and_success_clears() -> None:
    up = await harness(UserLockoutConfig(threshold=2, duration=30, counter_reset=10))
    clock = up.clock
    assert isinstance(clock, ManualClock)
    await up.write("users/alice", {"password": "pw"})
    with pytest.raises(InvalidRequestError):
        await login(up, "alice", "wrong")
    clock.advance(11)  # past counter_reset: the next failure counts as the first again
    with pytest.raises(InvalidRequestError):
        await login(up, "alice", "wrong")
    assert (await login(up, "alice", "pw")) is not None  # success clears the count
    for _ in range(2):
        with pytest.raises(InvalidRequestError):
            await login(up, "alice", "wrong")
    with pytest.raises(PermissionDeniedError):
        await login(up, "alice", "pw")
    await up.backend.unlock_user("ALICE")  # type: ignore[attr-defined]
    assert (await login(up, "alice", "pw")) is not None


async def test_disabled_lockout_never_locks() -> None:
    up = await harness(UserLockoutConfig(threshold=1, disabled=True))
    await up.write("users/alice", {"password": "pw"})
    for _ in range(3):
        with pytest.raises(InvalidRequestError):
            await login(up, "alice", "wrong")
    assert (await login(up, "alice", "pw")) is not None
    assert await up.storage.list("lockout/") == []


async def test_login_rehashes_when_parameters_change() -> None:
    storage, clock = InmemStorage(), ManualClock()
    old = await BackendHarness.create(FAST, "userpass", clock=clock)
    await old.write("users/alice", {"password": "pw"})
    before = (await get_json(old.storage, "user/alice"))["password_hash"]
    assert "m=8,t=1,p=1" in before
    stronger = Passwords(dataclasses.replace(CHEAPEST, time_cost=2))
    storage.data = dict(old.storage.data)
    backend = UserpassBackend(BackendConfig(storage=storage, mount_type="userpass", clock=clock), stronger)
    up = BackendHarness(backend, storage, clock)
    assert (await login(up, "alice", "pw")) is not None
    after = (await get_json(storage, "user/alice"))["password_hash"]
    assert "m=8,t=2,p=1" in after
    assert (await login(up, "alice", "pw")) is not None


def test_production_parameters_are_real_argon2id() -> None:
    assert PRODUCTION_PARAMETERS.type.name == "ID"
    assert (PRODUCTION_PARAMETERS.memory_cost, PRODUCTION_PARAMETERS.time_cost) == (65536, 3)
    assert (PRODUCTION_PARAMETERS.parallelism, PRODUCTION_PARAMETERS.salt_len) == (4, 16)


async def test_help_and_openapi(up: BackendHarness) -> None:
    response = await up.help("users/alice")
    assert response is not None
    assert response.data is not None
    assert "/users/{username}" in response.data["openapi"]["paths"]
    assert up.backend.special_paths.unauthenticated == ("login/*",)
